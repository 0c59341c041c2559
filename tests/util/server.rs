//! A running `mlsearch serve` driven by a real HTTP client (ureq): the server tests and the
//! load benchmark (`benches/serve.rs`) share it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `mlsearch serve`, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    agent: ureq::Agent,
}

impl Server {
    /// Starts `mlsearch serve` on `index` with `extra` options; its stderr is kept for
    /// [`Server::stop`].
    pub fn start(index: &Path, extra: &[&str]) -> Server {
        Server::spawn(index, extra, Stdio::piped())
    }

    /// As [`Server::start`], its stderr going to ours (long load runs: a pipe nobody reads
    /// would fill up and stall the server).
    pub fn start_logging(index: &Path, extra: &[&str]) -> Server {
        Server::spawn(index, extra, Stdio::inherit())
    }

    fn spawn(index: &Path, extra: &[&str], stderr: Stdio) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
            .args(["serve", "--index", index.to_str().unwrap(), "--addr", "127.0.0.1:0"])
            .args(extra)
            .env_remove("MLSEARCH_API_KEY")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("mlsearch serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    stderr.read_to_string(&mut err).unwrap();
                }
                panic!("no address: {line:?} {err}")
            })
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let addr = base.trim_start_matches("http://").to_string();
        Server {
            child,
            base,
            addr,
            agent,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's resident and peak resident memory, MiB.
    pub fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = response.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        Server::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    pub fn get_with(&self, path: &str, header: (&str, &str)) -> (u16, Value) {
        Server::answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .header(header.0, header.1)
                .call(),
        )
    }

    pub fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        Server::answer(self.agent.post(format!("{}{path}", self.base)).send(body))
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        Server::answer(self.agent.delete(format!("{}{path}", self.base)).call())
    }

    /// Raw bytes on a new connection; the status line's code (0 when the server closed or
    /// reset the connection before the request was sent: an HTTP client gives up then).
    pub fn raw(&self, request: &[u8]) -> u16 {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        if stream.write_all(request).is_err() {
            return 0;
        }
        let mut head = [0u8; 12];
        match stream.read(&mut head) {
            Ok(n) if n >= 12 => std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap_or(0),
            _ => 0,
        }
    }

    pub fn stop(mut self) -> (i32, String) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (status.code().unwrap_or(-1), err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
