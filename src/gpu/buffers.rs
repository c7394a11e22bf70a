//! Typed buffer helpers: creation, uploads, views into a buffer, and the one readback pattern.

use wgpu::util::DeviceExt;

use crate::error::GpuError;
use crate::gpu::blocking;
use crate::gpu::GpuContext;

/// Storage buffers hold tensors; they can be copied both ways for uploads and readback.
pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A range of 32-bit elements inside a buffer: a whole tensor, or one tensor of the flat
/// parameter buffer. Offsets must respect the adapter's storage offset alignment (the layout
/// aligns every tensor to 256 bytes).
#[derive(Clone, Debug)]
pub struct View {
    pub buffer: wgpu::Buffer,
    /// First element.
    pub offset: u64,
    /// Number of 32-bit elements.
    pub len: u64,
}

impl View {
    /// All of `buffer`, as 32-bit elements.
    pub fn whole(buffer: &wgpu::Buffer) -> View {
        View {
            buffer: buffer.clone(),
            offset: 0,
            len: buffer.size() / 4,
        }
    }

    /// `len` elements from `offset` (in elements, relative to this view); panics past its end.
    pub fn sub(&self, offset: u64, len: u64) -> View {
        assert!(offset + len <= self.len, "sub-view out of range");
        View {
            buffer: self.buffer.clone(),
            offset: self.offset + offset,
            len,
        }
    }

    /// The view as a bind-group entry, in bytes (an empty view binds one element, as wgpu
    /// refuses a zero size).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: self.offset * 4,
            size: wgpu::BufferSize::new(self.len.max(1) * 4),
        })
    }

    /// Fails with a shape error when the view holds fewer than `need` elements.
    pub fn require(&self, op: &'static str, what: &str, need: u64) -> Result<(), GpuError> {
        if self.len < need {
            return Err(GpuError::shape(
                op,
                format!("{what} holds {} elements, needs {need}", self.len),
            ));
        }
        Ok(())
    }
}

/// A storage buffer initialised from `data` (at least 4 bytes, as wgpu forbids empty bindings).
pub fn upload<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    let bytes: &[u8] = bytemuck::cast_slice(data);
    if bytes.len() < 4 {
        return zeros(ctx, label, 1);
    }
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: STORAGE,
        })
}

/// A zero-filled storage buffer of `len` 32-bit elements.
pub fn zeros(ctx: &GpuContext, label: &str, len: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: len.max(1) * 4,
        usage: STORAGE,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding one parameter struct.
pub fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, value: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// Overwrites the elements of `view` with `data`, ordered before the next submit.
pub fn write<T: bytemuck::Pod>(ctx: &GpuContext, view: &View, data: &[T]) {
    assert_eq!(std::mem::size_of::<T>(), 4, "views hold 32-bit elements");
    assert!(data.len() as u64 <= view.len, "write larger than the view");
    ctx.queue
        .write_buffer(&view.buffer, view.offset * 4, bytemuck::cast_slice(data));
}

/// Copies `view` into a staging buffer, waits for the GPU, and returns its elements. The one
/// place that maps memory: call it at log points, never per kernel in a hot loop. Natively it
/// polls the device and waits (`blocking`); in a browser use [`read_async`].
pub fn read<T: bytemuck::Pod>(ctx: &GpuContext, view: &View) -> Result<Vec<T>, GpuError> {
    let size = view.len * 4;
    let pending = start_read::<T>(ctx, view)?;
    if pending.staging.is_some() {
        ctx.poll(
            &format!("reading back {size} bytes from the GPU"),
            wgpu::PollType::wait_indefinitely(),
        )?;
    }
    blocking::wait(pending.finish())?
}

/// [`read`] awaited rather than waited for: in a browser the map completes on its own once
/// the GPU is done; natively someone must poll the device (as [`read`] does).
pub async fn read_async<T: bytemuck::Pod>(
    ctx: &GpuContext,
    view: &View,
) -> Result<Vec<T>, GpuError> {
    let out = start_read::<T>(ctx, view)?.finish().await?;
    // in a browser this is where an error outside any scope (see `faults::scoped`) surfaces
    ctx.faults.check("reading back from the GPU")?;
    Ok(out)
}

/// [`read`] natively (which polls and waits), [`read_async`] in a browser (which must not
/// wait): for code written once for both, which awaits it.
pub async fn read_when_ready<T: bytemuck::Pod>(
    ctx: &GpuContext,
    view: View,
) -> Result<Vec<T>, GpuError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        read(ctx, &view)
    }
    #[cfg(target_arch = "wasm32")]
    {
        read_async(ctx, &view).await
    }
}

/// A readback under way: the staging buffer being mapped and the map's outcome to come.
struct PendingRead<T> {
    /// None for an empty view (nothing to map).
    staging: Option<wgpu::Buffer>,
    mapped: blocking::Once<Result<(), wgpu::BufferAsyncError>>,
    _elements: std::marker::PhantomData<T>,
}

/// Submits the copy of `view` into a staging buffer and asks for it to be mapped.
fn start_read<T: bytemuck::Pod>(ctx: &GpuContext, view: &View) -> Result<PendingRead<T>, GpuError> {
    assert_eq!(std::mem::size_of::<T>(), 4, "views hold 32-bit elements");
    let (tx, mapped) = blocking::once();
    let size = view.len * 4;
    if size == 0 {
        tx.send(Ok(()));
        return Ok(PendingRead {
            staging: None,
            mapped,
            _elements: std::marker::PhantomData,
        });
    }
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.encoder("readback");
    encoder.copy_buffer_to_buffer(&view.buffer, view.offset * 4, &staging, 0, size);
    ctx.submit(
        || format!("reading back {size} bytes from the GPU"),
        encoder,
    )?;
    staging.map_async(wgpu::MapMode::Read, .., move |r| tx.send(r));
    Ok(PendingRead {
        staging: Some(staging),
        mapped,
        _elements: std::marker::PhantomData,
    })
}

impl<T: bytemuck::Pod> PendingRead<T> {
    /// The elements, once the map has completed.
    async fn finish(self) -> Result<Vec<T>, GpuError> {
        self.mapped
            .await
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let Some(staging) = self.staging else {
            return Ok(Vec::new());
        };
        let out = {
            let mapped = staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Readback(format!("{e:?}")))?;
            bytemuck::cast_slice::<u8, T>(&mapped).to_vec()
        };
        staging.unmap();
        Ok(out)
    }
}
