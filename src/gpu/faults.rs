//! GPU faults as errors, never a hang or a panic. wgpu reports a validation error, an
//! out-of-memory or an internal error to the innermost error scope, else to the device's
//! uncaptured-error handler (whose default panics), and a lost device to a callback. Here:
//! [`scoped`] wraps a call in scopes and turns what they catch into a [`GpuError`] naming the
//! kernel or program; [`Faults`] installs a handler and a callback that only record, so the
//! next [`Faults::check`] (every wait for the GPU makes one) returns what happened.

use std::sync::{Arc, Mutex};

use crate::error::GpuError;
#[cfg(not(target_arch = "wasm32"))]
use crate::gpu::blocking;

/// What the device reported outside any scope: the first uncaptured error, and the loss.
#[derive(Default)]
struct State {
    uncaptured: Option<GpuError>,
    lost: Option<String>,
}

/// The device's recorded faults, shared with the handler and the callback it installs.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    /// Installs on `device` an uncaptured-error handler and a device-lost callback that record
    /// into the returned `Faults` instead of panicking.
    pub fn install(device: &wgpu::Device) -> Faults {
        let faults = Faults::default();
        let sink = faults.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.record(from_wgpu("a GPU call outside any checked one", e));
        }));
        let sink = faults.clone();
        device.set_device_lost_callback(move |reason, message| {
            sink.lose(reason, &message);
        });
        faults
    }

    /// Keeps `error` to be returned by the next [`Faults::check`], unless an earlier one is
    /// already waiting (the first fault is the cause; later ones are its consequences).
    pub fn record(&self, error: GpuError) {
        let mut state = self.lock();
        if state.uncaptured.is_none() {
            state.uncaptured = Some(error);
        }
    }

    /// Marks the device lost: every later check fails.
    pub fn lose(&self, reason: wgpu::DeviceLostReason, message: &str) {
        let why = match reason {
            wgpu::DeviceLostReason::Destroyed => "the device was destroyed".to_string(),
            wgpu::DeviceLostReason::Unknown => {
                let message = one_line(message);
                if message.is_empty() {
                    "the driver gave no reason".to_string()
                } else {
                    message
                }
            }
        };
        self.lock().lost.get_or_insert(why);
    }

    /// Whether the device has been lost.
    pub fn is_lost(&self) -> bool {
        self.lock().lost.is_some()
    }

    /// Fails with the device's loss (named `during` what) or with the first recorded error,
    /// which is handed out once.
    pub fn check(&self, during: &str) -> Result<(), GpuError> {
        let mut state = self.lock();
        if let Some(reason) = &state.lost {
            return Err(GpuError::DeviceLost {
                during: during.to_string(),
                reason: reason.clone(),
            });
        }
        match state.uncaptured.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind: keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `f` inside out-of-memory, internal and validation error scopes; the first error they
/// catch becomes a [`GpuError`] about `what()` (only built when something failed).
#[cfg(not(target_arch = "wasm32"))]
pub fn scoped<R>(
    device: &wgpu::Device,
    what: impl FnOnce() -> String,
    f: impl FnOnce() -> R,
) -> Result<R, GpuError> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let out = f();
    // Popped in reverse order of pushing, as wgpu requires.
    let caught = [
        blocking::wait(validation.pop())?,
        blocking::wait(internal.pop())?,
        blocking::wait(oom.pop())?,
    ];
    match caught.into_iter().flatten().next() {
        None => Ok(out),
        Some(e) => Err(from_wgpu(&what(), e)),
    }
}

/// In a browser nothing may wait for a scope to pop, and a scope dropped unpopped would swallow
/// what it caught: `f` runs unscoped, so an error reaches the uncaptured-error handler that
/// [`Faults::install`] set, and the next awaited read-back (which checks the faults) fails with
/// it. The message then says "a GPU call outside any checked one" instead of naming `what`.
#[cfg(target_arch = "wasm32")]
pub fn scoped<R>(
    _device: &wgpu::Device,
    _what: impl FnOnce() -> String,
    f: impl FnOnce() -> R,
) -> Result<R, GpuError> {
    Ok(f())
}

/// wgpu's error about `what` as ours, on one line.
pub fn from_wgpu(what: &str, e: wgpu::Error) -> GpuError {
    let what = what.to_string();
    match e {
        wgpu::Error::Validation { description, .. } => GpuError::Invalid {
            what,
            detail: one_line(&description),
        },
        wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory { what },
        wgpu::Error::Internal { description, .. } => GpuError::Internal {
            what,
            detail: one_line(&description),
        },
    }
}

/// `text` with every run of white space (line breaks too) made one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_is_kept_once_and_a_loss_stays() {
        let faults = Faults::default();
        assert!(faults.check("nothing").is_ok());
        faults.record(GpuError::OutOfMemory {
            what: "kernel a".into(),
        });
        faults.record(GpuError::OutOfMemory {
            what: "kernel b".into(),
        });
        let e = faults.check("x").unwrap_err().to_string();
        assert!(e.contains("kernel a") && !e.contains("kernel b"), "{e}");
        assert!(faults.check("x").is_ok(), "an error is handed out once");

        faults.lose(
            wgpu::DeviceLostReason::Unknown,
            "VK_ERROR_DEVICE_LOST\n  (reset)",
        );
        assert!(faults.is_lost());
        for _ in 0..2 {
            let e = faults.check("the program steps").unwrap_err().to_string();
            assert!(
                e.contains("lost")
                    && e.contains("the program steps")
                    && e.contains("VK_ERROR_DEVICE_LOST (reset)")
                    && !e.contains('\n'),
                "{e}"
            );
        }
    }
}
