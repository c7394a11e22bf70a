//! Adapter and device choice. Setup is separate from work: every op takes a `&GpuContext`, so
//! tests bring one shared device and the CLI brings its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::GpuError;
use crate::gpu::blocking;
use crate::gpu::faults::{self, Faults};
use crate::gpu::kernels::{CompiledKernel, Kernel};
use crate::gpu::pinning::{self, Pinning};

/// The names `WGPU_BACKEND` accepts (wgpu's own spellings) and the backend each names.
const BACKEND_NAMES: [(&str, wgpu::Backend); 9] = [
    ("vulkan", wgpu::Backend::Vulkan),
    ("vk", wgpu::Backend::Vulkan),
    ("metal", wgpu::Backend::Metal),
    ("mtl", wgpu::Backend::Metal),
    ("dx12", wgpu::Backend::Dx12),
    ("d3d12", wgpu::Backend::Dx12),
    ("gl", wgpu::Backend::Gl),
    ("gles", wgpu::Backend::Gl),
    ("opengl", wgpu::Backend::Gl),
];

/// The backends this build can use on this platform: compiled in and meant for this OS (so
/// Vulkan and GL on Linux, never Metal or the browser's WebGPU).
pub fn available_backends() -> wgpu::Backends {
    wgpu::Instance::enabled_backend_features()
        & !(wgpu::Backends::NOOP | wgpu::Backends::BROWSER_WEBGPU)
}

/// The backends to search: those `WGPU_BACKEND` names (comma-separated, e.g. `vulkan`, `gl`)
/// when it is set, else the primary ones this build has here (Vulkan, Metal, DX12). GL is
/// opt-in: its compute support is the weakest.
pub fn backends() -> Result<wgpu::Backends, GpuError> {
    let default = wgpu::Backends::PRIMARY & available_backends();
    match std::env::var_os("WGPU_BACKEND") {
        Some(list) => parse_backends(&list.to_string_lossy(), available_backends()).map(|b| {
            if b.is_empty() {
                default
            } else {
                b
            }
        }),
        None => Ok(default),
    }
}

/// Parses a `WGPU_BACKEND` list against the backends `available` here: an unknown name, or one
/// this build cannot use here, is an error naming it and the valid ones.
pub fn parse_backends(list: &str, available: wgpu::Backends) -> Result<wgpu::Backends, GpuError> {
    let mut out = wgpu::Backends::empty();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let lower = name.to_lowercase();
        let known = BACKEND_NAMES.iter().find(|(n, _)| *n == lower);
        let Some(&(_, backend)) = known else {
            return Err(GpuError::UnknownBackend {
                name: name.to_string(),
                valid: backend_list(available),
            });
        };
        if !available.contains(backend.into()) {
            return Err(GpuError::BackendUnavailable {
                name: name.to_string(),
                valid: backend_list(available),
            });
        }
        out |= backend.into();
    }
    Ok(out)
}

/// The backends of `set` as a plain list: "vulkan, gl".
pub fn backend_list(set: wgpu::Backends) -> String {
    backend_names(set).join(", ")
}

/// The names of the backends of `set`, in wgpu's order.
pub fn backend_names(set: wgpu::Backends) -> Vec<&'static str> {
    wgpu::Backend::ALL
        .iter()
        .filter(|&&b| set.contains(b.into()))
        .map(|b| b.to_str())
        .collect()
}

/// An adapter as `wgvae info` lists it and every GPU command names it: "[0] llvmpipe (vulkan)".
pub fn describe(index: usize, info: &wgpu::AdapterInfo) -> String {
    label(index, &info.name, info.backend)
}

fn label(index: usize, name: &str, backend: wgpu::Backend) -> String {
    format!("[{index}] {name} ({backend})")
}

/// The adapters of the backends searched, in the order the backends report them (the order of
/// the indices `wgvae info` prints and `--adapter N` takes).
pub struct Adapters {
    pub backends: wgpu::Backends,
    pub list: Vec<wgpu::Adapter>,
}

impl Adapters {
    /// Every adapter of the backends [`backends`] names (`WGPU_BACKEND`, else the primary ones).
    pub fn enumerate() -> Result<Self, GpuError> {
        let backends = backends()?;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::Instance::new(desc);
        let list = blocking::wait(instance.enumerate_adapters(backends))?;
        Ok(Adapters { backends, list })
    }

    /// The index of the adapter `wanted` names (see [`pick`]), or of the preferred one.
    pub fn choose(&self, wanted: Option<&str>) -> Result<usize, GpuError> {
        if self.list.is_empty() {
            return Err(GpuError::NoAdapter {
                backends: backend_list(self.backends),
            });
        }
        let infos: Vec<wgpu::AdapterInfo> = self.list.iter().map(|a| a.get_info()).collect();
        match wanted {
            Some(w) => {
                let named: Vec<(String, wgpu::Backend)> =
                    infos.iter().map(|i| (i.name.clone(), i.backend)).collect();
                pick(&named, w)
            }
            None => Ok(infos
                .iter()
                .enumerate()
                .max_by_key(|(i, info)| (preference(info), usize::MAX - i))
                .map(|(i, _)| i)
                .expect("non-empty")),
        }
    }
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

/// The adapter `wanted` names among `adapters` (name, backend): a plain number is an index as
/// `wgvae info` lists them; anything else must be part of exactly one adapter's name
/// (case-insensitive). Out of range, no match or several matches are errors listing them.
pub fn pick(adapters: &[(String, wgpu::Backend)], wanted: &str) -> Result<usize, GpuError> {
    let listing = |which: &mut dyn Iterator<Item = usize>| {
        which
            .map(|i| label(i, &adapters[i].0, adapters[i].1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wanted = wanted.trim();
    if let Ok(index) = wanted.parse::<usize>() {
        if index < adapters.len() {
            return Ok(index);
        }
        return Err(GpuError::AdapterIndex {
            index,
            available: listing(&mut (0..adapters.len())),
        });
    }
    let needle = wanted.to_lowercase();
    let hits: Vec<usize> = (0..adapters.len())
        .filter(|&i| adapters[i].0.to_lowercase().contains(&needle))
        .collect();
    match hits[..] {
        [one] => Ok(one),
        [] => Err(GpuError::AdapterNotFound {
            wanted: wanted.to_string(),
            available: listing(&mut (0..adapters.len())),
        }),
        _ => Err(GpuError::AmbiguousAdapter {
            wanted: wanted.to_string(),
            matches: listing(&mut hits.iter().copied()),
        }),
    }
}

/// An open device and everything bound to it: its queue, what the adapter can do, the errors
/// it reported, the linear-variant tuning and the shader modules and pipelines compiled so far.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// The adapter's index among those searched (as `wgvae info` and `--adapter N` count).
    pub index: usize,
    /// Timestamp queries are available: the profiler uses GPU time, else the wall clock.
    pub timestamps: bool,
    /// Subgroup operations are on, with subgroups of at least 8 lanes
    /// ([`DeviceOptions::subgroups_on`]): the `*_sg.wgsl` kernels can run.
    pub subgroups: bool,
    /// Errors and the loss the device reported outside error scopes (see `faults`).
    pub faults: Faults,
    /// How the linear variant is picked for a model (off until the command line turns it on).
    pub tuning: crate::gpu::autotune::Tuning,
    /// A software adapter's compute threads, each on its own CPU (see `pinning`).
    pub pinning: Pinning,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    kernels: Mutex<HashMap<Kernel, Arc<CompiledKernel>>>,
}

/// What a device is opened with, beyond the adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Use subgroup kernels where the adapter has them (`--no-subgroups` turns this off: to
    /// compare, to run the kernels of devices without them, or to step round a driver's bug).
    pub subgroups: bool,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions { subgroups: true }
    }
}

impl DeviceOptions {
    /// Whether a device opened with these options on an adapter with `features` runs the
    /// subgroup kernels: they are wanted, and the adapter has subgroups of at least 8 lanes, so
    /// that an 8-invocation workgroup is one subgroup (the kernels hand values between its 8).
    pub fn subgroups_on(&self, info: &wgpu::AdapterInfo, features: wgpu::Features) -> bool {
        self.subgroups && features.contains(wgpu::Features::SUBGROUP) && info.subgroup_min_size >= 8
    }
}

impl GpuContext {
    /// Opens a device on the adapter `wanted` names, or the preferred one (see
    /// [`Adapters::choose`]).
    pub fn new(wanted: Option<&str>) -> Result<Self, GpuError> {
        Self::with_options(wanted, DeviceOptions::default())
    }

    /// [`GpuContext::new`] with `options`.
    pub fn with_options(wanted: Option<&str>, options: DeviceOptions) -> Result<Self, GpuError> {
        let before = pinning::threads();
        let mut adapters = Adapters::enumerate()?;
        let index = adapters.choose(wanted)?;
        let adapter = adapters.list.swap_remove(index);
        let mut ctx = Self::open(index, adapter, options)?;
        ctx.pinning = pinning::pin_compute_threads(&before, &ctx.info);
        Ok(ctx)
    }

    /// "[0] llvmpipe (LLVM 15.0.6, 256 bits) (vulkan)": the adapter as `wgvae info` lists it.
    pub fn describe(&self) -> String {
        describe(self.index, &self.info)
    }

    /// A device on the browser's WebGPU adapter (high performance preferred), for a page that
    /// awaits: nothing here blocks. Natively there is no browser adapter ([`GpuError::NoWebGpu`]):
    /// use [`GpuContext::new`].
    pub async fn browser(options: DeviceOptions) -> Result<Self, GpuError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoWebGpu {
                reason: e.to_string(),
            })?;
        Self::open_async(0, adapter, options).await
    }

    fn open(
        index: usize,
        adapter: wgpu::Adapter,
        options: DeviceOptions,
    ) -> Result<Self, GpuError> {
        blocking::wait(Self::open_async(index, adapter, options))?
    }

    async fn open_async(
        index: usize,
        adapter: wgpu::Adapter,
        options: DeviceOptions,
    ) -> Result<Self, GpuError> {
        let info = adapter.get_info();
        let available = adapter.features();
        // Pass-boundary timestamps are all the profiler needs: each timed dispatch gets a pass.
        let wanted_ts = wgpu::Features::TIMESTAMP_QUERY;
        let timestamps = available.contains(wanted_ts);
        let mut required_features = if timestamps {
            wanted_ts
        } else {
            wgpu::Features::empty()
        };
        let subgroups = options.subgroups_on(&info, available);
        if subgroups {
            required_features |= wgpu::Features::SUBGROUP;
        }
        // Ask for everything the adapter offers: large storage buffers matter for big batches.
        let required_limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgvae"),
                required_features,
                required_limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| GpuError::RequestDevice {
                adapter: info.name.clone(),
                reason: e.to_string(),
            })?;
        let faults = Faults::install(&device);
        Ok(GpuContext {
            adapter,
            device,
            queue,
            info,
            index,
            timestamps,
            subgroups,
            faults,
            tuning: Default::default(),
            pinning: Pinning::default(),
            modules: Mutex::new(HashMap::new()),
            kernels: Mutex::new(HashMap::new()),
        })
    }

    /// The compiled pipeline for `kernel`, built on first use and cached for the device's life.
    /// A shader or pipeline the device rejects is an error naming the file or the kernel.
    pub fn kernel(&self, kernel: Kernel) -> Result<Arc<CompiledKernel>, GpuError> {
        if let Some(k) = self.kernels.lock().expect("kernel cache").get(&kernel) {
            return Ok(k.clone());
        }
        let spec = kernel.spec();
        let cached = self
            .modules
            .lock()
            .expect("module cache")
            .get(spec.file.name())
            .cloned();
        let module = match cached {
            Some(m) => m,
            None => {
                let m = self.shader_module(spec.file.name(), &spec.file.source())?;
                self.modules
                    .lock()
                    .expect("module cache")
                    .insert(spec.file.name(), m.clone());
                m
            }
        };
        let compiled = Arc::new(self.scoped(
            || format!("kernel {} ({})", spec.entry, spec.file.name()),
            || CompiledKernel::new(&self.device, &module, kernel),
        )?);
        self.kernels
            .lock()
            .expect("kernel cache")
            .insert(kernel, compiled.clone());
        Ok(compiled)
    }

    /// The WGSL `source` compiled as a module named `name`; an error names it and says why.
    pub fn shader_module(&self, name: &str, source: &str) -> Result<wgpu::ShaderModule, GpuError> {
        self.scoped(
            || format!("shader {name}"),
            || {
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(name),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    })
            },
        )
    }

    /// Runs `f` inside wgpu error scopes (see [`faults::scoped`]): what they catch is an error
    /// about `what()`, unless an earlier fault recorded outside any scope is its cause, or the
    /// device is lost.
    pub fn scoped<R>(
        &self,
        what: impl FnOnce() -> String,
        f: impl FnOnce() -> R,
    ) -> Result<R, GpuError> {
        let mut named = String::new();
        let named_what = || {
            named = what();
            named.clone()
        };
        match faults::scoped(&self.device, named_what, f) {
            Ok(out) => Ok(out),
            Err(e) => {
                self.faults.check(&named)?;
                Err(e)
            }
        }
    }

    /// Finishes `encoder` and submits it inside error scopes: a command the device rejects is
    /// an error naming `what`.
    pub fn submit(
        &self,
        what: impl FnOnce() -> String,
        encoder: wgpu::CommandEncoder,
    ) -> Result<wgpu::SubmissionIndex, GpuError> {
        self.scoped(what, || self.queue.submit(Some(encoder.finish())))
    }

    /// Submits `encoder` (the work `what` names) and blocks until the GPU has finished it.
    pub fn submit_and_wait(
        &self,
        what: &str,
        encoder: wgpu::CommandEncoder,
    ) -> Result<(), GpuError> {
        let index = self.submit(|| what.to_string(), encoder)?;
        self.wait(what, index)
    }

    /// Blocks until submission `index` (and everything before it) has finished on the GPU.
    /// A lost device or a fault recorded outside an error scope is an error, never a hang.
    pub fn wait_for(&self, index: wgpu::SubmissionIndex) -> Result<(), GpuError> {
        self.wait("GPU work", index)
    }

    /// [`GpuContext::wait_for`] with the work named in its errors.
    pub fn wait(&self, what: &str, index: wgpu::SubmissionIndex) -> Result<(), GpuError> {
        self.poll(
            what,
            wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            },
        )
    }

    /// Polls the device. wgpu panics when the driver fails a wait (a lost device): that is
    /// caught here and reported as the loss, as is a loss or fault recorded before.
    pub fn poll(&self, what: &str, poll: wgpu::PollType) -> Result<(), GpuError> {
        self.faults.check(what)?;
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.device.poll(poll)));
        match polled {
            Ok(Ok(_)) => self.faults.check(what),
            Ok(Err(e)) => {
                // A device lost (or destroyed) refuses new submissions, so a wait on one fails
                // early; one plain poll lets wgpu notice the loss and call back.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.device.poll(wgpu::PollType::Poll)
                }));
                self.faults.check(what)?;
                Err(GpuError::Readback(format!("waiting for {what}: {e}")))
            }
            Err(panic) => {
                self.faults.check(what)?;
                let reason = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("wgpu failed while waiting");
                Err(GpuError::DeviceLost {
                    during: what.to_string(),
                    reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
                })
            }
        }
    }

    /// A new command encoder labelled `label` (the label names it in wgpu's errors).
    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::{Backend, Backends};

    fn two() -> Vec<(String, Backend)> {
        vec![
            ("NVIDIA GeForce RTX 3090".to_string(), Backend::Vulkan),
            (
                "llvmpipe (LLVM 15.0.6, 256 bits)".to_string(),
                Backend::Vulkan,
            ),
        ]
    }

    #[test]
    fn a_number_is_an_index_and_text_a_unique_name_part() {
        assert_eq!(pick(&two(), "1").unwrap(), 1);
        assert_eq!(pick(&two(), " 0 ").unwrap(), 0);
        assert_eq!(pick(&two(), "LLVMPIPE").unwrap(), 1);
        assert_eq!(pick(&two(), "rtx 3090").unwrap(), 0);
        let e = pick(&two(), "2").unwrap_err().to_string();
        assert!(e.contains("index 2") && e.contains("[1] llvmpipe"), "{e}");
        let e = pick(&two(), "radeon").unwrap_err().to_string();
        assert!(e.contains("\"radeon\"") && e.contains("[0] NVIDIA"), "{e}");
        let mut same = two();
        same.push(("llvmpipe (LLVM 15.0.6, 256 bits)".to_string(), Backend::Gl));
        let e = pick(&same, "llvm").unwrap_err().to_string();
        assert!(
            e.contains("several") && e.contains("[1] llvmpipe") && e.contains("[2] llvmpipe"),
            "{e}"
        );
        assert!(!e.contains("[0]"), "{e}");
    }

    #[test]
    fn backend_names_are_checked() {
        let here = Backends::VULKAN | Backends::GL;
        assert_eq!(parse_backends("Vulkan", here).unwrap(), Backends::VULKAN);
        assert_eq!(parse_backends("vk, gles", here).unwrap(), here);
        assert_eq!(parse_backends(" ", here).unwrap(), Backends::empty());
        let e = parse_backends("vulkn", here).unwrap_err().to_string();
        assert!(
            e.contains("unknown") && e.contains("\"vulkn\"") && e.contains("vulkan, gl"),
            "{e}"
        );
        let e = parse_backends("metal", here).unwrap_err().to_string();
        assert!(e.contains("\"metal\"") && e.contains("vulkan, gl"), "{e}");
        assert_eq!(backend_list(Backends::PRIMARY & here), "vulkan");
    }
}
