//! The page's one device: opened on first use and shared by every restorer and enhancement,
//! as the command line shares one per process.

use std::cell::RefCell;
use std::rc::Rc;

use wgvae::error::GpuError;
use wgvae::gpu::context::DeviceOptions;
use wgvae::gpu::GpuContext;

thread_local! {
    static SHARED: RefCell<Option<Rc<GpuContext>>> = const { RefCell::new(None) };
}

/// The page's device, opened on the browser's WebGPU adapter the first time. A device that was
/// lost is replaced by a fresh one.
pub async fn shared() -> Result<Rc<GpuContext>, GpuError> {
    if let Some(ctx) = SHARED.with_borrow(|s| s.clone()) {
        if !ctx.faults.is_lost() {
            return Ok(ctx);
        }
    }
    let ctx = Rc::new(GpuContext::browser(DeviceOptions::default()).await?);
    // two callers may have opened one each meanwhile: keep the first that arrived
    Ok(SHARED.with_borrow_mut(|s| match s {
        Some(kept) if !kept.faults.is_lost() => kept.clone(),
        _ => s.insert(ctx).clone(),
    }))
}

/// The adapter as the page shows it: its name where the browser tells it (most hide it), else
/// "WebGPU adapter", with the backend.
pub fn describe(ctx: &GpuContext) -> String {
    let info = &ctx.info;
    let name = [&info.name, &info.driver, &info.driver_info]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "WebGPU adapter".to_string());
    format!("{name} ({})", info.backend)
}
