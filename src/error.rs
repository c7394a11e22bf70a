//! Typed errors, one enum per domain. `anyhow` appears only in the command line and in the
//! benchmarks of `eval`.

use thiserror::Error;

/// The one-line advice printed whenever no usable adapter exists.
pub const NO_ADAPTER_HINT: &str = "on Linux without a GPU, install Mesa's software Vulkan driver \
(lavapipe): `sudo apt-get install mesa-vulkan-drivers`, or run tools/ensure-vulkan.sh";

/// Everything that can go wrong on the GPU side: finding an adapter or a backend, opening the
/// device, a shape a kernel refuses, wgpu's validation and memory errors, and a lost device.
#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found for backends {backends}; {NO_ADAPTER_HINT}")]
    NoAdapter { backends: String },
    #[error(
        "this browser offers no WebGPU adapter ({reason}); use a browser with WebGPU (Chrome or \
         Edge 113+, Safari 26+, Firefox 141+ on Windows) or enable it (chrome://flags \
         #enable-unsafe-webgpu, Firefox's dom.webgpu.enabled)"
    )]
    NoWebGpu { reason: String },
    #[error("no adapter name contains {wanted:?}; available: {available}")]
    AdapterNotFound { wanted: String, available: String },
    #[error(
        "there is no adapter with index {index} (a plain number is an index as `wgvae info` \
         lists them); available: {available}"
    )]
    AdapterIndex { index: usize, available: String },
    #[error(
        "several adapter names contain {wanted:?}: {matches}; pass the index or more of the name"
    )]
    AmbiguousAdapter { wanted: String, matches: String },
    #[error("WGPU_BACKEND names an unknown backend {name:?}; valid here: {valid}")]
    UnknownBackend { name: String, valid: String },
    #[error("WGPU_BACKEND names {name:?}, which this build cannot use on this platform; valid here: {valid}")]
    BackendUnavailable { name: String, valid: String },
    #[error("could not open a device on {adapter}: {reason}")]
    RequestDevice { adapter: String, reason: String },
    #[error(
        "this call waits for the GPU, which a browser cannot do; use the library's async form"
    )]
    CannotBlock,
    #[error("reading a buffer back from the GPU failed: {0}")]
    Readback(String),
    #[error("{op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("GPU validation error in {0}")]
    Validation(String),
    #[error("wgpu rejected {what}: {detail}")]
    Invalid { what: String, detail: String },
    #[error("the GPU ran out of memory in {what}; try a smaller batch or image")]
    OutOfMemory { what: String },
    #[error("internal GPU error in {what}: {detail}")]
    Internal { what: String, detail: String },
    #[error(
        "the GPU device was lost during {during} ({reason}); its work is gone: rerun, and if it \
         happens again try a smaller batch or image, or another adapter"
    )]
    DeviceLost { during: String, reason: String },
}

impl GpuError {
    /// A [`GpuError::Shape`]: `op` was given buffers or sizes it cannot take.
    pub fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        GpuError::Shape {
            op,
            detail: detail.into(),
        }
    }
}

/// Wrong usage that only the handler can see: flags that cannot go together, or a value that
/// is impossible for the model asked for. `main` exits with status 2 for it, as clap does for
/// its own parse errors; everything else (bad data, run-time failures) exits with 1.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An error chain (an error, then its causes) as one line joined by ": ". A cause whose text
/// its parent already ends with is left out (`image`'s and `safetensors`' errors print their
/// source inside their own message), and line breaks inside a message become spaces.
pub fn chain_line<'a>(
    chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in chain {
        let text = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() || parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}
