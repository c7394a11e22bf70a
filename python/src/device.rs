//! The GPU devices of the process: one per adapter asked for, opened on first use and shared
//! by every model and call after (opening a device takes long, and each holds its compiled
//! kernels). Opened with the command line's settings, read from the same environment
//! variables (`WGVAE_NO_AUTOTUNE`, `WGVAE_NO_SUBGROUPS`, `WGPU_BACKEND`), so that the same
//! adapter gives the same kernels and so the same results.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use wgvae::error::GpuError;
use wgvae::gpu::autotune::Settings;
use wgvae::gpu::context::Adapters;
use wgvae::gpu::context::DeviceOptions;
use wgvae::gpu::GpuContext;

use crate::errors;

type Opened = Vec<(Option<String>, Arc<GpuContext>)>;

static OPENED: Mutex<Opened> = Mutex::new(Vec::new());

/// The device of the adapter `wanted` names (an index as `wgvae info` lists them, or part of
/// a name), or of the preferred one; opened once per process.
pub fn context(wanted: Option<&str>) -> Result<Arc<GpuContext>, GpuError> {
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, ctx)) = opened.iter().find(|(w, _)| w.as_deref() == wanted) {
        return Ok(ctx.clone());
    }
    let options = DeviceOptions {
        subgroups: !flag("WGVAE_NO_SUBGROUPS"),
    };
    let ctx = GpuContext::with_options(wanted, options)?;
    ctx.tuning
        .set(Settings::from_flags(flag("WGVAE_NO_AUTOTUNE")));
    let ctx = Arc::new(ctx);
    opened.push((wanted.map(str::to_string), ctx.clone()));
    Ok(ctx)
}

/// [`context`] with the GIL released while a device opens.
pub fn context_for(py: Python<'_>, wanted: Option<&str>) -> PyResult<Arc<GpuContext>> {
    py.detach(|| context(wanted)).map_err(errors::gpu)
}

/// An environment variable read as the command line's boolean flags read it.
fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "y" | "on"
        )
    })
}

/// The adapters as `wgvae info` lists them: index, name, backend and device type.
#[pyfunction]
pub fn adapters(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let found = py.detach(Adapters::enumerate).map_err(errors::gpu)?;
    found
        .list
        .iter()
        .enumerate()
        .map(|(index, adapter)| {
            let info = adapter.get_info();
            let row = PyDict::new(py);
            row.set_item("index", index)?;
            row.set_item("name", &info.name)?;
            row.set_item("backend", format!("{:?}", info.backend).to_lowercase())?;
            row.set_item("type", device_type(info.device_type))?;
            Ok(row)
        })
        .collect()
}

fn device_type(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}
