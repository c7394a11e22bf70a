//! Adapter and device choice. Setup is separate from work: every op takes a `&GpuContext`, so
//! tests bring one shared device and the CLI brings its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::GpuError;
use crate::gpu::kernels::{CompiledKernel, Kernel};

/// The backends to search: `WGPU_BACKEND` (e.g. `vulkan`, `metal`, `dx12`, `gl`) when set, else
/// the primary ones (Vulkan, Metal, DX12). GL is opt-in: its compute support is the weakest.
pub fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)
}

pub fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

/// Every adapter the instance can see, in the order the backends report them.
pub fn list_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(backends()))
}

/// Higher is preferred when no `--adapter` is given: real GPUs before software rasterisers.
fn preference(info: &wgpu::AdapterInfo) -> u32 {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 40,
        wgpu::DeviceType::IntegratedGpu => 30,
        wgpu::DeviceType::VirtualGpu => 20,
        wgpu::DeviceType::Cpu => 10,
        wgpu::DeviceType::Other => 0,
    };
    let backend = match info.backend {
        wgpu::Backend::Gl => 0,
        _ => 1,
    };
    kind + backend
}

/// Picks the adapter whose name contains `wanted` (case-insensitive), or the preferred one.
/// Returns its index in `adapters`.
pub fn choose_adapter(adapters: &[wgpu::Adapter], wanted: Option<&str>) -> Result<usize, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter {
            backends: format!("{:?}", backends()),
        });
    }
    match wanted {
        Some(w) => {
            let needle = w.to_lowercase();
            adapters
                .iter()
                .position(|a| a.get_info().name.to_lowercase().contains(&needle))
                .ok_or_else(|| GpuError::AdapterNotFound {
                    wanted: w.to_string(),
                    available: adapters
                        .iter()
                        .map(|a| a.get_info().name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        }
        None => Ok(adapters
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (preference(&a.get_info()), usize::MAX - i))
            .map(|(i, _)| i)
            .expect("non-empty")),
    }
}

pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// Timestamp queries are available: the profiler uses GPU time, else the wall clock.
    pub timestamps: bool,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    kernels: Mutex<HashMap<Kernel, Arc<CompiledKernel>>>,
}

impl GpuContext {
    /// Opens a device on the chosen adapter (see [`choose_adapter`]).
    pub fn new(wanted: Option<&str>) -> Result<Self, GpuError> {
        let instance = instance();
        let mut adapters = list_adapters(&instance);
        let index = choose_adapter(&adapters, wanted)?;
        let adapter = adapters.swap_remove(index);
        Self::from_adapter(adapter)
    }

    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
        let info = adapter.get_info();
        let available = adapter.features();
        // Pass-boundary timestamps are all the profiler needs: each timed dispatch gets a pass.
        let wanted_ts = wgpu::Features::TIMESTAMP_QUERY;
        let timestamps = available.contains(wanted_ts);
        let required_features = if timestamps {
            wanted_ts
        } else {
            wgpu::Features::empty()
        };
        // Ask for everything the adapter offers: large storage buffers matter for big batches.
        let required_limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wgvae"),
            required_features,
            required_limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice {
            adapter: info.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(GpuContext {
            adapter,
            device,
            queue,
            info,
            timestamps,
            modules: Mutex::new(HashMap::new()),
            kernels: Mutex::new(HashMap::new()),
        })
    }

    /// The compiled pipeline for `kernel`, built on first use and cached for the device's life.
    pub fn kernel(&self, kernel: Kernel) -> Arc<CompiledKernel> {
        if let Some(k) = self.kernels.lock().expect("kernel cache").get(&kernel) {
            return k.clone();
        }
        let spec = kernel.spec();
        let module = {
            let mut modules = self.modules.lock().expect("module cache");
            modules
                .entry(spec.file.name())
                .or_insert_with(|| {
                    self.device
                        .create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(spec.file.name()),
                            source: wgpu::ShaderSource::Wgsl(spec.file.source()),
                        })
                })
                .clone()
        };
        let compiled = Arc::new(CompiledKernel::new(&self.device, &module, kernel));
        self.kernels
            .lock()
            .expect("kernel cache")
            .insert(kernel, compiled.clone());
        compiled
    }

    /// Submits `encoder` and blocks until the GPU has finished it.
    pub fn submit_and_wait(&self, encoder: wgpu::CommandEncoder) -> Result<(), GpuError> {
        self.wait_for(self.queue.submit(Some(encoder.finish())))
    }

    /// Blocks until submission `index` (and everything before it) has finished on the GPU.
    pub fn wait_for(&self, index: wgpu::SubmissionIndex) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .map(|_| ())
            .map_err(|e| GpuError::Readback(e.to_string()))
    }

    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }
}
