//! Client-side pacing of EC2 describe calls: a token bucket per account x region, so thousands
//! of scopes never storm an account's request budget (EC2 throttles per account and region with
//! a token bucket of its own, and other tools share it).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Tokens EC2 gives an account x region for non-mutating actions: a bucket of 100, refilled at
/// 20 a second. watchfloor takes at most half of it, leaving the rest to the account's other
/// tools (and to triage, whose mutating calls have their own bucket at AWS).
pub const EC2_BURST: f64 = 50.0;
/// Tokens per second watchfloor's describe calls refill at (half of EC2's 20).
pub const EC2_REFILL_PER_SEC: f64 = 10.0;

/// A token bucket: `take` waits until a token is there.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens, refilled at `refill_per_sec`.
    pub fn new(capacity: f64, refill_per_sec: f64) -> Self {
        TokenBucket {
            capacity,
            refill_per_sec,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// The bucket for one account x region's EC2 describe calls.
    pub fn ec2() -> Self {
        Self::new(EC2_BURST, EC2_REFILL_PER_SEC)
    }

    /// Takes one token, waiting for the refill when the bucket is empty. Waiters are served in
    /// turn (the lock is fair), so no caller starves.
    pub async fn take(&self) {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        let (tokens, at) = *s;
        let tokens = (tokens + (now - at).as_secs_f64() * self.refill_per_sec).min(self.capacity);
        if tokens >= 1.0 {
            *s = (tokens - 1.0, now);
            return;
        }
        // Held across the wait: the next caller queues behind this one.
        let wait = Duration::from_secs_f64((1.0 - tokens) / self.refill_per_sec);
        tokio::time::sleep(wait).await;
        *s = (0.0, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_refill_rate() {
        let b = TokenBucket::new(5.0, 10.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            b.take().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..10 {
            b.take().await;
        }
        // Ten more at 10 a second.
        let took = t0.elapsed().as_secs_f64();
        assert!((took - 1.0).abs() < 0.01, "{took}");
        // A pause refills the bucket, up to its capacity only.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t1 = Instant::now();
        for _ in 0..5 {
            b.take().await;
        }
        assert_eq!(t1.elapsed(), Duration::ZERO);
        b.take().await;
        assert!(t1.elapsed() >= Duration::from_millis(99));
    }
}
