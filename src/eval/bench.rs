//! `wgvae bench restore`: restored images per second for each method at a batch size, on
//! embedded test digits with Gaussian noise 0.1 (or the model's size in flat grey, for other
//! models), and the wall time of one large picture restored as `wgvae restore` restores it.

use web_time::Instant;

use serde::Serialize;

use crate::error::GpuError;
use crate::gpu::blocking;
use crate::gpu::GpuContext;
use crate::model::Model;
use crate::picture::Picture;
use crate::restore::degrade::{Degradation, Noise};
use crate::restore::engine::GpuEngine;
use crate::restore::methods::{restore_many, Method, Settings};
use crate::restore::{Prior, RestoreError, RestoreOptions, RestoreProgress, Restorer};

/// One method's speed at one batch size: `images` restored in `seconds` of wall time.
#[derive(Debug, Serialize)]
pub struct RestoreRate {
    pub method: String,
    pub batch: usize,
    pub images: usize,
    pub seconds: f64,
    pub images_per_sec: f64,
}

fn noisy(cfg: &crate::config::ModelConfig, n: usize) -> (Vec<f32>, Vec<f32>) {
    let d = cfg.input_dim();
    let deg = Degradation {
        noise: Noise::Gaussian(0.1),
        ..Degradation::none()
    };
    let (mut obs, mut w) = (Vec::new(), Vec::new());
    for i in 0..n {
        let data = (0..d)
            .map(|j| ((i * 7 + j * 13) % 29) as f32 / 28.0)
            .collect();
        let clean = Picture::new(cfg.channels, cfg.height, cfg.width, data);
        let (y, missing) = deg.apply(&clean, i as u64).expect("a valid level");
        w.extend(deg.precision(&y, &missing));
        obs.extend(y.data);
    }
    (obs, w)
}

/// Each method at each batch size on up to `images` images (16 batches at most, one at least).
pub fn rates(
    ctx: &GpuContext,
    model: &Model,
    params: &[f32],
    settings: &Settings,
    batches: &[usize],
    images: usize,
) -> Result<Vec<RestoreRate>, GpuError> {
    let mut out = Vec::new();
    for &batch in batches {
        // small batches on fewer images: the rate, not the total, is measured
        let n = (batch * 16).min(images.max(batch));
        let (obs, w) = noisy(&model.cfg, n);
        let mut engine = GpuEngine::new(ctx, model, params, settings.rows_for(batch))?;
        // one warm-up batch compiles every pipeline
        let d = model.cfg.input_dim();
        blocking::wait(restore_many(
            &mut engine,
            &Method::ALL,
            settings,
            &obs[..d],
            &w[..d],
            None,
            |_| {},
        ))??;
        for m in Method::ALL {
            let began = Instant::now();
            blocking::wait(restore_many(
                &mut engine,
                &[m],
                settings,
                &obs,
                &w,
                None,
                |_| {},
            ))??;
            let seconds = began.elapsed().as_secs_f64();
            out.push(RestoreRate {
                method: m.name().into(),
                batch,
                images: n,
                seconds,
                images_per_sec: n as f64 / seconds,
            });
        }
    }
    Ok(out)
}

/// Seconds to restore one `side` x `side` picture in the model's colours (Gaussian noise 0.1)
/// as `wgvae restore` does, the model's own defaults included (a denoising VAE's windows a
/// quarter apart and local blend, another model's posterior with MAP steps), and the number of
/// windows.
pub fn tiled_seconds(
    ctx: &GpuContext,
    prior: &Prior,
    side: usize,
) -> Result<(f64, usize), RestoreError> {
    let deg = Degradation {
        noise: Noise::Gaussian(0.1),
        ..Degradation::none()
    };
    let c = prior.model.cfg.channels;
    let data = (0..c * side * side)
        .map(|i| (((i % side) / 16 + (i / side) / 16) % 2) as f32 * 0.8 + 0.1)
        .collect();
    let clean = Picture::new(c, side, side, data);
    let (y, _) = deg.apply(&clean, 1).expect("a valid level");
    let began = Instant::now();
    let mut windows = 0;
    Restorer::new(ctx, prior.clone()).restore_all(
        &[(&y, &deg)],
        &RestoreOptions::default(),
        |p| {
            if let RestoreProgress::Started { windows: w } = p {
                windows = w;
            }
        },
    )?;
    Ok((began.elapsed().as_secs_f64(), windows))
}
