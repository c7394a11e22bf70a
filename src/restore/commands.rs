//! The handlers of `degrade`, `restore` and `eval-restore`: flags become a [`Degradation`],
//! images become windows, windows go through the methods on the GPU.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::{DamageArgs, DegradeArgs, MethodArg, RestoreArgs};
use crate::data::images::image_files;
use crate::error::UsageError;
use crate::gpu::recorder::GpuActs;
use crate::gpu::GpuContext;
use crate::model::Model;
use crate::picture::Picture;
use crate::progress;
use crate::restore::blur::Psf;
use crate::restore::degrade::{Degradation, Mask, Noise};
use crate::restore::denoiser;
use crate::restore::engine::GpuEngine;
use crate::restore::mask::read_mask;
use crate::restore::methods::{model_sigma_for, restore_many, restore_plans, Method, Settings};
use crate::restore::prior::{load_prior, pixel_variance, settings};
use crate::restore::tiles::Plan;

/// The degradation the flags describe, for an image of `height` x `width`; `missing` adds a
/// random fraction (degrade only).
pub fn damage(
    d: &DamageArgs,
    missing: Option<f32>,
    height: usize,
    width: usize,
) -> Result<Degradation> {
    let noises: Vec<Noise> = [
        d.noise_sigma.map(Noise::Gaussian),
        d.poisson_peak.map(Noise::Poisson),
        d.salt_pepper.map(Noise::SaltPepper),
    ]
    .into_iter()
    .flatten()
    .collect();
    if noises.len() > 1 {
        return Err(usage(
            "give at most one of --noise-sigma, --poisson-peak and --salt-pepper",
        ));
    }
    let mut masks = Vec::new();
    if let Some(path) = &d.mask {
        masks.push(Mask::Pixels(read_mask(path, height, width)?));
    }
    if let Some(r) = d.mask_rect {
        if r[0] >= width || r[1] >= height {
            bail!(
                "--mask-rect {},{},{},{} starts outside the {height}x{width} image",
                r[0],
                r[1],
                r[2],
                r[3]
            );
        }
        masks.push(Mask::Rect(r));
    }
    if let Some(f) = missing {
        masks.push(Mask::Random(f));
    }
    if masks.len() > 1 {
        return Err(usage(
            "give at most one of --mask, --mask-rect and --missing",
        ));
    }
    let blurs: Vec<Psf> = [
        d.blur_sigma.map(|s| Psf::gaussian(s, d.blur_size)),
        d.box_blur.map(Psf::boxed),
        d.motion_blur.map(|(l, a)| Psf::motion(l, a)),
    ]
    .into_iter()
    .flatten()
    .collect::<Result<_, String>>()
    .map_err(UsageError)?;
    if blurs.len() > 1 {
        return Err(usage(
            "give at most one of --blur-sigma, --box-blur and --motion-blur",
        ));
    }
    let deg = Degradation {
        blur: blurs.into_iter().next(),
        noise: noises.into_iter().next().unwrap_or(Noise::None),
        mask: masks.into_iter().next().unwrap_or(Mask::None),
    };
    deg.validate().map_err(UsageError)?;
    Ok(deg)
}

/// Wrong usage (exit status 2).
fn usage(message: &str) -> anyhow::Error {
    UsageError(message.to_string()).into()
}

/// Fails when `output` is the same file as one of `inputs` (it would be overwritten).
fn refuse_same_file(inputs: &[PathBuf], output: &Path) -> Result<()> {
    // only an existing output can be an input; a missing one is the read's error to report
    for i in inputs {
        if output.exists() && crate::output::same_file(i, output) {
            bail!(
                "{}: the output is the input; write somewhere else",
                output.display()
            );
        }
    }
    Ok(())
}

pub fn degrade(a: DegradeArgs) -> Result<()> {
    refuse_same_file(std::slice::from_ref(&a.input), &a.output)?;
    if let Some(m) = &a.mask_out {
        refuse_same_file(std::slice::from_ref(&a.input), m)?;
    }
    let clean = Picture::read(&a.input)?;
    let deg = damage(&a.damage, a.missing, clean.height, clean.width)?;
    let (y, missing) = deg.apply(&clean, a.seed).map_err(anyhow::Error::msg)?;
    let mask = a.mask_out.as_ref().map(|m| {
        let data = missing.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
        (Picture::new(1, clean.height, clean.width, data), m)
    });
    // both encoded before either is written: a bad extension leaves neither
    let mut outputs = vec![(&y, a.output.as_path())];
    outputs.extend(mask.as_ref().map(|(p, m)| (p, m.as_path())));
    crate::picture::write_all(&outputs)?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

pub(crate) fn method(m: MethodArg) -> Method {
    match m {
        MethodArg::Posterior => Method::Posterior,
        MethodArg::Map => Method::Map,
        MethodArg::Impute => Method::Impute,
        MethodArg::Project => Method::Project,
    }
}

/// The input files and where each restored image goes: one file to `output`, or several (or a
/// folder's) into the folder `output`, names kept. Reads the input folder; creates nothing.
pub fn destinations(inputs: &[PathBuf], output: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let folder_in = inputs.len() == 1 && inputs[0].is_dir();
    let files = if folder_in {
        let files = image_files(&inputs[0])?;
        if files.is_empty() {
            bail!("{}: no PNG or JPEG images", inputs[0].display());
        }
        files
    } else {
        inputs.to_vec()
    };
    if !folder_in && files.len() == 1 {
        if output.is_dir() {
            bail!("{}: is a folder; name the output file", output.display());
        }
        return Ok(vec![(files[0].clone(), output.to_path_buf())]);
    }
    // the folder is created when the first image is written, so a refused run leaves none
    if output.exists() && !output.is_dir() {
        bail!(
            "{}: not a folder; several images go into a folder",
            output.display()
        );
    }
    let pairs: Vec<(PathBuf, PathBuf)> = files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap_or_default();
            (f.clone(), output.join(name))
        })
        .collect();
    let mut names: Vec<_> = pairs.iter().map(|(_, o)| o.clone()).collect();
    names.sort();
    names.dedup();
    if names.len() != pairs.len() {
        bail!("two inputs have the same file name; their outputs would collide");
    }
    Ok(pairs)
}

pub fn restore(ctx: &GpuContext, a: RestoreArgs) -> Result<()> {
    let d = &a.damage;
    let told = d.noise_sigma.is_some()
        || d.poisson_peak.is_some()
        || d.salt_pepper.is_some()
        || d.mask.is_some()
        || d.mask_rect.is_some()
        || d.blur_sigma.is_some()
        || d.box_blur.is_some()
        || d.motion_blur.is_some();
    if !told {
        return Err(usage("say what damage to undo: --noise-sigma, --poisson-peak, --salt-pepper, --mask, --mask-rect, --blur-sigma, --box-blur or --motion-blur"));
    }
    let pairs = destinations(&a.input, &a.output)?;
    for (i, o) in &pairs {
        refuse_same_file(std::slice::from_ref(i), o)?;
    }
    let (path, meta, params) = load_prior(a.model.as_deref())?;
    let model = Model::new(&meta.config).map_err(anyhow::Error::msg)?;
    let mut settings = settings(&a.knobs, &meta, &params, &model)?;
    settings.prefilled = denoiser::is_denoiser(&meta);
    let cfg = &model.cfg;
    let method = method(a.method);
    // every image read and cut before any GPU work, so a bad file fails early
    let mut plans = Vec::with_capacity(pairs.len());
    let mut psf = None;
    let mut observed = Vec::with_capacity(pairs.len());
    for (input, _) in &pairs {
        let y = Picture::read(input)?;
        let deg = damage(&a.damage, None, y.height, y.width)
            .with_context(|| format!("{}", input.display()))?;
        let missing = deg
            .known_missing(y.height, y.width)
            .map_err(anyhow::Error::msg)?;
        let prec = deg.precision(&y, &missing);
        let filled = settings
            .prefilled
            .then(|| denoiser::prefill(&y, &prec))
            .flatten();
        let plan = Plan::with_step(
            filled.as_ref().unwrap_or(&y),
            &prec,
            cfg.channels,
            cfg.height,
            cfg.width,
            a.knobs.window_step.or(denoiser::default_window_step(&meta)),
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
        psf = deg.blur.clone();
        if a.knobs.model_sigma.is_none() {
            settings.model_sigma = model_sigma_for(&deg);
        }
        plans.push(plan);
        observed.push((y, prec));
    }
    let (run, local) = denoiser::window_method(&meta, method, psf.is_some());
    let windows: usize = plans.iter().map(Plan::window_count).sum();
    let rows = a.knobs.batch.min(windows);
    let samples = settings.samples.max(1);
    GpuActs::check(ctx, &model, settings.rows_for(rows), |max| {
        format!(
            "{rows} window(s) at once x --samples {samples}: lower --batch or --samples so \
             that their product is at most {max}"
        )
    })?;
    let mut engine = GpuEngine::new(ctx, &model, &params, settings.rows_for(rows))?;
    eprintln!(
        "restoring {} image(s) ({windows} window(s) of {}x{}) with {} ({}), {}",
        pairs.len(),
        cfg.height,
        cfg.width,
        path.display(),
        method.name(),
        ctx.info.name
    );
    let bar = progress::bar(windows as u64, "windows");
    let restored = restore_plans(&mut engine, &plans, run, &settings, psf.as_ref(), |n| {
        bar.inc(n as u64)
    })?;
    bar.finish_and_clear();
    if pairs.first().is_some_and(|(_, o)| o != &a.output) {
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("cannot create the output folder {}", a.output.display()))?;
    }
    for ((mut out, (_, output)), (y, prec)) in restored.into_iter().zip(&pairs).zip(&observed) {
        if local {
            out = denoiser::local_blend(y, prec, &out, model.mean_kind());
        }
        out.write(output)?;
        eprintln!("wrote {}", output.display());
    }
    Ok(())
}

/// `enhance --vae-refine K`: `picture` restored as if degraded by Gaussian noise of `sigma`,
/// with the posterior method averaging K importance-weighted codes per window.
pub fn refine(
    ctx: &GpuContext,
    picture: &Picture,
    model: Option<&Path>,
    k: usize,
    sigma: f32,
) -> Result<Picture> {
    if !(sigma.is_finite() && sigma > 0.0) {
        bail!("--refine-sigma must be a positive number, not {sigma}");
    }
    let (_, meta, params) = load_prior(model)?;
    let model = Model::new(&meta.config).map_err(anyhow::Error::msg)?;
    let deg = Degradation {
        noise: Noise::Gaussian(sigma),
        ..Degradation::none()
    };
    let missing = vec![false; picture.height * picture.width];
    let prec = deg.precision(picture, &missing);
    let cfg = &model.cfg;
    let plan = Plan::new(picture, &prec, cfg.channels, cfg.height, cfg.width)
        .map_err(anyhow::Error::msg)?;
    let settings = Settings {
        samples: k,
        model_sigma: model_sigma_for(&deg),
        var: pixel_variance(&meta, &params, &model, None),
        ..Settings::default()
    };
    let (obs, w) = plan.cut();
    let windows = plan.window_count().min(256);
    let rows = settings.rows_for(windows);
    GpuActs::check(ctx, &model, rows, |max| {
        format!(
            "{windows} windows at once, each with --vae-refine {k} codes: lower --vae-refine to \
             {} or less",
            (max / windows).max(1)
        )
    })?;
    let mut engine = GpuEngine::new(ctx, &model, &params, rows)?;
    let restored = restore_many(
        &mut engine,
        &[Method::Posterior],
        &settings,
        &obs,
        &w,
        None,
        |_| {},
    )?
    .remove(0);
    Ok(plan.stitch(&restored))
}
