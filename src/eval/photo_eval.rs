//! `eval-restore --photos DIR`: the photo benchmark. Every photo of `DIR/test` is damaged whole
//! (seeded, stored as 8-bit as a user has it), restored through the overlapping windows
//! `restore` uses, and scored whole; the classical baselines' parameters and the decoder's
//! variance scale are tuned on crops of the `DIR/train` photos, never on a scored photo.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::ModelConfig;
use crate::data::images::{decode, image_files};
use crate::eval::cases::{photo_cases, Case};
use crate::eval::evaluate::{degrade_all, fit_var_scale, Degraded};
use crate::eval::table::{case_line, score_baselines, write_tables, Score};
use crate::eval::{EvalObserver, EvalOptions, EvalSummary};
use crate::gpu::blocking;
use crate::gpu::GpuContext;
use crate::model::op::MeanKind;
use crate::picture::{write_all, Picture};
use crate::restore::denoiser;
use crate::restore::engine::GpuEngine;
use crate::restore::methods::{model_sigma_for, restore_plans};
use crate::restore::prior::{load_prior, settings};
use crate::restore::tiles::Plan;

/// The side of the tuning crops cut from the middle of each training photo.
const TUNING_CROP: usize = 128;

/// The side of the crops the strip shows (from the middle of the first test photo).
const STRIP_CROP: usize = 160;

/// The photos of `dir`, sorted by name, read at `channels` (colour to grey by luma).
fn read_photos(dir: &Path, channels: usize) -> Result<Vec<(PathBuf, Picture)>> {
    let files = image_files(dir)?;
    if files.is_empty() {
        bail!("{}: no images", dir.display());
    }
    files
        .into_iter()
        .map(|f| {
            let img = decode(&f)?;
            let p = Picture::from_image(&img, channels);
            Ok((f, p))
        })
        .collect()
}

/// The `h` x `w` rectangle of `p` whose top-left pixel is (y, x).
fn crop(p: &Picture, y: usize, x: usize, h: usize, w: usize) -> Picture {
    let mut data = Vec::with_capacity(p.channels * h * w);
    for c in 0..p.channels {
        let plane = p.plane(c);
        for r in y..y + h {
            data.extend_from_slice(&plane[r * p.width + x..r * p.width + x + w]);
        }
    }
    Picture::new(p.channels, h, w, data)
}

/// The `side` x `side` middle of `p` (all of it along a shorter axis).
fn middle(p: &Picture, side: usize) -> Picture {
    let (h, w) = (side.min(p.height), side.min(p.width));
    crop(p, (p.height - h) / 2, (p.width - w) / 2, h, w)
}

/// The windows of every picture of `set` for a `cfg`-shaped model, `step` pixels apart.
/// With `prefill` (a denoising VAE), unknown pixels are first filled ([`denoiser::prefill`]).
fn plan_all(
    set: &Degraded,
    cfg: &ModelConfig,
    step: Option<usize>,
    prefill: bool,
) -> Result<Vec<Plan>> {
    set.with_precisions()
        .map(|(y, w)| {
            let filled = prefill.then(|| denoiser::prefill(y, w)).flatten();
            Plan::with_step(
                filled.as_ref().unwrap_or(y),
                w,
                cfg.channels,
                cfg.height,
                cfg.width,
                step,
            )
            .map_err(anyhow::Error::msg)
        })
        .collect()
}

/// [`denoiser::local_blend`] of each observed picture of `set` with its reconstruction.
fn blend_all(set: &Degraded, mu: &[Picture], kind: MeanKind) -> Vec<Picture> {
    set.with_precisions()
        .zip(mu)
        .map(|((y, w), m)| denoiser::local_blend(y, w, m, kind))
        .collect()
}

/// `pictures` as a model of `channels` reads them: a colour picture's channels one by one for a
/// grey model, otherwise as they are.
fn as_model_sees(pictures: &[Picture], channels: usize) -> Vec<Picture> {
    pictures
        .iter()
        .flat_map(|p| {
            if p.channels == channels {
                vec![p.clone()]
            } else {
                (0..p.channels)
                    .map(|c| Picture::new(1, p.height, p.width, p.plane(c).to_vec()))
                    .collect()
            }
        })
        .collect()
}

/// Non-overlapping model-size windows of `pictures`, for fitting the variance scale.
fn windows_of(pictures: &[Picture], h: usize, w: usize) -> Vec<Picture> {
    let mut out = Vec::new();
    for p in pictures.iter().filter(|p| p.height >= h && p.width >= w) {
        for y in (0..=p.height - h).step_by(h) {
            for x in (0..=p.width - w).step_by(w) {
                out.push(crop(p, y, x, h, w));
            }
        }
    }
    out
}

/// A file-name-safe form of a case's name ("noise 25" -> "noise-25").
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The photo benchmark on the photos of `dir/test`, tuned on crops of `dir/train`.
pub fn eval_photos(
    ctx: &GpuContext,
    a: &EvalOptions,
    dir: &Path,
    observer: &mut dyn EvalObserver,
) -> Result<EvalSummary> {
    let prior = load_prior(a.model.as_ref())?;
    let (meta, params, model) = (&prior.meta, &prior.params, &prior.model);
    let cfg = model.cfg.clone();
    let mut settings = settings(&a.knobs, &prior)?;
    settings.prefilled = denoiser::is_denoiser(meta);
    let channels = a.channels.unwrap_or(cfg.channels);
    if channels == 1 && cfg.channels == 3 {
        bail!("--color grey with an RGB model: score grey photos with a grey model");
    }
    let test: Vec<(PathBuf, Picture)> = read_photos(&dir.join("test"), channels)
        .with_context(|| format!("{}: the photos scored", dir.display()))?
        .into_iter()
        .take(a.n)
        .collect();
    let train = read_photos(&dir.join("train"), channels)
        .with_context(|| format!("{}: the photos tuned on", dir.display()))?;
    let scored: Vec<Picture> = test.iter().map(|(_, p)| p.clone()).collect();
    let val: Vec<Picture> = train.iter().map(|(_, p)| middle(p, TUNING_CROP)).collect();
    let cases: Vec<Case> = photo_cases()
        .into_iter()
        .filter(|c| a.cases.is_empty() || a.cases.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        bail!("no case matches --cases {:?}", a.cases);
    }
    let mut engine = GpuEngine::new(ctx, model, params, settings.rows_for(a.knobs.batch))?;
    if a.knobs.var_scale.is_none() {
        let windows = windows_of(&as_model_sees(&val, cfg.channels), cfg.height, cfg.width);
        let c = fit_var_scale(&mut engine, &windows)?;
        settings.var.scale = c;
        observer.note(&format!(
            "decoder variance scale fitted on {} windows of the training photos' crops: {c:.4}",
            windows.len()
        ));
    }
    observer.note(&format!(
        "scoring {} case(s) on {} photo(s) of {} ({} tuning crops) with {} on {}",
        cases.len(),
        scored.len(),
        dir.join("test").display(),
        val.len(),
        prior.name.display(),
        ctx.info.name
    ));
    let chosen = a.method;
    let mut scores = Vec::new();
    let mut strip: Vec<Vec<Option<Picture>>> = Vec::new();
    let mut kept: Vec<(Picture, PathBuf)> = Vec::new();
    for case in &cases {
        let set = degrade_all(case, &scored, a.seed).map_err(anyhow::Error::msg)?;
        scores.push(Score::of(case, "degraded", &scored, &set.pictures, None));
        if a.knobs.model_sigma.is_none() {
            settings.model_sigma = model_sigma_for(&case.degradation);
        }
        let step = a.knobs.window_step.or(denoiser::default_window_step(meta));
        let plans = plan_all(&set, &cfg, step, settings.prefilled)?;
        let windows: usize = plans.iter().map(Plan::window_count).sum();
        observer.case_started(&case.name, windows as u64);
        let blur = case.degradation.blur.is_some();
        let (run, local) = denoiser::window_method(meta, chosen, blur);
        let psf = case.degradation.blur.as_ref();
        let mut restored = blocking::wait(restore_plans(
            &mut engine,
            &plans,
            run,
            &settings,
            psf,
            |n| observer.advance(n as u64),
        ))??;
        if local {
            restored = blend_all(&set, &restored, model.mean_kind());
        }
        scores.push(Score::of(case, chosen.name(), &scored, &restored, None));
        let crop = |p: &Picture| Some(middle(p, STRIP_CROP));
        let mut row = vec![crop(&scored[0]), crop(&set.pictures[0]), crop(&restored[0])];
        if a.baselines {
            let firsts = score_baselines(case, &val, &scored, &set, a.seed, &mut scores)?;
            row.extend(firsts.iter().map(crop));
        }
        if a.keep_inputs {
            let folder = a.out.join("inputs").join(slug(&case.name));
            for ((file, _), y) in test.iter().zip(&set.pictures) {
                kept.push((y.clone(), folder.join(png_name(file))));
            }
        }
        observer.case_done(&case_line(&scores, &case.name));
        strip.push(row);
    }
    if a.keep_inputs {
        for ((file, _), clean) in test.iter().zip(&scored) {
            kept.push((
                clean.quantised(),
                a.out.join("inputs/clean").join(png_name(file)),
            ));
        }
        let pairs: Vec<(&Picture, &Path)> = kept.iter().map(|(p, f)| (p, f.as_path())).collect();
        write_all(&pairs)?;
    }
    Ok(EvalSummary {
        table: write_tables(&a.out, &scores, &strip)?,
        written: format!(
            "wrote {}/table.txt, table.csv, strip.png (rows: cases; columns: the middle \
             {STRIP_CROP}x{STRIP_CROP} of the first photo clean, degraded, the method, then the \
             case's baselines){}",
            a.out.display(),
            if a.keep_inputs {
                "; inputs/ holds the clean and damaged photos as scored"
            } else {
                ""
            }
        ),
    })
}

/// `<stem>.png` of a photo's file.
fn png_name(file: &Path) -> PathBuf {
    PathBuf::from(file.file_stem().unwrap_or_default()).with_extension("png")
}
