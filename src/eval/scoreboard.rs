//! The digit scoreboard of `wgvae eval-restore`: the table of PSNR and SSIM per degradation
//! and method (text and CSV) and a strip of examples, written into one folder.

use anyhow::{bail, Result};

use crate::data::{load_split, Split};
use crate::eval::cases::{standard_cases, Case};
use crate::eval::evaluate::{degrade_all, fit_var_scale, restore_set};
use crate::eval::table::{case_line, score_baselines, write_tables, Score};
use crate::eval::{EvalObserver, EvalOptions, EvalSummary};
use crate::gpu::GpuContext;
use crate::picture::Picture;
use crate::restore::degrade::DegradationKind;
use crate::restore::engine::GpuEngine;
use crate::restore::methods::{model_sigma_for, Method};
use crate::restore::prior::{load_prior, settings};

/// The VAE methods that apply to a family: imputation only where pixels are unknown.
fn vae_methods(family: DegradationKind) -> Vec<Method> {
    match family {
        DegradationKind::Mask | DegradationKind::Impulse => Method::ALL.to_vec(),
        DegradationKind::Noise | DegradationKind::Blur => {
            vec![Method::Project, Method::Map, Method::Posterior]
        }
    }
}

/// The digit benchmark: `options.n` test images scored in every case, the baselines tuned on
/// `options.val` others.
pub fn eval_digits(
    ctx: &GpuContext,
    a: &EvalOptions,
    observer: &mut dyn EvalObserver,
) -> Result<EvalSummary> {
    if a.n == 0 || a.val == 0 {
        bail!("--n and --val must be at least 1");
    }
    let prior = load_prior(a.model.as_ref())?;
    let (model, params) = (&prior.model, &prior.params);
    let cfg = model.cfg.clone();
    let mut settings = settings(&a.knobs, &prior)?;
    let data = load_split(
        a.data.as_deref(),
        Split::Test,
        cfg.height,
        cfg.width,
        cfg.channels,
    )?;
    if a.skip + a.n + a.val > data.count {
        bail!(
            "--skip {} plus --n {} plus --val {} is more than the {} test images",
            a.skip,
            a.n,
            a.val,
            data.count
        );
    }
    let picture = |i: usize| {
        let px = data.image(i).iter().map(|&v| v as f32 / 255.0).collect();
        Picture::new(cfg.channels, cfg.height, cfg.width, px)
    };
    let scored: Vec<Picture> = (a.skip..a.skip + a.n).map(picture).collect();
    let val: Vec<Picture> = (data.count - a.val..data.count).map(picture).collect();
    let rows = settings.rows_for(a.knobs.batch.min(a.n.max(a.val)));
    let mut engine = GpuEngine::new(ctx, model, params, rows)?;
    if a.knobs.var_scale.is_none() {
        let c = fit_var_scale(&mut engine, &val)?;
        settings.var.scale = c;
        observer.note(&format!(
            "decoder variance scale fitted on {} validation images: {c:.4}",
            a.val
        ));
    }
    let cases: Vec<Case> = standard_cases(cfg.height, cfg.width)
        .into_iter()
        .filter(|c| a.cases.is_empty() || a.cases.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        bail!("no case matches --cases {:?}", a.cases);
    }
    observer.note(&format!(
        "scoring {} case(s) on {} images ({} validation) with {} on {}",
        cases.len(),
        a.n,
        a.val,
        prior.name.display(),
        ctx.info.name
    ));
    // the folder is made when the tables are written, so a failed run leaves none
    let mut scores = Vec::new();
    let mut strip: Vec<Vec<Option<Picture>>> = Vec::new();
    for case in &cases {
        let set = degrade_all(case, &scored, a.seed).map_err(anyhow::Error::msg)?;
        scores.push(Score::of(case, "degraded", &scored, &set.pictures, None));
        let methods = vae_methods(case.family);
        if a.knobs.model_sigma.is_none() {
            settings.model_sigma = model_sigma_for(&case.degradation);
        }
        observer.case_started(&case.name, a.n as u64);
        let restored = restore_set(&mut engine, &methods, &settings, case, &set, |n| {
            observer.advance(n as u64)
        })?;
        // fixed columns: clean, degraded, every VAE method (None where it does not apply),
        // then the case's baselines
        let mut row = vec![Some(scored[0].clone()), Some(set.pictures[0].clone())];
        for m in Method::ALL {
            let at = methods.iter().position(|&x| x == m);
            row.push(at.map(|i| restored[i][0].clone()));
        }
        for (m, images) in methods.iter().zip(&restored) {
            scores.push(Score::of(case, m.name(), &scored, images, None));
        }
        if a.baselines {
            let firsts = score_baselines(case, &val, &scored, &set, a.seed, &mut scores)?;
            row.extend(firsts.into_iter().map(Some));
        }
        observer.case_done(&case_line(&scores, &case.name));
        strip.push(row);
    }
    Ok(EvalSummary {
        table: write_tables(&a.out, &scores, &strip)?,
        written: format!(
            "wrote {}/table.txt, table.csv, strip.png (rows: cases; columns: clean, degraded, \
             project, impute, map, posterior, then the case's baselines; grey: not applicable)",
            a.out.display()
        ),
    })
}
