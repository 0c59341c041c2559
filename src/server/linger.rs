//! A lingering close, as HTTP servers have done since Apache: when a connection ends while
//! the client is still sending (a request head or body over the limits, answered with 4xx
//! before it was read), closing the socket with unread bytes makes the kernel send a reset,
//! and the client may lose the answer already written. So the server first shuts its
//! sending side (the answer, then FIN), then reads and drops what still arrives, up to
//! [`LINGER_BYTES`] or [`LINGER_TIME`], and only then closes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Most bytes read and dropped after the answer (a 2 MB request URL fits).
pub const LINGER_BYTES: usize = 8 << 20;
/// Longest wait for the client to finish sending or close.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// The connection's stream, handed back through `returned` when hyper drops it, so the
/// connection's task can [`linger`] on it.
pub struct Returning {
    stream: Option<TcpStream>,
    returned: Option<oneshot::Sender<TcpStream>>,
}

impl Returning {
    /// Wraps `stream`; the receiver gets it back when the connection is done with it.
    pub fn new(stream: TcpStream) -> (Returning, oneshot::Receiver<TcpStream>) {
        let (tx, rx) = oneshot::channel();
        (
            Returning {
                stream: Some(stream),
                returned: Some(tx),
            },
            rx,
        )
    }

    fn stream(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.stream.as_mut().expect("the stream is there until drop"))
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(stream), Some(returned)) = (self.stream.take(), self.returned.take()) {
            let _ = returned.send(stream);
        }
    }
}

impl AsyncRead for Returning {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Returning {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }
}

/// Shuts the sending side, then drains what the client still sends (bounded), then closes.
pub async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut read = 0;
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
