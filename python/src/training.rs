//! `wgvae.train`: a training run as `wgvae train` makes it, with the GIL released while the GPU
//! works. The Python callback hears each epoch (the GIL taken for it), and Ctrl-C stops the run
//! after a checkpoint, as the command's SIGINT does.

use std::path::PathBuf;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use wgvae::config::{ArchKind, Likelihood};
use wgvae::train::{
    existing_run_file, EpochReport, Event, LrSchedule, TrainError, TrainObserver, TrainSettings,
};

use crate::device::context_for;
use crate::errors;

/// Hands each epoch to the callback and asks the run to stop when Python has a pending
/// KeyboardInterrupt (or the callback raised).
struct Observer {
    callback: Option<Py<PyAny>>,
    /// The run's epochs in all, for the callback's metrics.
    epochs: usize,
    /// The exception to raise once the run has stopped.
    raised: Option<PyErr>,
}

impl Observer {
    fn epoch(&mut self, report: &EpochReport) {
        let epochs = self.epochs;
        let Some(callback) = &self.callback else {
            return;
        };
        let result = Python::attach(|py| -> PyResult<()> {
            let metrics = PyDict::new(py);
            metrics.set_item("epoch", report.epoch)?;
            metrics.set_item("epochs", epochs)?;
            metrics.set_item("step", report.step)?;
            metrics.set_item("train_loss", report.train_loss)?;
            metrics.set_item("test_loss", report.test.total)?;
            metrics.set_item("test_recon", report.test.recon)?;
            metrics.set_item("test_kl", report.test.kl)?;
            metrics.set_item("samples_per_sec", report.samples_per_sec)?;
            metrics.set_item("seconds", report.seconds)?;
            callback.call1(py, (report.epoch, metrics))?;
            Ok(())
        });
        if let Err(e) = result {
            self.raised.get_or_insert(e);
        }
    }
}

impl TrainObserver for Observer {
    fn event(&mut self, event: Event<'_>) {
        if let Event::Epoch(report) = event {
            self.epoch(report);
        }
    }

    fn stop_requested(&mut self) -> Option<i32> {
        if self.raised.is_none() {
            // runs Python's signal handlers: Ctrl-C becomes a pending KeyboardInterrupt
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                self.raised = Some(e);
            }
        }
        // SIGINT's number: the run checkpoints and stops as on the command's Ctrl-C
        self.raised.is_some().then_some(2)
    }
}

/// Trains a model as `wgvae train` does with the same flags, returning the checkpoint's path.
#[pyfunction]
#[pyo3(signature = (
    *, data=None, arch="mlp", epochs=10, batch=128, channels=None, hidden=None, color="grey",
    size=(28, 28), patch=None, patches=10_000, augment=false, corrupt_noise=0.0, latent=20,
    beta=1.0, likelihood="bernoulli", learn_variance=false, gaussian_logvar=0.0, lr=1e-3,
    lr_schedule="constant", weight_decay=0.0, seed=1, out=PathBuf::from("runs/vae.safetensors"),
    resume=false, force=false, checkpoint_every=None, callback=None, adapter=None
))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    data: Option<PathBuf>,
    arch: &str,
    epochs: usize,
    batch: usize,
    channels: Option<Vec<usize>>,
    hidden: Option<Vec<usize>>,
    color: &str,
    size: (usize, usize),
    patch: Option<usize>,
    patches: usize,
    augment: bool,
    corrupt_noise: f32,
    latent: usize,
    beta: f32,
    likelihood: &str,
    learn_variance: bool,
    gaussian_logvar: f32,
    lr: f32,
    lr_schedule: &str,
    weight_decay: f32,
    seed: u64,
    out: PathBuf,
    resume: bool,
    force: bool,
    checkpoint_every: Option<u64>,
    callback: Option<Py<PyAny>>,
    adapter: Option<&str>,
) -> PyResult<PathBuf> {
    let one_of = |what: &str, value: &str, names: &str| {
        errors::value(format!("{what} {value:?}: one of {names}"))
    };
    let settings = TrainSettings {
        data,
        epochs,
        batch,
        arch: match arch {
            "mlp" => ArchKind::Mlp,
            "conv" => ArchKind::Conv,
            _ => return Err(one_of("arch", arch, "mlp, conv")),
        },
        conv_channels: channels,
        hidden,
        channels: match color {
            "grey" | "gray" => 1,
            "rgb" => 3,
            _ => return Err(one_of("color", color, "grey, rgb")),
        },
        patch,
        patches,
        augment,
        corrupt_noise,
        latent,
        beta,
        likelihood: match likelihood {
            "bernoulli" => Likelihood::Bernoulli,
            "gaussian" => Likelihood::Gaussian,
            _ => return Err(one_of("likelihood", likelihood, "bernoulli, gaussian")),
        },
        learn_variance,
        gaussian_logvar,
        size,
        lr,
        lr_schedule: match lr_schedule {
            "constant" => LrSchedule::Constant,
            "cosine" => LrSchedule::Cosine,
            _ => return Err(one_of("lr_schedule", lr_schedule, "constant, cosine")),
        },
        weight_decay,
        seed,
        out,
        resume,
        checkpoint_every,
        ..TrainSettings::default()
    };
    let (cfg, tc) = settings.resolve().map_err(errors::value)?;
    if resume && force {
        return Err(errors::value("force and resume cannot go together"));
    }
    // the command's overwrite policy: any file of an earlier run is refused, not only `out`
    if let Some(existing) = (!resume && !force)
        .then(|| existing_run_file(&tc.out))
        .flatten()
    {
        return Err(errors::Error::new_err(format!(
            "{} exists; pass force=True to start afresh over it and the files beside it, or \
             resume=True to continue training it",
            existing.display()
        )));
    }
    let ctx = context_for(py, adapter)?;
    let mut observer = Observer {
        callback,
        epochs: tc.epochs,
        raised: None,
    };
    let result = py.detach(|| {
        wgvae::train::train(&ctx, &cfg, &tc, &mut observer)?;
        // the variance scale restoration uses, fitted as the command fits it
        wgvae::train::calibrate(&ctx, &tc)?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    });
    if let Some(raised) = observer.raised {
        // Ctrl-C: Python's KeyboardInterrupt, saying what was saved and how to go on
        if let Err(e) = &result {
            if let Some(TrainError::Interrupted { note, .. }) = e.downcast_ref::<TrainError>() {
                if raised.is_instance_of::<PyKeyboardInterrupt>(py) {
                    return Err(PyKeyboardInterrupt::new_err(python_note(note)));
                }
            }
        }
        return Err(raised);
    }
    match result {
        Ok(()) => Ok(tc.out),
        Err(e) => Err(match e.downcast::<TrainError>() {
            Ok(e) => match *e {
                TrainError::Config(m) => errors::value(m),
                TrainError::Interrupted { note, .. } => {
                    PyKeyboardInterrupt::new_err(python_note(&note))
                }
                e => errors::failure(&e),
            },
            Err(e) => errors::failure(&*e),
        }),
    }
}

/// The command's interruption note in Python's words.
fn python_note(note: &str) -> String {
    note.replace("interrupted by SIGINT", "interrupted")
        .replace(
            "run the same command with --resume",
            "call train again with resume=True",
        )
}
