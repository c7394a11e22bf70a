//! The restoration front door: a [`Restorer`] holds a device and a prior and restores pictures
//! from their known damage. Every front end (the command line, the browser, Python) calls
//! this; the steps inside are `restore::methods` over windows cut by `restore::tiles`.

use std::borrow::Cow;

use thiserror::Error;

use crate::error::GpuError;
use crate::gpu::blocking;
use crate::gpu::recorder::GpuActs;
use crate::gpu::GpuContext;
use crate::picture::Picture;
use crate::restore::degrade::{Degradation, Noise};
use crate::restore::denoiser;
use crate::restore::engine::GpuEngine;
use crate::restore::methods::{model_sigma_for, restore_many, restore_plans, Method, Settings};
use crate::restore::prior::{pixel_variance, settings, MethodOptions, Prior, PriorError};
use crate::restore::tiles::Plan;

/// How to restore: the method and its knobs. [`Default`] is the command line's default.
#[derive(Clone, Debug, PartialEq)]
pub struct RestoreOptions {
    pub method: Method,
    pub knobs: MethodOptions,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            method: Method::Posterior,
            knobs: MethodOptions::default(),
        }
    }
}

/// Why a restoration failed.
#[derive(Debug, Error)]
pub enum RestoreError {
    /// Options or damage that cannot go together (wrong usage).
    #[error("{0}")]
    Usage(String),
    /// Picture `index` of those given cannot be restored as asked (a mask of another size,
    /// colours the model cannot take).
    #[error("{message}")]
    Picture { index: usize, message: String },
    #[error(transparent)]
    Prior(#[from] PriorError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// What a restoration reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreProgress {
    /// The pictures are cut into `windows` windows of the model's size; the GPU work begins.
    Started { windows: usize },
    /// `windows` more windows are restored.
    Windows(usize),
}

/// A device and a prior, ready to restore pictures.
///
/// ```no_run
/// use wgvae::gpu::GpuContext;
/// use wgvae::picture::Picture;
/// use wgvae::restore::degrade::{Degradation, Noise};
/// use wgvae::restore::{Prior, RestoreOptions, Restorer};
///
/// let ctx = GpuContext::new(None)?;
/// let restorer = Restorer::new(&ctx, Prior::builtin()?);
/// let noisy = Picture::read("noisy.png".as_ref())?;
/// let damage = Degradation { noise: Noise::Gaussian(0.1), ..Degradation::none() };
/// let clean = restorer.restore(&noisy, &damage, &RestoreOptions::default())?;
/// clean.write("clean.png".as_ref())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Restorer<'a> {
    ctx: &'a GpuContext,
    // owned, or borrowed from a caller that keeps its models loaded (the server, Python)
    prior: Cow<'a, Prior>,
}

impl<'a> Restorer<'a> {
    /// A restorer of pictures with `prior` on the device of `ctx`.
    pub fn new(ctx: &'a GpuContext, prior: Prior) -> Self {
        Restorer {
            ctx,
            prior: Cow::Owned(prior),
        }
    }

    /// [`Restorer::new`] with a prior the caller keeps (no copy of its parameters).
    pub fn borrowing(ctx: &'a GpuContext, prior: &'a Prior) -> Self {
        Restorer {
            ctx,
            prior: Cow::Borrowed(prior),
        }
    }

    /// The model this restorer uses.
    pub fn prior(&self) -> &Prior {
        &self.prior
    }

    /// `picture` restored from `damage` (which must describe what was done to it). Waits for
    /// the GPU: native callers only (a browser awaits [`Restorer::restore_async`]).
    pub fn restore(
        &self,
        picture: &Picture,
        damage: &Degradation,
        options: &RestoreOptions,
    ) -> Result<Picture, RestoreError> {
        blocking::wait(self.restore_async(picture, damage, options))?
    }

    /// [`Restorer::restore`] for callers that await, as a browser must.
    pub async fn restore_async(
        &self,
        picture: &Picture,
        damage: &Degradation,
        options: &RestoreOptions,
    ) -> Result<Picture, RestoreError> {
        let mut out = self
            .restore_all_async(&[(picture, damage)], options, |_| {})
            .await?;
        Ok(out.remove(0))
    }

    /// Each picture restored from its damage, the windows of all of them in shared GPU
    /// batches; `progress` hears how many windows there are, then as they are done. Waits for
    /// the GPU: native callers only (a browser awaits [`Restorer::restore_all_async`]).
    pub fn restore_all(
        &self,
        jobs: &[(&Picture, &Degradation)],
        options: &RestoreOptions,
        progress: impl FnMut(RestoreProgress),
    ) -> Result<Vec<Picture>, RestoreError> {
        blocking::wait(self.restore_all_async(jobs, options, progress))?
    }

    /// [`Restorer::restore_all`] for callers that await; the same steps, the same results.
    pub async fn restore_all_async(
        &self,
        jobs: &[(&Picture, &Degradation)],
        options: &RestoreOptions,
        mut progress: impl FnMut(RestoreProgress),
    ) -> Result<Vec<Picture>, RestoreError> {
        let Prior {
            meta,
            params,
            model,
            ..
        } = &*self.prior;
        let knobs = &options.knobs;
        let mut settings = settings(knobs, &self.prior)?;
        settings.prefilled = denoiser::is_denoiser(meta);
        let cfg = &model.cfg;
        // every picture cut before any GPU work, so a bad one fails early
        let mut plans = Vec::with_capacity(jobs.len());
        let mut psf = None;
        let mut observed = Vec::with_capacity(jobs.len());
        let mut kept = Vec::with_capacity(jobs.len());
        for (index, &(y, deg)) in jobs.iter().enumerate() {
            let picture = |message| RestoreError::Picture { index, message };
            deg.validate().map_err(RestoreError::Usage)?;
            let missing = deg.known_missing(y.height, y.width).map_err(picture)?;
            let prec = deg.precision(y, &missing);
            let filled = settings
                .prefilled
                .then(|| denoiser::prefill(y, &prec))
                .flatten();
            let plan = Plan::with_step(
                filled.as_ref().unwrap_or(y),
                &prec,
                cfg.channels,
                cfg.height,
                cfg.width,
                knobs.window_step.or(denoiser::default_window_step(meta)),
            )
            .map_err(picture)?;
            psf = deg.blur.clone();
            if knobs.model_sigma.is_none() {
                settings.model_sigma = model_sigma_for(deg);
            }
            plans.push(plan);
            observed.push(prec);
            // pixels the damage left exactly as they were: a mask with no noise or blur
            let exact = matches!(deg.noise, Noise::None) && deg.blur.is_none();
            kept.push(exact.then_some(missing));
        }
        let (run, local) = denoiser::window_method(meta, options.method, psf.is_some());
        let windows: usize = plans.iter().map(Plan::window_count).sum();
        let rows = knobs.batch.min(windows);
        let samples = settings.samples.max(1);
        GpuActs::check(self.ctx, model, settings.rows_for(rows), |max| {
            format!(
                "{rows} window(s) at once x --samples {samples}: lower --batch or --samples so \
                 that their product is at most {max}"
            )
        })?;
        let mut engine = GpuEngine::new(self.ctx, model, params, settings.rows_for(rows))?;
        progress(RestoreProgress::Started { windows });
        let restored = restore_plans(&mut engine, &plans, run, &settings, psf.as_ref(), |n| {
            progress(RestoreProgress::Windows(n))
        })
        .await?;
        Ok(restored
            .into_iter()
            .zip(jobs.iter().zip(&observed))
            .zip(&kept)
            .map(|((out, (&(y, _), prec)), kept)| {
                let out = match local {
                    true => denoiser::local_blend(y, prec, &out, model.mean_kind()),
                    false => out,
                };
                match kept {
                    Some(missing) => keep_known(y, out, missing),
                    None => out,
                }
            })
            .collect())
    }

    /// `enhance --vae-refine K`: `picture` restored as if degraded by Gaussian noise of
    /// `sigma`, with the posterior method averaging `k` importance-weighted codes per window.
    /// A denoising VAE (the photo models) restores as `restore` does instead, with its own
    /// defaults (no MAP steps, one code: its encoder does the denoising), so `k` is not used.
    pub fn refine(&self, picture: &Picture, k: usize, sigma: f32) -> Result<Picture, RestoreError> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(RestoreError::Usage(format!(
                "--refine-sigma must be a positive number, not {sigma}"
            )));
        }
        if denoiser::is_denoiser(&self.prior.meta) {
            let noise = Degradation {
                noise: Noise::Gaussian(sigma),
                ..Degradation::none()
            };
            return self.restore(picture, &noise, &RestoreOptions::default());
        }
        let Prior {
            meta,
            params,
            model,
            ..
        } = &*self.prior;
        let deg = Degradation {
            noise: Noise::Gaussian(sigma),
            ..Degradation::none()
        };
        let missing = vec![false; picture.height * picture.width];
        let prec = deg.precision(picture, &missing);
        let cfg = &model.cfg;
        let plan = Plan::new(picture, &prec, cfg.channels, cfg.height, cfg.width)
            .map_err(|message| RestoreError::Picture { index: 0, message })?;
        let settings = Settings {
            samples: k,
            model_sigma: model_sigma_for(&deg),
            var: pixel_variance(meta, params, model, None),
            ..Settings::default()
        };
        let (obs, w) = plan.cut();
        let windows = plan.window_count().min(256);
        let rows = settings.rows_for(windows);
        GpuActs::check(self.ctx, model, rows, |max| {
            format!(
                "{windows} windows at once, each with --vae-refine {k} codes: lower --vae-refine \
                 to {} or less",
                (max / windows).max(1)
            )
        })?;
        let mut engine = GpuEngine::new(self.ctx, model, params, rows)?;
        let restored = blocking::wait(restore_many(
            &mut engine,
            &[Method::Posterior],
            &settings,
            &obs,
            &w,
            None,
            |_| {},
        ))??
        .remove(0);
        Ok(plan.stitch(&restored))
    }
}

/// `restored` with every pixel not `missing` put back exactly as `observed` holds it: an
/// inpainting returns what it was not asked to fill bit for bit.
fn keep_known(observed: &Picture, mut restored: Picture, missing: &[bool]) -> Picture {
    let n = observed.height * observed.width;
    for c in 0..observed.channels {
        for (i, _) in missing.iter().enumerate().filter(|(_, &m)| !m) {
            restored.data[c * n + i] = observed.data[c * n + i];
        }
    }
    restored
}
