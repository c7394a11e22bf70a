//! `wgvae.Model`: a trained VAE on a device, for restoration, encoding, decoding and sampling.

use std::path::Path;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyString};

use wgvae::error::GpuError;
use wgvae::gpu::autotune;
use wgvae::gpu::recorder::{GpuActs, GpuModel};
use wgvae::gpu::GpuContext;
use wgvae::restore::methods::Method;
use wgvae::restore::prior::ModelSource;
use wgvae::restore::request::{DamageSpec, NoiseSigma, AUTO_BLUR_SIZE};
use wgvae::restore::{MethodOptions, Prior, RestoreOptions, Restorer};
use wgvae::sample;

use crate::device::context_for;
use crate::errors;
use crate::pixels::{float_bytes, floats, Pixels};

/// A model (a built-in one or a checkpoint) and the device it runs on.
#[pyclass(module = "wgvae._wgvae", frozen)]
pub struct Model {
    ctx: Arc<GpuContext>,
    prior: Prior,
}

#[pymethods]
impl Model {
    /// A built-in model by name (digits, photo-grey, photo-rgb) or a checkpoint file, on the
    /// adapter `adapter` names (as `wgvae info` lists them) or the preferred one.
    #[staticmethod]
    #[pyo3(signature = (source, adapter=None))]
    fn load(py: Python<'_>, source: &str, adapter: Option<&str>) -> PyResult<Model> {
        let source: ModelSource = source.parse().expect("infallible");
        let prior = py
            .detach(|| Prior::from_source(&source))
            .map_err(errors::prior)?;
        Ok(Model {
            ctx: context_for(py, adapter)?,
            prior,
        })
    }

    /// A checkpoint already in memory; `name` is what messages call it.
    #[staticmethod]
    #[pyo3(signature = (data, name="model.safetensors", adapter=None))]
    fn from_bytes(
        py: Python<'_>,
        data: &[u8],
        name: &str,
        adapter: Option<&str>,
    ) -> PyResult<Model> {
        let prior = Prior::from_bytes(Path::new(name), data).map_err(errors::prior)?;
        Ok(Model {
            ctx: context_for(py, adapter)?,
            prior,
        })
    }

    /// Where the model came from: a path, or "built-in models/<file>".
    #[getter]
    fn name(&self) -> String {
        self.prior.name.display().to_string()
    }

    /// The model's configuration as the checkpoint stores it, as JSON.
    #[getter]
    fn config_json(&self) -> String {
        serde_json::to_string(&self.prior.meta.config).expect("plain struct")
    }

    /// The adapter as `wgvae info` lists it.
    #[getter]
    fn adapter(&self) -> String {
        self.ctx.describe()
    }

    /// (channels, height, width, latent).
    #[getter]
    fn dims(&self) -> (usize, usize, usize, usize) {
        let c = &self.prior.model.cfg;
        (c.channels, c.height, c.width, c.latent)
    }

    /// The restored image's bytes (see `wgvae.Model.restore`).
    #[pyo3(signature = (
        data, height, width, channels, float, *, noise_sigma=None, poisson_peak=None,
        salt_pepper=None, mask=None, mask_rect=None, blur_sigma=None, blur_size=AUTO_BLUR_SIZE,
        box_blur=None, motion_blur=None, method="posterior", steps=None, window_step=None,
        samples=1, batch=wgvae::restore::prior::DEFAULT_BATCH
    ))]
    #[allow(clippy::too_many_arguments)]
    fn restore<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        height: usize,
        width: usize,
        channels: usize,
        float: bool,
        noise_sigma: Option<Bound<'py, PyAny>>,
        poisson_peak: Option<f32>,
        salt_pepper: Option<f32>,
        mask: Option<&[u8]>,
        mask_rect: Option<[usize; 4]>,
        blur_sigma: Option<f32>,
        blur_size: usize,
        box_blur: Option<usize>,
        motion_blur: Option<(usize, f32)>,
        method: &str,
        steps: Option<usize>,
        window_step: Option<usize>,
        samples: usize,
        batch: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let pixels = Pixels {
            bytes: data,
            height,
            width,
            channels,
            float,
        };
        let picture = pixels.picture()?;
        let spec = DamageSpec {
            noise_sigma: noise_sigma.map(|s| noise_level(&s)).transpose()?,
            poisson_peak: positive("poisson_peak", poisson_peak)?,
            salt_pepper,
            mask: mask.map(|m| m.iter().map(|&v| v != 0).collect()),
            mask_rect,
            blur_sigma: positive("blur_sigma", blur_sigma)?.map(|s| (s, blur_size)),
            box_blur,
            motion_blur,
        };
        let (damage, _) = spec.restoring(&picture).map_err(errors::restore)?;
        let options = RestoreOptions {
            method: Method::from_name(method).ok_or_else(|| {
                errors::value(format!(
                    "method {method:?}: one of posterior, map, impute, project"
                ))
            })?,
            knobs: MethodOptions {
                steps,
                window_step,
                samples,
                batch,
                ..MethodOptions::default()
            },
        };
        let restored = py
            .detach(|| {
                Restorer::borrowing(&self.ctx, &self.prior).restore(&picture, &damage, &options)
            })
            .map_err(errors::restore)?;
        Ok(pixels.same_kind(py, &restored))
    }

    /// Posterior means and log-variances (float32 bytes, `n` rows of the latent size) of `n`
    /// images (float32 bytes, NCHW).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        n: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let dim = self.prior.model.cfg.input_dim();
        let images: Vec<Vec<f32>> = floats(data).chunks(dim).map(<[f32]>::to_vec).collect();
        if images.len() != n || n == 0 {
            return Err(errors::value("encode takes at least one image"));
        }
        let (mu, logvar) = py
            .detach(|| -> Result<_, GpuError> {
                let (mut mu, mut logvar) = (Vec::new(), Vec::new());
                for chunk in images.chunks(self.rows()) {
                    let model = self.gpu_model(chunk.len())?;
                    let (m, l) = sample::encode(&self.ctx, &model, chunk)?;
                    mu.extend(m);
                    logvar.extend(l);
                }
                Ok((mu, logvar))
            })
            .map_err(errors::gpu)?;
        Ok((
            PyBytes::new(py, &float_bytes(&mu)),
            PyBytes::new(py, &float_bytes(&logvar)),
        ))
    }

    /// Images (float32 bytes, NCHW, in [0, 1]) decoded from latent codes (float32 bytes, rows
    /// of the latent size).
    fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let latent = self.prior.model.cfg.latent;
        let z = floats(data);
        if z.is_empty() || !z.len().is_multiple_of(latent) {
            return Err(errors::value(format!(
                "decode takes rows of {latent} latent values"
            )));
        }
        let images = py
            .detach(|| -> Result<_, GpuError> {
                let mut images = Vec::new();
                for chunk in z.chunks(self.rows() * latent) {
                    let model = self.gpu_model(chunk.len() / latent)?;
                    images.extend(sample::decode(&self.ctx, &model, chunk)?);
                }
                Ok(images)
            })
            .map_err(errors::gpu)?;
        Ok(PyBytes::new(py, &float_bytes(&images.concat())))
    }

    /// `n` prior samples (float32 bytes, NCHW, in [0, 1]) drawn on the GPU from `seed`, as
    /// `wgvae sample -n N --seed S` draws them.
    fn sample<'py>(&self, py: Python<'py>, n: usize, seed: u64) -> PyResult<Bound<'py, PyBytes>> {
        if n == 0 || n > 4096 {
            return Err(errors::value(format!("n must be in 1..=4096, got {n}")));
        }
        let spec = &self.prior.model;
        GpuActs::check(&self.ctx, spec, n, |max| {
            format!("lower n to {max} or less")
        })
        .map_err(errors::gpu)?;
        let images = py
            .detach(|| -> Result<_, GpuError> {
                let model = self.gpu_model(n)?;
                sample::prior_samples(&self.ctx, &model, n, seed)
            })
            .map_err(errors::gpu)?;
        Ok(PyBytes::new(py, &float_bytes(&images.concat())))
    }

    /// Every parameter tensor: (name, shape, float32 bytes), PyTorch's names and shapes.
    fn tensors<'py>(&self, py: Python<'py>) -> Vec<(String, Vec<usize>, Bound<'py, PyBytes>)> {
        self.prior
            .model
            .layout
            .tensors
            .iter()
            .map(|t| {
                let bytes = float_bytes(&self.prior.params[t.range()]);
                (t.name.clone(), t.shape.clone(), PyBytes::new(py, &bytes))
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Model({:?} on {})", self.name(), self.ctx.describe())
    }
}

impl Model {
    /// The most rows one GPU batch of this model holds on this adapter.
    fn rows(&self) -> usize {
        GpuActs::max_rows(&self.ctx, &self.prior.model).clamp(1, 4096)
    }

    /// The model's parameters on the GPU, with the linear variant the command picks for
    /// `batch` rows.
    fn gpu_model(&self, batch: usize) -> Result<GpuModel, GpuError> {
        let spec = &self.prior.model;
        let variant = autotune::linear_variant(&self.ctx, spec, batch, None)?.variant;
        GpuModel::new(&self.ctx, spec, &self.prior.params, variant)
    }
}

/// `noise_sigma`: a number, or "auto"; parsed from its text as the command parses its flag.
fn noise_level(value: &Bound<'_, PyAny>) -> PyResult<NoiseSigma> {
    let text = match value.cast::<PyString>() {
        Ok(s) => s.extract::<String>()?,
        Err(_) => {
            let number: f64 = value.extract()?;
            // the shortest text that is this number, as the user wrote it
            PyFloat::new(value.py(), number).repr()?.extract()?
        }
    };
    text.parse::<NoiseSigma>()
        .map_err(|e| errors::value(format!("noise_sigma {text:?}: {e}")))
}

/// A value that must be positive and finite when given.
pub fn positive(name: &str, value: Option<f32>) -> PyResult<Option<f32>> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(errors::value(format!(
            "{name} must be positive and finite, not {v}"
        ))),
        v => Ok(v),
    }
}
