//! MFA codes asked in the console: the AWS source sends a [`Prompt`] on its own channel, the
//! operator types the code, the event loop answers through [`MfaReplies`]. Codes live only in
//! memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::aws::MfaPrompt;

/// What the console is asked about MFA (never feed data: it goes to the view, not the fleet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// The operator must type an MFA code for an account (answered through [`MfaReplies`]).
    Ask {
        /// Request id to answer.
        id: u64,
        /// Account alias.
        alias: String,
        /// MFA device serial or ARN.
        serial: String,
    },
    /// A prompt nobody waits for any more: close it.
    Cancel {
        /// Request id.
        id: u64,
    },
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<String, String>>>>>;

/// Prompts through the console.
pub struct ConsolePrompt {
    tx: mpsc::Sender<Prompt>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    next: AtomicU64,
}

/// The event loop's side: answers pending prompts.
#[derive(Clone, Default)]
pub struct MfaReplies {
    pending: Pending,
    closed: Arc<AtomicBool>,
}

impl MfaReplies {
    /// The console is gone: every pending prompt, and every later one, fails at once (nobody
    /// can type a code; a run waiting for one must not hang the process).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let waiting: Vec<_> = self
            .pending
            .lock()
            .map(|mut m| m.drain().map(|(_, tx)| tx).collect())
            .unwrap_or_default();
        for tx in waiting {
            let _ = tx.send(Err("the console closed: no MFA code can be typed".into()));
        }
    }

    /// Delivers the operator's answer (a code, or why there is none) to prompt `id`.
    pub fn answer(&self, id: u64, answer: Result<String, String>) {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        if let Some(tx) = tx {
            let _ = tx.send(answer);
        }
    }
}

impl ConsolePrompt {
    /// A prompt sending requests on `tx`, and the handle that answers them.
    pub fn new(tx: mpsc::Sender<Prompt>) -> (Arc<Self>, MfaReplies) {
        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        (
            Arc::new(ConsolePrompt {
                tx,
                pending: pending.clone(),
                closed: closed.clone(),
                next: AtomicU64::new(1),
            }),
            MfaReplies { pending, closed },
        )
    }
}

/// Removes a prompt that nobody waits for any more (the SDK gave up on the credentials, or the
/// connection attempt was dropped) and tells the console to close it.
struct Abandon {
    id: u64,
    pending: Pending,
    tx: mpsc::Sender<Prompt>,
    answered: bool,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        if let Ok(mut m) = self.pending.lock() {
            m.remove(&self.id);
        }
        let _ = self.tx.try_send(Prompt::Cancel { id: self.id });
    }
}

impl MfaPrompt for ConsolePrompt {
    fn code<'a>(
        &'a self,
        alias: &'a str,
        serial: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            if self.closed.load(Ordering::SeqCst) {
                return Err("the console closed: no MFA code can be typed".into());
            }
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            self.pending
                .lock()
                .map_err(|_| "MFA prompt state poisoned".to_string())?
                .insert(id, tx);
            let mut guard = Abandon {
                id,
                pending: self.pending.clone(),
                tx: self.tx.clone(),
                answered: false,
            };
            self.tx
                .send(Prompt::Ask {
                    id,
                    alias: alias.to_string(),
                    serial: serial.to_string(),
                })
                .await
                .map_err(|_| "the console is closed".to_string())?;
            let answer = rx
                .await
                .map_err(|_| "the MFA prompt was dropped".to_string());
            guard.answered = true;
            answer?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_abandoned_prompt_is_withdrawn() {
        let (tx, mut rx) = mpsc::channel(4);
        let (prompt, replies) = ConsolePrompt::new(tx);
        let ask = tokio::spawn(async move {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(50),
                prompt.code("prod", "s"),
            )
            .await;
        });
        let Some(Prompt::Ask { id, .. }) = rx.recv().await else {
            panic!("expected an MFA request");
        };
        ask.await.unwrap();
        assert!(matches!(rx.recv().await, Some(Prompt::Cancel { id: c }) if c == id));
        // A late answer goes nowhere and does not panic.
        replies.answer(id, Ok("123456".into()));
    }

    #[tokio::test]
    async fn closing_fails_pending_and_later_prompts() {
        let (tx, mut rx) = mpsc::channel(4);
        let (prompt, replies) = ConsolePrompt::new(tx);
        let p2 = prompt.clone();
        let ask = tokio::spawn(async move { p2.code("prod", "s").await });
        assert!(matches!(rx.recv().await, Some(Prompt::Ask { .. })));
        replies.close();
        assert!(ask.await.unwrap().unwrap_err().contains("console closed"));
        assert!(
            prompt
                .code("prod", "s")
                .await
                .unwrap_err()
                .contains("console closed")
        );
    }

    #[tokio::test]
    async fn request_then_answer() {
        let (tx, mut rx) = mpsc::channel(4);
        let (prompt, replies) = ConsolePrompt::new(tx);
        let ask = tokio::spawn(async move { prompt.code("prod", "arn:aws:iam::1:mfa/a").await });
        let Some(Prompt::Ask { id, alias, .. }) = rx.recv().await else {
            panic!("expected an MFA request");
        };
        assert_eq!(alias, "prod");
        replies.answer(id, Ok("123456".into()));
        assert_eq!(ask.await.unwrap(), Ok("123456".to_string()));
    }
}
