//! `eval-restore`: each degradation of [`cases`] applied to held-out images (seeded, stored as
//! 8-bit as a user has them), restored by every method and baseline, scored by PSNR and SSIM.
//! Whatever is tuned (the baselines' parameters, the decoder's variance scale) is tuned on a
//! separate validation slice, never on the scored images.

use crate::error::GpuError;
use crate::eval::cases::Case;
use crate::gpu::blocking;
use crate::model::op::MeanKind;
use crate::picture::Picture;
use crate::restore::engine::Engine;
use crate::restore::methods::{restore_many, Method, Settings};

/// One degraded set: the 8-bit observations and restoration's precisions, flattened.
pub struct Degraded {
    pub pictures: Vec<Picture>,
    pub obs: Vec<f32>,
    pub w: Vec<f32>,
}

impl Degraded {
    /// Each observed picture with its precisions (its slice of `w`, in the picture's layout).
    pub fn with_precisions(&self) -> impl Iterator<Item = (&Picture, &[f32])> {
        let mut at = 0;
        self.pictures.iter().map(move |y| {
            at += y.data.len();
            (y, &self.w[at - y.data.len()..at])
        })
    }
}

/// `case` applied to every image, image `i` seeded with `seed + i`, then quantised to 8 bits.
pub fn degrade_all(case: &Case, clean: &[Picture], seed: u64) -> Result<Degraded, String> {
    let mut out = Degraded {
        pictures: Vec::with_capacity(clean.len()),
        obs: Vec::new(),
        w: Vec::new(),
    };
    for (i, img) in clean.iter().enumerate() {
        let (y, missing) = case.degradation.apply(img, seed.wrapping_add(i as u64))?;
        let y = y.quantised();
        out.w.extend(case.degradation.precision(&y, &missing));
        out.obs.extend_from_slice(&y.data);
        out.pictures.push(y);
    }
    Ok(out)
}

/// The decoder's variance scale fitted on clean images: sum (x - mean)^2 / sum shape(mean),
/// shape = mean (1 - mean) for a Bernoulli decoder and 1 for a Gaussian one, the means being
/// the encode-decode reconstructions of `clean`.
pub fn fit_var_scale(engine: &mut dyn Engine, clean: &[Picture]) -> Result<f32, GpuError> {
    let x: Vec<f32> = clean.iter().flat_map(|p| p.data.iter().copied()).collect();
    let w = vec![1.0; x.len()];
    let kind = engine.model().mean_kind();
    let mean = blocking::wait(restore_many(
        engine,
        &[Method::Project],
        &Settings {
            samples: 1,
            ..Settings::default()
        },
        &x,
        &w,
        None,
        |_| {},
    ))??
    .remove(0);
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&x, &m) in x.iter().zip(&mean) {
        num += ((x - m) as f64).powi(2);
        den += match kind {
            MeanKind::Sigmoid => (m * (1.0 - m)) as f64,
            MeanKind::Identity => 1.0,
        };
    }
    Ok((num / den.max(1e-12)) as f32)
}

/// The restored images of `methods` for one degraded set, as pictures shaped like `like`.
pub fn restore_set(
    engine: &mut dyn Engine,
    methods: &[Method],
    settings: &Settings,
    case: &Case,
    set: &Degraded,
    on_batch: impl FnMut(usize),
) -> Result<Vec<Vec<Picture>>, GpuError> {
    let like = &set.pictures[0];
    let flat = blocking::wait(restore_many(
        engine,
        methods,
        settings,
        &set.obs,
        &set.w,
        case.degradation.blur.as_ref(),
        on_batch,
    ))??;
    let d = like.data.len();
    Ok(flat
        .into_iter()
        .map(|images| {
            images
                .chunks(d)
                .map(|c| Picture::new(like.channels, like.height, like.width, c.to_vec()))
                .collect()
        })
        .collect())
}

/// Images the variance scale is fitted on at the end of training.
pub const CALIBRATION_IMAGES: usize = 1000;

/// Fits the decoder's variance scale of the checkpoint at `path` on up to
/// [`CALIBRATION_IMAGES`] clean test images (or training patches, for a patch model, whose test
/// photos are what the photo benchmark scores) and stores it
/// in the checkpoint's metadata (rewritten atomically); returns it.
pub fn calibrate_checkpoint(
    ctx: &crate::gpu::GpuContext,
    path: &std::path::Path,
    data: Option<&std::path::Path>,
    patch: bool,
    seed: u64,
) -> anyhow::Result<f32> {
    use crate::checkpoint;
    use crate::data::{load_split, Split};
    use crate::restore::engine::GpuEngine;
    let (mut meta, params) = checkpoint::load_model(path, None)?;
    let model = crate::model::Model::new(&meta.config).map_err(anyhow::Error::msg)?;
    let cfg = &model.cfg;
    let set = if patch {
        crate::train::data::calibration_patches(data, cfg.channels, cfg.height, seed)?
    } else {
        load_split(data, Split::Test, cfg.height, cfg.width, cfg.channels)?
    };
    let n = set.count.min(CALIBRATION_IMAGES);
    let clean: Vec<Picture> = (0..n)
        .map(|i| {
            let px = set.image(i).iter().map(|&v| v as f32 / 255.0).collect();
            Picture::new(cfg.channels, cfg.height, cfg.width, px)
        })
        .collect();
    let mut engine = GpuEngine::new(ctx, &model, &params, n.clamp(1, 256))?;
    let c = fit_var_scale(&mut engine, &clean)?;
    meta.pixel_var_scale = Some(c);
    checkpoint::save_model(path, &meta, &params)?;
    Ok(c)
}
