//! The handlers of `degrade`, `restore` and `eval-restore`: flags become a [`Degradation`]
//! and the library's options here, and the library's [`Restorer`] does the work.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use wgvae::data::images::image_files;
use wgvae::error::UsageError;
use wgvae::eval::{self, EvalObserver, EvalOptions};
use wgvae::gpu::GpuContext;
use wgvae::picture::Picture;
use wgvae::restore::degrade::Degradation;
use wgvae::restore::mask::read_mask;
use wgvae::restore::methods::Method;
use wgvae::restore::prior::ModelSource;
use wgvae::restore::request::{model_for, DamageSpec};
use wgvae::restore::{metrics, noise_level};
use wgvae::restore::{
    MethodOptions, Prior, RestoreError, RestoreOptions, RestoreProgress, Restorer,
};

use crate::cli::args::{
    ColorArg, CompareArgs, DamageArgs, DegradeArgs, EstimateNoiseArgs, EvalRestoreArgs, MethodArg,
    MethodArgs, RestoreArgs,
};
use crate::cli::progress;

/// The damage the flags describe, as the library takes it; a `--mask` file is read and
/// checked against the `height` x `width` picture.
pub fn damage_spec(d: &DamageArgs, height: usize, width: usize) -> Result<DamageSpec> {
    let mask = match &d.mask {
        Some(path) => Some(read_mask(path, height, width)?),
        None => None,
    };
    Ok(DamageSpec {
        noise_sigma: d.noise_sigma,
        poisson_peak: d.poisson_peak,
        salt_pepper: d.salt_pepper,
        mask,
        mask_rect: d.mask_rect,
        blur_sigma: d.blur_sigma.map(|s| (s, d.blur_size)),
        box_blur: d.box_blur,
        motion_blur: d.motion_blur,
    })
}

/// The degradation the flags describe, for an image of `height` x `width`; `missing` adds a
/// random fraction (degrade only).
pub fn damage(
    d: &DamageArgs,
    missing: Option<f32>,
    height: usize,
    width: usize,
    estimated_sigma: Option<f32>,
) -> Result<Degradation> {
    damage_spec(d, height, width)?
        .degradation(height, width, estimated_sigma, missing)
        .map_err(cli_error)
}

/// A restoration's error as the command reports it: wrong usage exits 2.
fn cli_error(e: RestoreError) -> anyhow::Error {
    match e {
        RestoreError::Usage(m) => usage(&m),
        e => anyhow::anyhow!("{e}"),
    }
}

/// Wrong usage (exit status 2).
fn usage(message: &str) -> anyhow::Error {
    UsageError(message.to_string()).into()
}

/// Fails when `output` is the same file as one of `inputs` (it would be overwritten).
fn refuse_same_file(inputs: &[PathBuf], output: &Path) -> Result<()> {
    // only an existing output can be an input; a missing one is the read's error to report
    for i in inputs {
        if output.exists() && wgvae::atomic_file::same_file(i, output) {
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
    let deg = damage(&a.damage, a.missing, clean.height, clean.width, None)?;
    let (y, missing) = deg.apply(&clean, a.seed).map_err(anyhow::Error::msg)?;
    let mask = a.mask_out.as_ref().map(|m| {
        let data = missing.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
        (Picture::new(1, clean.height, clean.width, data), m)
    });
    // both encoded before either is written: a bad extension leaves neither
    let mut outputs = vec![(&y, a.output.as_path())];
    outputs.extend(mask.as_ref().map(|(p, m)| (p, m.as_path())));
    wgvae::picture::write_all(&outputs)?;
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
    let pairs = destinations(&a.input, &a.output)?;
    for (i, o) in &pairs {
        refuse_same_file(std::slice::from_ref(i), o)?;
    }
    let options = RestoreOptions {
        method: method(a.method),
        knobs: knobs(&a.knobs),
    };
    // every image read, its damage checked and its model chosen before any GPU work, so a bad
    // file fails early
    let mut observed = Vec::with_capacity(pairs.len());
    for (input, _) in &pairs {
        let y = Picture::read(input)?;
        // nothing described: a noisy photo whose level nobody knows, the common case
        let (deg, estimate) = damage_spec(&a.damage, y.height, y.width)
            .and_then(|spec| spec.restoring(&y).map_err(cli_error))
            .with_context(|| format!("{}", input.display()))?;
        if let Some(sigma) = estimate {
            eprintln!(
                "{}: noise sigma {sigma:.4} ({:.1} on 0-255), estimated (Immerkaer's \
                 estimator over the flattest blocks)",
                input.display(),
                sigma * 255.0
            );
        }
        let (source, why) = model_for(a.model.as_ref(), &y);
        if let Some(why) = why {
            eprintln!(
                "{}: model {} ({why}; --model picks another)",
                input.display(),
                source
            );
        }
        observed.push((y, deg, source));
    }
    // one restorer per model, the pictures of each in shared GPU batches
    let mut sources: Vec<&ModelSource> = Vec::new();
    for (_, _, source) in &observed {
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    let mut restored: Vec<Option<Picture>> = vec![None; observed.len()];
    for source in sources {
        let restorer = Restorer::new(ctx, Prior::from_source(source)?);
        let indices: Vec<usize> = (0..observed.len())
            .filter(|&i| &observed[i].2 == source)
            .collect();
        let jobs: Vec<(&Picture, &Degradation)> = indices
            .iter()
            .map(|&i| (&observed[i].0, &observed[i].1))
            .collect();
        let prior = restorer.prior();
        let cfg = &prior.model.cfg;
        let mut bar = None;
        let mut count = 0;
        let started = std::time::Instant::now();
        let outs = restorer
            .restore_all(&jobs, &options, |p| match p {
                RestoreProgress::Started { windows } => {
                    count = windows;
                    eprintln!(
                        "restoring {} image(s) ({windows} window(s) of {}x{}) with {} ({}), {}",
                        jobs.len(),
                        cfg.height,
                        cfg.width,
                        prior.name.display(),
                        options.method.name(),
                        ctx.info.name
                    );
                    bar = Some(progress::bar(windows as u64, "windows"));
                }
                RestoreProgress::Windows(n) => {
                    if let Some(bar) = &bar {
                        bar.inc(n as u64)
                    }
                }
            })
            .map_err(|e| match e {
                RestoreError::Usage(m) => usage(&m),
                RestoreError::Picture { index, message } => {
                    anyhow::anyhow!("{}: {message}", pairs[indices[index]].0.display())
                }
                e => e.into(),
            })?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "restored {count} window(s) in {seconds:.1} s ({:.0} windows/s)",
            count as f64 / seconds.max(1e-9)
        );
        for (i, out) in indices.into_iter().zip(outs) {
            restored[i] = Some(out);
        }
    }
    if pairs.first().is_some_and(|(_, o)| o != &a.output) {
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("cannot create the output folder {}", a.output.display()))?;
    }
    for (out, (_, output)) in restored.into_iter().zip(&pairs) {
        out.expect("every picture restored")
            .write_with_quality(output, a.quality)?;
        eprintln!("wrote {}", output.display());
    }
    Ok(())
}

/// `compare`: each picture's PSNR and SSIM against the reference (8-bit values as read).
pub fn compare(a: CompareArgs) -> Result<()> {
    let reference = Picture::read(&a.reference)?;
    for path in &a.pictures {
        let p = Picture::read(path)?;
        if (p.channels, p.height, p.width)
            != (reference.channels, reference.height, reference.width)
        {
            bail!(
                "{}: {}x{} with {} channel(s), the reference {} is {}x{} with {}",
                path.display(),
                p.width,
                p.height,
                p.channels,
                a.reference.display(),
                reference.width,
                reference.height,
                reference.channels
            );
        }
        let psnr = metrics::psnr(&reference.data, &p.data);
        let ssim =
            metrics::ssim_multichannel(&reference.data, &p.data, p.channels, p.height, p.width);
        if a.json {
            // JSON has no infinity: identical pictures give "psnr": null, "identical": true
            let line = serde_json::json!({
                "file": path.display().to_string(),
                "psnr": psnr.is_finite().then_some(psnr),
                "ssim": ssim,
                "identical": p.data == reference.data,
            });
            println!("{line}");
        } else {
            println!("{}: PSNR {psnr:.2} dB, SSIM {ssim:.4}", path.display());
        }
    }
    Ok(())
}

/// `estimate-noise`: each picture's estimated Gaussian noise level, overall and per channel.
pub fn estimate_noise(a: EstimateNoiseArgs) -> Result<()> {
    for input in &a.input {
        let picture = Picture::read(input)?;
        let channels = noise_level::channel_sigmas(&picture);
        let sigma = noise_level::picture_sigma(&channels);
        if a.json {
            let line = serde_json::json!({
                "file": input.display().to_string(),
                "sigma": sigma,
                "channels": channels,
            });
            println!("{line}");
        } else {
            let per: Vec<String> = channels.iter().map(|s| format!("{s:.4}")).collect();
            println!(
                "{}: sigma {sigma:.4} ({:.1} on 0-255); channels {}",
                input.display(),
                sigma * 255.0,
                per.join(" ")
            );
        }
    }
    Ok(())
}

/// The methods' knobs as the library takes them.
pub fn knobs(k: &MethodArgs) -> MethodOptions {
    MethodOptions {
        steps: k.steps,
        step_lr: k.step_lr,
        model_sigma: k.model_sigma,
        var_scale: k.var_scale,
        samples: k.samples,
        sample_scale: k.sample_scale,
        window_step: k.window_step,
        batch: k.batch,
    }
}

/// `enhance --vae-refine K` with the prior `model` (None: chosen by the picture, as restore
/// chooses).
pub fn refine(
    ctx: &GpuContext,
    picture: &Picture,
    model: Option<&ModelSource>,
    k: usize,
    sigma: f32,
) -> Result<Picture> {
    let (source, why) = model_for(model, picture);
    if let Some(why) = why {
        eprintln!("--vae-refine: model {source} ({why})");
    }
    let restorer = Restorer::new(ctx, Prior::from_source(&source)?);
    Ok(restorer.refine(picture, k, sigma)?)
}

/// `eval-restore`: the flags as the library's options, its notes and case lines on stderr with
/// a bar per case, the table and what was written on stdout.
pub fn eval_restore(ctx: &GpuContext, a: EvalRestoreArgs) -> Result<()> {
    let options = EvalOptions {
        model: a.model,
        data: a.data,
        n: a.n,
        skip: a.skip,
        val: a.val,
        cases: a.cases,
        out: a.out,
        seed: a.seed,
        baselines: !a.no_baselines,
        photos: a.photos,
        keep_inputs: a.keep_inputs,
        method: method(a.method),
        channels: a.color.map(|c| match c {
            ColorArg::Grey => 1,
            ColorArg::Rgb => 3,
        }),
        knobs: knobs(&a.knobs),
    };
    let summary = eval::eval_restore(ctx, &options, &mut EvalBars(None))?;
    println!("{}", summary.table);
    println!("{}", summary.written);
    Ok(())
}

/// The benchmark's progress on stderr: a bar per case.
struct EvalBars(Option<indicatif::ProgressBar>);

impl EvalObserver for EvalBars {
    fn note(&mut self, line: &str) {
        eprintln!("{line}");
    }

    fn case_started(&mut self, name: &str, units: u64) {
        self.0 = Some(progress::bar(units, name));
    }

    fn advance(&mut self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn case_done(&mut self, line: &str) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
        eprintln!("{line}");
    }
}
