//! Library errors as Python exceptions: wrong values are `ValueError`, GPU, file and model
//! failures `wgvae.Error`, each with the one line the command prints after `error: `.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::{create_exception, PyErr};

use wgvae::data::DataError;
use wgvae::enhance::EnhanceError;
use wgvae::error::{chain_line, GpuError};
use wgvae::restore::{PriorError, RestoreError};

create_exception!(
    wgvae,
    Error,
    PyException,
    "A GPU, file or model failure, with the one line the command line prints after `error: `."
);

/// The error's whole chain on one line, as the command prints it.
fn line(e: &(dyn std::error::Error + 'static)) -> String {
    chain_line(std::iter::successors(Some(e), |e| e.source()))
}

/// `wgvae.Error` with the error's line.
pub fn failure(e: &(dyn std::error::Error + 'static)) -> PyErr {
    Error::new_err(line(e))
}

/// `ValueError` with `message`.
pub fn value(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

pub fn gpu(e: GpuError) -> PyErr {
    failure(&e)
}

pub fn data(e: DataError) -> PyErr {
    failure(&e)
}

pub fn prior(e: PriorError) -> PyErr {
    match e {
        // a knob out of range is a wrong value; a missing or corrupt model a failure
        PriorError::Option(m) => value(m),
        e => failure(&e),
    }
}

pub fn restore(e: RestoreError) -> PyErr {
    match e {
        RestoreError::Usage(m) | RestoreError::Picture { message: m, .. } => value(m),
        RestoreError::Prior(e) => prior(e),
        e => failure(&e),
    }
}

pub fn enhance(e: EnhanceError) -> PyErr {
    match e {
        EnhanceError::Data(_) | EnhanceError::Gpu(_) => failure(&e),
        e => value(line(&e)),
    }
}
