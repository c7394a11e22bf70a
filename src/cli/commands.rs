//! One handler per subcommand: turn parsed flags into library calls and print the results.

use anyhow::{bail, Context, Result};

use wgvae::checkpoint;

use crate::cli::args::{
    ArchArg, BenchArgs, BenchWhat, ColorArg, EnhanceArgs, EvalArgs, LikelihoodArg, LrScheduleArg,
    SampleArgs, TrainArgs, VariantArg,
};
use crate::cli::progress::TrainProgress;
use wgvae::config::{ArchKind, Likelihood, ModelConfig};
use wgvae::data::Split;
use wgvae::error::UsageError;
use wgvae::gpu::autotune;
use wgvae::gpu::ops::LinearVariant;
use wgvae::gpu::recorder::{GpuActs, GpuModel};
use wgvae::gpu::GpuContext;
use wgvae::model::Model;
use wgvae::picture::Picture;
use wgvae::train::{self, LrSchedule, TrainSettings};
use wgvae::{bench, enhance, plot, sample};

fn variant(v: Option<VariantArg>) -> Option<LinearVariant> {
    v.map(|v| match v {
        VariantArg::Tiled => LinearVariant::Tiled,
        VariantArg::Reg4x4 => LinearVariant::Reg4x4,
        VariantArg::Reg8x8 => LinearVariant::Reg8x8,
        VariantArg::Sg16x4 => LinearVariant::Sg16x4,
    })
}

pub fn train(ctx: &GpuContext, a: TrainArgs) -> Result<()> {
    let settings = TrainSettings {
        data: a.data,
        epochs: a.epochs,
        batch: a.batch,
        arch: match a.arch {
            ArchArg::Mlp => ArchKind::Mlp,
            ArchArg::Conv => ArchKind::Conv,
        },
        conv_channels: a.channels,
        hidden: a.hidden,
        channels: match a.color {
            ColorArg::Grey => 1,
            ColorArg::Rgb => 3,
        },
        patch: a.patch,
        patches: a.patches,
        augment: a.augment,
        corrupt_noise: a.corrupt_noise,
        latent: a.latent,
        beta: a.beta,
        likelihood: match a.likelihood {
            LikelihoodArg::Bernoulli => Likelihood::Bernoulli,
            LikelihoodArg::Gaussian => Likelihood::Gaussian,
        },
        learn_variance: a.learn_variance,
        gaussian_logvar: a.gaussian_logvar,
        size: a.size,
        lr: a.lr,
        lr_schedule: match a.lr_schedule {
            LrScheduleArg::Constant => LrSchedule::Constant,
            LrScheduleArg::Cosine => LrSchedule::Cosine,
        },
        weight_decay: a.weight_decay,
        seed: a.seed,
        out: a.out,
        resume: a.resume,
        steps_per_submit: a.steps_per_submit,
        log_every: a.log_every,
        checkpoint_every: a.checkpoint_every,
        variant: variant(a.variant),
    };
    // refuse impossible flags before announcing anything
    let (cfg, tc) = settings.resolve().map_err(UsageError)?;
    let data_name = tc
        .data
        .as_ref()
        .map_or(checkpoint::EMBEDDED_DATA.to_string(), |d| {
            d.display().to_string()
        });
    // with --json, stdout carries the epoch objects alone
    let json = a.json;
    let say = |line: String| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(format!(
        "training {} on {data_name}{}{}, batch {}, lr {}, seed {}",
        wgvae::inspect::architecture(&cfg),
        tc.patch.map_or(String::new(), |p| format!(
            " ({} random {}x{} patches per epoch{})",
            p.count,
            p.size,
            p.size,
            if p.augment {
                ", flipped and rotated"
            } else {
                ""
            }
        )),
        if tc.corrupt_noise > 0.0 {
            format!(", denoising (input noise sigma up to {})", tc.corrupt_noise)
        } else {
            String::new()
        },
        tc.batch,
        tc.adam.lr,
        tc.seed
    ));
    let shown = TrainProgress::new(|r: &train::EpochReport| {
        if json {
            println!("{}", epoch_json(r, tc.epochs));
        } else {
            println!(
                "epoch {:>3}: train loss {:.2}  test loss {:.2} (reconstruction {:.2}, KL {:.2})  {:.0} samples/s  {:.1} s",
                r.epoch, r.train_loss, r.test.total, r.test.recon, r.test.kl, r.samples_per_sec, r.seconds
            );
        }
    });
    let reports = train::train(ctx, &cfg, &tc, shown)?;
    if let Some(c) = train::calibrate(ctx, &tc)? {
        let on = if tc.patch.is_some() {
            "training patches"
        } else {
            "test images"
        };
        say(format!(
            "pixel variance scale for restoration: {c:.4} (fitted on clean reconstructions of {on})"
        ));
    }
    let curve = train::curve_paths(&tc.out);
    if let Some(last) = reports.last() {
        say(format!(
            "saved {} (epoch {}, step {}); loss curve {} ({} and {}); sample grids per epoch in {}",
            tc.out.display(),
            last.epoch,
            last.step,
            curve.png.display(),
            curve.svg.display(),
            curve.csv.display(),
            train::grids_dir(&tc.out).display()
        ));
        if tc.data.is_none() {
            // the first run a newcomer makes: say what its blurry samples mean (a note, on
            // stderr like the other notes)
            eprintln!(
                "note: {} steps on the embedded 10,000 images give blurry samples; the built-in \
                 model (full MNIST, 30 epochs) shows what the recipe reaches: wgvae sample -o samples.png",
                last.step
            );
        }
    }
    Ok(())
}

/// One line of `train --json`: the epoch's losses per sample, as the text line gives them.
fn epoch_json(r: &train::EpochReport, epochs: usize) -> serde_json::Value {
    serde_json::json!({
        "epoch": r.epoch,
        "epochs": epochs,
        "step": r.step,
        "train_loss": r.train_loss,
        "test_loss": r.test.total,
        "test_recon": r.test.recon,
        "test_kl": r.test.kl,
        "samples_per_sec": r.samples_per_sec,
        "seconds": r.seconds,
    })
}

/// The model on the GPU with the linear variant the context picks for `batch` rows.
fn gpu_model(ctx: &GpuContext, spec: &Model, params: &[f32], batch: usize) -> Result<GpuModel> {
    let variant = autotune::linear_variant(ctx, spec, batch, None)?.variant;
    Ok(GpuModel::new(ctx, spec, params, variant)?)
}

fn load_with_meta(
    ctx: &GpuContext,
    path: &std::path::Path,
    batch: usize,
) -> Result<(checkpoint::CheckpointMeta, GpuModel)> {
    let (meta, params) = checkpoint::load_model(path, None)?;
    let model = Model::new(&meta.config).map_err(anyhow::Error::msg)?;
    let gpu = gpu_model(ctx, &model, &params, batch)?;
    Ok((meta, gpu))
}

pub fn eval(ctx: &GpuContext, a: EvalArgs) -> Result<()> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let (meta, model) = load_with_meta(ctx, &a.model, a.batch)?;
    // the seed train's test pass used, so the figure is the last epoch's
    let seed = a.seed.unwrap_or(meta.seed);
    let cfg = &model.model.cfg;
    if a.patch && cfg.height != cfg.width {
        bail!(
            "--patch needs a square model; {} is {}x{}",
            a.model.display(),
            cfg.height,
            cfg.width
        );
    }
    let test_set = if a.patch {
        // the same fixed test patches `train --patch` evaluates on
        train::data::test_patches(a.data.as_deref(), cfg.channels, cfg.height, seed)?
    } else {
        wgvae::data::load_split(
            a.data.as_deref(),
            Split::Test,
            cfg.height,
            cfg.width,
            cfg.channels,
        )?
    };
    if test_set.count == 0 {
        bail!("the test data holds no images");
    }
    GpuActs::check(ctx, &model.model, a.batch.min(test_set.count), |max| {
        format!("lower --batch to {max} or less")
    })?;
    let data = train::upload_dataset(ctx, &test_set)?;
    let parts = train::evaluate(ctx, &model, &data, test_set.count, a.batch, seed)?;
    if a.json {
        let data = a
            .data
            .as_ref()
            .map_or(checkpoint::EMBEDDED_DATA.to_string(), |d| {
                d.display().to_string()
            });
        println!(
            "{}",
            serde_json::json!({
                "model": a.model.display().to_string(),
                "data": data,
                "patch": a.patch,
                "images": test_set.count,
                "seed": seed,
                "test_loss": parts.total,
                "test_recon": parts.recon,
                "test_kl": parts.kl,
            })
        );
        return Ok(());
    }
    let name = a
        .data
        .as_ref()
        .map_or("embedded MNIST test subset".to_string(), |d| {
            d.display().to_string()
        });
    println!(
        "test loss per sample: {:.4} (reconstruction {:.4}, KL {:.4}) on {} images of {name}",
        parts.total, parts.recon, parts.kl, test_set.count
    );
    Ok(())
}

pub fn sample(ctx: &GpuContext, a: SampleArgs) -> Result<()> {
    if a.n == 0 || a.n > 4096 {
        bail!("-n must be in 1..=4096, got {}", a.n);
    }
    if a.output
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("png"))
    {
        bail!("the output must be a .png file: {}", a.output.display());
    }
    let prior = wgvae::restore::prior::load_prior(a.model.as_ref())?;
    let (name, spec, params) = (&prior.name, &prior.model, &prior.params);
    if !a.reconstruct {
        GpuActs::check(ctx, spec, a.n, |max| format!("lower -n to {max} or less"))?;
    }
    let model = gpu_model(ctx, spec, params, a.n)?;
    let (rows, cols) = (model.model.cfg.height, model.model.cfg.width);
    let channels = model.model.cfg.channels;
    let grid = if a.reconstruct {
        let test = wgvae::data::load_split(
            a.data.as_deref(),
            Split::Test,
            rows,
            cols,
            model.model.cfg.channels,
        )?;
        let n = a.n.min(test.count);
        GpuActs::check(ctx, spec, n, |max| format!("lower -n to {max} or less"))?;
        let originals: Vec<Vec<f32>> = (0..n)
            .map(|i| test.image(i).iter().map(|&p| p as f32 / 255.0).collect())
            .collect();
        let recon = sample::reconstructions(ctx, &model, &originals)?;
        plot::reconstruction_grid(&originals, &recon, rows, cols, channels, a.scale)
    } else {
        let images = sample::prior_samples(ctx, &model, a.n, a.seed)?;
        plot::image_grid(
            &images,
            rows,
            cols,
            channels,
            (a.n as f64).sqrt().ceil() as usize,
            a.scale,
        )
    };
    let png = plot::encode_png(&grid);
    wgvae::atomic_file::write(&a.output, &png)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    println!("wrote {} ({})", a.output.display(), name.display());
    Ok(())
}

pub fn bench(ctx: &GpuContext, a: BenchArgs) -> Result<()> {
    match a.what {
        BenchWhat::Kernels => {
            let (peaks, rows) = bench::kernel_report(ctx, a.reps as usize, a.sweep)?;
            if a.json {
                let report = serde_json::json!({ "peaks": peaks, "rows": rows });
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::table(ctx, &peaks, &rows));
            }
        }
        BenchWhat::Restore => {
            let prior = wgvae::restore::prior::load_prior(a.model.as_ref())?;
            let (path, model, params) = (&prior.name, &prior.model, &prior.params);
            let settings = wgvae::restore::methods::Settings {
                var: wgvae::restore::program::PixelVariance {
                    scale: prior.meta.pixel_var_scale.unwrap_or(1.0),
                    floor: 1e-6,
                },
                ..Default::default()
            };
            let mut batches = a.batch.clone();
            if batches == [128, 1024] {
                // the train defaults: restoration's own are 1 and 256
                batches = vec![1, 256];
            }
            let rates = wgvae::eval::bench::rates(ctx, model, params, &settings, &batches, 256)?;
            let (secs, windows) = wgvae::eval::bench::tiled_seconds(ctx, &prior, 512)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rates)?);
            } else {
                println!(
                    "restore throughput, {} on {}:",
                    path.display(),
                    ctx.info.name
                );
                println!(
                    "{:<10} {:>6} {:>7} {:>9} {:>10}",
                    "method", "batch", "images", "seconds", "images/s"
                );
                for r in &rates {
                    println!(
                        "{:<10} {:>6} {:>7} {:>9.2} {:>10.1}",
                        r.method, r.batch, r.images, r.seconds, r.images_per_sec
                    );
                }
                println!(
                    "one 512x512 picture (noise 0.1) restored as `wgvae restore` does, \
                     {windows} windows: {secs:.1} s"
                );
            }
        }
        BenchWhat::Train => {
            let cfg = match a.arch {
                ArchArg::Mlp => ModelConfig::default(),
                ArchArg::Conv => ModelConfig::conv_default(),
            };
            let mut results = Vec::new();
            for &b in &a.batch {
                if b == 0 {
                    bail!("--batch sizes must be at least 1");
                }
                results.push(train::bench_train(
                    ctx,
                    &cfg,
                    b,
                    a.steps.max(1),
                    a.steps_per_submit,
                    variant(a.variant),
                )?);
            }
            if a.json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                println!("adapter: {} ({:?})", ctx.info.name, ctx.info.backend);
                println!("{}", ctx.pinning.note());
                println!(
                    "{:>6} {:>6} {:>12} {:>10} {:>11} {:>13} {:>13} {:>14}",
                    "batch",
                    "steps",
                    "samples/s",
                    "ms/step",
                    "dispatches",
                    "submits/step",
                    "host ms/step",
                    "first step ms"
                );
                for r in &results {
                    println!(
                        "{:>6} {:>6} {:>12.0} {:>10.2} {:>11} {:>13.3} {:>13.3} {:>14.0}",
                        r.batch,
                        r.steps,
                        r.samples_per_sec,
                        r.ms_per_step,
                        r.dispatches_per_step,
                        r.submits_per_step,
                        r.host_ms_per_step,
                        r.first_step_ms
                    );
                }
                for r in &results {
                    println!(
                        "batch {}: first step {:.0} ms = choosing the linear kernels {:.0} ms + \
                         pipelines, buffers and data {:.0} ms + the step; linear kernels {}",
                        r.batch, r.first_step_ms, r.tuning_ms, r.pipelines_ms, r.variant_source
                    );
                }
                for r in &results {
                    if r.kernels.is_empty() {
                        continue;
                    }
                    println!(
                        "\nbatch {}: GPU time per kernel in one step (timestamp queries)",
                        r.batch
                    );
                    println!(
                        "{:<18} {:>10} {:>10} {:>8} {:>9} {:>8}",
                        "kernel", "dispatches", "ms/step", "share", "GFLOP/s", "GB/s"
                    );
                    for k in &r.kernels {
                        println!(
                            "{:<18} {:>10} {:>10.3} {:>7.1}% {:>9.2} {:>8.2}",
                            k.kernel,
                            k.dispatches,
                            k.ms_per_step,
                            100.0 * k.share,
                            k.gflops,
                            k.gbps
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn enhance(ctx: &GpuContext, a: EnhanceArgs) -> Result<()> {
    let adjustments = enhance::Adjustments {
        auto_levels: a.auto_levels,
        brightness: a.brightness,
        contrast: a.contrast,
        saturation: a.saturation,
        gamma: a.gamma,
    };
    if a.model.is_some() && a.vae_refine.is_none() {
        return Err(UsageError("--model applies to --vae-refine only".into()).into());
    }
    let mut refine = |p: Picture| {
        let k = a.vae_refine.unwrap_or(1) as usize;
        crate::cli::restore::refine(ctx, &p, a.model.as_ref(), k, a.refine_sigma)
            .map_err(|e| wgvae::error::chain_line(e.chain()))
    };
    let refine: Option<enhance::Refine> = match a.vae_refine {
        Some(_) => Some(&mut refine),
        None => None,
    };
    let out = enhance::enhance_file(ctx, &a.input, &a.output, &adjustments, refine, a.quality)?;
    let mut steps: Vec<String> = match adjustments.steps() {
        Ok(s) => s.iter().map(|s| s.describe()).collect(),
        Err(_) => Vec::new(),
    };
    if let Some(k) = a.vae_refine {
        steps.insert(0, format!("vae-refine {k} (sigma {})", a.refine_sigma));
    }
    println!(
        "wrote {} ({} {}x{}): {}",
        a.output.display(),
        if out.channels == 3 { "RGB" } else { "grey" },
        out.width,
        out.height,
        steps.join(", ")
    );
    Ok(())
}
