//! The restoration methods, written once over an [`Engine`] (GPU in use, CPU in tests): every
//! numerical step is a program of `restore::program`; the host writes the observations,
//! replays programs and reads the result once at the end.

use crate::cpu::ops::AdamHyper;
use crate::error::GpuError;
use crate::picture::Picture;
use crate::restore::blur::Psf;
use crate::restore::degrade::{Degradation, Mask};
use crate::restore::engine::Engine;
use crate::restore::program::{Operator, PixelVariance};
use crate::restore::tiles::Plan;

/// What a restoration computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Encode the observation (unknown pixels filled), decode the mean.
    Project,
    /// Iterative imputation: refill unknown pixels from the reconstruction and re-encode.
    Impute,
    /// The latent code maximising the posterior under the known operator; its decoded mean.
    Map,
    /// The MAP code, then per pixel the posterior mean of x given the observation and the
    /// decoder's mean and uncertainty (the default).
    Posterior,
}

impl Method {
    /// Every method, from the cheapest to the default.
    pub const ALL: [Method; 4] = [
        Method::Project,
        Method::Impute,
        Method::Map,
        Method::Posterior,
    ];

    /// The method's name, as `--method` spells it and tables print it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Project => "project",
            Method::Impute => "impute",
            Method::Map => "map",
            Method::Posterior => "posterior",
        }
    }

    /// The method `--method` spells `name`, if any.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The knobs of the methods; `Default` gives what the README documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Adam steps on z, and their learning rate.
    pub map_steps: usize,
    pub map_lr: f32,
    /// The model's own error as a noise level: the latent fit weighs a pixel by
    /// 1 / (sigma^2 + model_sigma^2), since no code reproduces an image exactly.
    pub model_sigma: f32,
    pub impute_steps: usize,
    pub cg_iters: usize,
    pub var: PixelVariance,
    /// Codes drawn around the MAP code for the importance-weighted posterior mean (1: the
    /// MAP code alone), their spread, and the seed of their noise.
    pub samples: usize,
    pub sample_scale: f32,
    pub seed: u64,
    /// The unknown pixels of the observations already hold a fill (see
    /// `restore::denoiser::prefill`): the encoder starts from them instead of a flat fill.
    pub prefilled: bool,
}

impl Settings {
    /// Engine rows a batch of `images` needs: one per drawn code.
    pub fn rows_for(&self, images: usize) -> usize {
        images.saturating_mul(self.samples.max(1))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            map_steps: 150,
            map_lr: 0.05,
            model_sigma: 0.1,
            impute_steps: 20,
            cg_iters: 40,
            var: PixelVariance {
                scale: 1.0,
                floor: 1e-6,
            },
            samples: 1,
            sample_scale: 0.15,
            seed: 1,
            prefilled: false,
        }
    }
}

/// The model error the latent fit assumes for a degradation, tuned on digits never scored
/// (`eval-restore --skip 5000`): exact pixels around a hole want a soft fit (more prior, more
/// plausible fills), a blur with little noise a tight one, noise is indifferent.
pub fn model_sigma_for(d: &Degradation) -> f32 {
    if d.blur.is_some() {
        0.04
    } else if d.mask != Mask::None {
        0.25
    } else {
        0.1
    }
}

/// Observations of a batch of `rows` images of the model's size: values `obs`, precisions
/// `w` (0 = unknown) and the blur, if any.
pub struct Observations<'a> {
    pub obs: &'a [f32],
    pub w: &'a [f32],
    pub psf: Option<&'a Psf>,
}

/// The starting image: the observation where known, elsewhere the mean of the image's known
/// values (0.5 when none is known).
fn initial_fill(obs: &[f32], w: &[f32], d: usize) -> Vec<f32> {
    obs.chunks(d)
        .zip(w.chunks(d))
        .flat_map(|(o, w)| {
            let known: Vec<f32> = o
                .iter()
                .zip(w)
                .filter(|(_, &w)| w > 0.0)
                .map(|(&v, _)| v)
                .collect();
            let fill = if known.is_empty() {
                0.5
            } else {
                known.iter().sum::<f32>() / known.len() as f32
            };
            o.iter()
                .zip(w)
                .map(move |(&v, &w)| if w > 0.0 { v } else { fill })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Restores one batch with each of `methods` (the MAP code is found once and shared by `Map`
/// and `Posterior`); returns one image batch per method, in order.
pub async fn restore_batch(
    engine: &mut dyn Engine,
    methods: &[Method],
    settings: &Settings,
    o: &Observations<'_>,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let model = engine.model().clone();
    let d = model.cfg.input_dim();
    let rows = o.obs.len() / d;
    assert!(
        rows >= 1
            && settings.rows_for(rows) <= engine.rows()
            && o.obs.len() == rows * d
            && o.w.len() == o.obs.len(),
        "a batch of whole images within the engine's rows"
    );
    let r = &model.acts.restore;
    let a = &model.acts;
    let op = match o.psf {
        Some(psf) => {
            engine.write(r.psf, &psf.weights)?;
            Operator::blur(psf)
        }
        None => Operator::IDENTITY,
    };
    engine.write(r.obs, o.obs)?;
    engine.write(r.w, o.w)?;
    let start = if settings.prefilled {
        o.obs.to_vec()
    } else {
        initial_fill(o.obs, o.w, d)
    };
    let mut out = Vec::new();
    let mut map_done = false;
    for &method in methods {
        match method {
            Method::Project | Method::Impute => {
                engine.write(a.x, &start)?;
                engine.run(&model.project(rows), 1, 0)?;
                if method == Method::Project {
                    out.push(engine.read(r.mean, rows * d).await?);
                    continue;
                }
                engine.run(&model.impute_step(rows), settings.impute_steps, 0)?;
                engine.run(&[model.impute_fill(rows)], 1, 0)?;
                out.push(engine.read(a.x, rows * d).await?);
            }
            Method::Map | Method::Posterior => {
                if !map_done {
                    find_map(engine, settings, o, op, &start, rows)?;
                    map_done = true;
                }
                if method == Method::Map {
                    engine.run(&model.decode_mean(rows), 1, 0)?;
                    out.push(engine.read(r.mean, rows * d).await?);
                } else if settings.samples > 1 && o.psf.is_none() {
                    let k = settings.samples;
                    let repeat = |v: &[f32]| -> Vec<f32> {
                        v.chunks(d).flat_map(|img| img.repeat(k)).collect()
                    };
                    engine.write(r.obs, &repeat(o.obs))?;
                    engine.write(r.w, &repeat(o.w))?;
                    let lv = 2.0 * settings.sample_scale.ln();
                    engine.write(a.logvar, &vec![lv; rows * k * model.cfg.latent])?;
                    let program = model.importance_posterior(rows, k, settings.var, settings.seed);
                    engine.run(&program, 1, 0)?;
                    out.push(engine.read(r.u, rows * d).await?);
                    // the MAP code is gone (z now holds the drawn codes)
                    map_done = false;
                    engine.write(r.obs, o.obs)?;
                } else {
                    engine.write(r.w, o.w)?;
                    let program = model.posterior_mean(rows, op, settings.var, settings.cg_iters);
                    engine.run(&program, 1, 0)?;
                    out.push(engine.read(a.x, rows * d).await?);
                }
            }
        }
    }
    Ok(out)
}

/// Leaves the MAP code in z: starts from the encoder's mean of `start`, then Adam on the
/// negative log posterior with the fit's precisions softened by the model's own error.
fn find_map(
    engine: &mut dyn Engine,
    settings: &Settings,
    o: &Observations,
    op: Operator,
    start: &[f32],
    rows: usize,
) -> Result<(), GpuError> {
    let model = engine.model().clone();
    let r = &model.acts.restore;
    let l = model.cfg.latent;
    let s2 = settings.model_sigma * settings.model_sigma;
    let soft: Vec<f32> =
        o.w.iter()
            .map(|&w| if w > 0.0 { 1.0 / (1.0 / w + s2) } else { 0.0 })
            .collect();
    engine.write(r.w, &soft)?;
    engine.write(model.acts.x, start)?;
    engine.write(r.z_m, &vec![0.0; rows * l])?;
    engine.write(r.z_v, &vec![0.0; rows * l])?;
    engine.run(&model.encode_to_latent(rows), 1, 0)?;
    let hp = AdamHyper {
        lr: settings.map_lr,
        ..AdamHyper::default()
    };
    engine.run(&model.map_step(rows, op, &hp), settings.map_steps, 0)
}

/// Restores any number of model-sized observations in batches of the engine's rows; returns
/// per method the restored images, in order. `on_batch` is told how many are done.
pub async fn restore_many(
    engine: &mut dyn Engine,
    methods: &[Method],
    settings: &Settings,
    obs: &[f32],
    w: &[f32],
    psf: Option<&Psf>,
    mut on_batch: impl FnMut(usize),
) -> Result<Vec<Vec<f32>>, GpuError> {
    let d = engine.model().cfg.input_dim();
    let chunk = (engine.rows() / settings.samples.max(1)).max(1) * d;
    let mut out = vec![Vec::with_capacity(obs.len()); methods.len()];
    for (o, w) in obs.chunks(chunk).zip(w.chunks(chunk)) {
        let batch = Observations { obs: o, w, psf };
        for (all, part) in out
            .iter_mut()
            .zip(restore_batch(engine, methods, settings, &batch).await?)
        {
            all.extend(part);
        }
        on_batch(o.len() / d);
    }
    Ok(out)
}

/// The pictures `plans` cut, restored by `method` window by window and stitched, in order.
pub async fn restore_plans(
    engine: &mut dyn Engine,
    plans: &[Plan],
    method: Method,
    settings: &Settings,
    psf: Option<&Psf>,
    mut on_batch: impl FnMut(usize),
) -> Result<Vec<Picture>, GpuError> {
    // a range of windows at a time, a whole number of the engine's batches (so the batches
    // are those of one pass over all windows), each blended in as it comes back: a
    // 12-megapixel photo's windows overlap 16-fold and would not fit in memory at once
    let per_batch = (engine.rows() / settings.samples.max(1)).max(1);
    let range = per_batch * (STREAM_WINDOWS / per_batch).max(1);
    let mut pictures = Vec::with_capacity(plans.len());
    for plan in plans {
        let mut stitcher = plan.stitcher();
        for first in (0..plan.window_count()).step_by(range) {
            let last = (first + range).min(plan.window_count());
            let (obs, w) = plan.cut_range(first..last);
            let restored =
                restore_many(engine, &[method], settings, &obs, &w, psf, &mut on_batch).await?;
            stitcher.add(first, &restored[0]);
        }
        pictures.push(stitcher.finish());
    }
    Ok(pictures)
}

/// Windows cut, restored and blended in at a time by [`restore_plans`] (rounded down to whole
/// engine batches, at least one): 8,192 windows of 12x12 colour are 28 MB of observations and
/// precisions, whatever the batch.
const STREAM_WINDOWS: usize = 8192;
