//! Typed errors, one enum per domain. `anyhow` appears only in `main.rs`.

use thiserror::Error;

/// The one-line advice printed whenever no usable adapter exists.
pub const NO_ADAPTER_HINT: &str = "on Linux without a GPU, install Mesa's software Vulkan driver \
(lavapipe): `sudo apt-get install mesa-vulkan-drivers`, or run tools/ensure-vulkan.sh";

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found for backends {backends}; {NO_ADAPTER_HINT}")]
    NoAdapter { backends: String },
    #[error("no adapter name contains {wanted:?}; available: {available}")]
    AdapterNotFound { wanted: String, available: String },
    #[error("could not open a device on {adapter}: {reason}")]
    RequestDevice { adapter: String, reason: String },
    #[error("reading a buffer back from the GPU failed: {0}")]
    Readback(String),
    #[error("{op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("GPU validation error in {0}")]
    Validation(String),
}

impl GpuError {
    pub fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        GpuError::Shape {
            op,
            detail: detail.into(),
        }
    }
}
