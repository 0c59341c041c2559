//! Query embedding for the server: requests hand their query text to one embedding
//! thread, which embeds whatever has queued up as one batch. While the encoder works on a
//! batch the next one fills, so batches grow with the load and a lone query waits for
//! nobody; when other searches are in flight but not yet queued, the thread waits up to
//! the batching window for them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::engine::Engine;

/// One query to embed and where its vector goes.
struct Job {
    text: String,
    reply: oneshot::Sender<Result<Vec<f32>, String>>,
}

/// Why a query got no vector.
#[derive(Debug)]
pub enum EmbedError {
    /// The queue is full: the server is overloaded.
    Busy,
    /// The embedding thread is gone (the server is stopping).
    Stopped,
    /// The encoder failed.
    Failed(String),
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    jobs: SyncSender<Job>,
    /// Searches admitted and not yet answered (the thread waits for them to queue).
    in_flight: Arc<AtomicUsize>,
}

/// How the embedding thread batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Longest wait for queries that are in flight but not yet queued.
    pub window: Duration,
    /// Most queries in one batch.
    pub max_batch: usize,
    /// Most queries queued (more get [`EmbedError::Busy`]).
    pub queue: usize,
}

impl Batcher {
    /// Starts the embedding thread for `engine`'s encoder.
    pub fn start(engine: Arc<Engine>, options: BatchOptions) -> Batcher {
        let (jobs, receiver) = sync_channel::<Job>(options.queue.max(1));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counter = in_flight.clone();
        std::thread::Builder::new()
            .name("mlsearch-embed".into())
            .spawn(move || run(&engine, &receiver, &counter, options))
            .expect("the embedding thread starts");
        Batcher { jobs, in_flight }
    }

    /// Counts a search as in flight until the guard is dropped.
    pub fn admit(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.in_flight.clone())
    }

    /// The query vector of `text`.
    pub async fn embed(&self, text: String) -> Result<Vec<f32>, EmbedError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { text, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(EmbedError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(EmbedError::Stopped),
        }
        match answer.await {
            Ok(Ok(vector)) => Ok(vector),
            Ok(Err(message)) => Err(EmbedError::Failed(message)),
            Err(_) => Err(EmbedError::Stopped),
        }
    }
}

/// A search in flight (see [`Batcher::admit`]).
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn run(engine: &Engine, receiver: &Receiver<Job>, in_flight: &AtomicUsize, options: BatchOptions) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        let started = Instant::now();
        while jobs.len() < options.max_batch {
            // Whatever is queued joins at once.
            if let Ok(job) = receiver.try_recv() {
                jobs.push(job);
                continue;
            }
            // Others in flight will queue soon: wait for them, up to the window.
            let waiting = in_flight.load(Ordering::SeqCst) > jobs.len();
            let left = options.window.saturating_sub(started.elapsed());
            if !waiting || left.is_zero() {
                break;
            }
            match receiver.recv_timeout(left.min(Duration::from_micros(200))) {
                Ok(job) => jobs.push(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        // A request that gave up (timed out) needs no vector.
        jobs.retain(|job| !job.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let texts: Vec<&str> = jobs.iter().map(|job| job.text.as_str()).collect();
        match engine.embed_queries(&texts) {
            Ok(vectors) => {
                for (job, vector) in jobs.into_iter().zip(vectors) {
                    let _ = job.reply.send(Ok(vector));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(message.clone()));
                }
            }
        }
    }
}
