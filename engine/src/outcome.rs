//! One-shot wake-ups: how a committer learns its proposal's outcome, and how a transaction
//! waiting to form learns that what it waits for happened.
//!
//! Each waiter owns one [`Receiver`]; exactly one [`Sender`] fills it, and only that
//! waiter is woken, whether it is an async task (its `Waker`) or a thread blocked in
//! [`block_on`] (unparked). Nothing is broadcast and nothing polls on a timer. A sender
//! dropped without sending wakes its receiver with `None`, so a lost outcome can never
//! leave a waiter asleep.
//!
//! Thread-safety: senders and receivers are `Send`; a slot's mutex is held only to move
//! the value or the waker, never while waking.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// What a slot holds.
#[derive(Debug)]
struct SlotState<T> {
    /// The value, once sent.
    value: Option<T>,
    /// True once the sender is gone (with or without sending).
    done: bool,
    /// Who to wake when it is filled.
    waker: Option<Waker>,
}

/// The shared slot.
#[derive(Debug)]
struct Slot<T> {
    /// The state.
    state: Mutex<SlotState<T>>,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending half: fills the slot once.
#[derive(Debug)]
pub struct Sender<T> {
    /// The slot, until sent.
    slot: Option<Arc<Slot<T>>>,
}

/// The receiving half: resolves to the value, or `None` if the sender went away.
#[derive(Debug)]
pub struct Receiver<T> {
    /// The slot.
    slot: Arc<Slot<T>>,
}

/// A new one-shot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Slot { state: Mutex::new(SlotState { value: None, done: false, waker: None }) });
    (Sender { slot: Some(slot.clone()) }, Receiver { slot })
}

impl<T> Sender<T> {
    /// Fills the slot and wakes its receiver (if it still exists).
    pub fn send(mut self, value: T) {
        self.finish(Some(value));
    }

    fn finish(&mut self, value: Option<T>) {
        let Some(slot) = self.slot.take() else { return };
        let waker = {
            let mut st = slot.lock();
            st.value = value;
            st.done = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl<T> Receiver<T> {
    /// Polls for the value: `Ready(None)` if the sender was dropped without sending.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut st = self.slot.lock();
        if st.done {
            return Poll::Ready(st.value.take());
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// True once the sender sent or went away.
    pub fn is_done(&self) -> bool {
        self.slot.lock().done
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

/// Wakes a thread parked in [`block_on`].
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread, parking between polls (a woken future is
/// polled again; a spurious unpark only costs one poll).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_sent_from_another_thread_wakes_the_blocked_receiver() {
        let (tx, rx) = channel::<u32>();
        let h = std::thread::spawn(move || tx.send(7));
        assert_eq!(block_on(rx), Some(7));
        h.join().unwrap();
    }

    #[test]
    fn a_dropped_sender_resolves_the_receiver_with_none() {
        let (tx, rx) = channel::<u32>();
        assert!(!rx.is_done());
        drop(tx);
        assert!(rx.is_done());
        assert_eq!(block_on(rx), None);
    }
}
