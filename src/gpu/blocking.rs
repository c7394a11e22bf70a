//! The one place the library blocks on the GPU. wgpu hands back adapters, devices, error scopes
//! and mapped buffers as futures; native callers wait for them here (pollster), so the rest of
//! the library reads as plain calls. A browser's thread must never block: built for wasm32,
//! [`wait`] refuses with [`GpuError::CannotBlock`] and a browser front end awaits the futures
//! themselves (`buffers::read_async`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::GpuError;

/// `future`'s output, waited for on this thread. Natively, work that needs the device polled
/// (a mapped buffer) must be polled first: `buffers::read` does so before it waits.
#[cfg(not(target_arch = "wasm32"))]
pub fn wait<T>(future: impl Future<Output = T>) -> Result<T, GpuError> {
    Ok(pollster::block_on(future))
}

/// In a browser nothing may block: await the future instead.
#[cfg(target_arch = "wasm32")]
pub fn wait<T>(future: impl Future<Output = T>) -> Result<T, GpuError> {
    drop(future);
    Err(GpuError::CannotBlock)
}

/// A value a wgpu callback sends once, as a future: the map callback of a readback.
pub struct Once<T> {
    slot: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

/// The sending half of [`Once`]: call it from the callback.
pub struct Sender<T> {
    slot: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

/// A future and the sender that completes it.
pub fn once<T>() -> (Sender<T>, Once<T>) {
    let slot = Arc::new(Mutex::new((None, None)));
    (Sender { slot: slot.clone() }, Once { slot })
}

impl<T> Sender<T> {
    /// Completes the future with `value` and wakes whoever awaits it.
    pub fn send(self, value: T) {
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.0 = Some(value);
            slot.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Once<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_sent_before_or_after_the_wait_arrives() {
        let (tx, rx) = once();
        tx.send(7);
        assert_eq!(wait(rx).unwrap(), 7);
        let (tx, rx) = once();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send("late");
        });
        assert_eq!(wait(rx).unwrap(), "late");
        sender.join().unwrap();
    }
}
