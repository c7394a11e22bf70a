//! The linear-kernel variant per adapter, by measurement. The first use of a shape class (a
//! model's linear layers at a bucketed batch) on an adapter runs each candidate variant on each
//! of the class's products, checks the output against the CPU reference on sampled rows, times
//! it, and keeps the fastest; the choice is cached on disk (`cache`) keyed by adapter, driver,
//! backend, wgvae version and shape class, and in memory for the process.
//!
//! Cheap by construction: each product runs three times per candidate (a checked warm-up, then
//! two timed runs), smallest products first, and a candidate clearly slower than the best so
//! far (twice as slow and a millisecond behind) is dropped at once. About 40% of the cost on
//! lavapipe is pipeline creation, mostly the winner's, which the first step would pay anyway.
//! A forced variant (`--variant`) or `--no-autotune` skips all of it, which keeps tests and
//! benchmarks reproducible; a context starts with autotuning off (the library default).

pub mod cache;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use web_time::Instant;

use crate::error::GpuError;
use crate::gpu::linear_trial::{LinearTrial, Product};
use crate::gpu::ops::{self, LinearVariant};
use crate::gpu::{profiler, GpuContext};
use crate::model::arch::LayerKind;
use crate::model::Model;

/// Rows the products are measured at: the batch's bucket up to this (larger batches rank the
/// variants the same way on lavapipe, BENCHMARKS.md's sweep, and would make tuning slow).
pub const MAX_MEASURED_ROWS: usize = 256;

/// How a context picks the linear variant for a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// `LinearVariant::preferred` (by adapter type): `--no-autotune`, and the library default.
    #[default]
    Preferred,
    /// Measure (or recall) the fastest valid variant.
    Measure,
}

/// The tuning settings of a context.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub policy: Policy,
    /// The cache file; None: choices are kept for the process only.
    pub cache: Option<PathBuf>,
    /// Test hook: this variant's outputs are spoiled before validation, as a wrong kernel's.
    pub corrupt: Option<LinearVariant>,
}

impl Settings {
    /// The command line's: measure unless `--no-autotune`, cached at [`cache::default_path`].
    pub fn from_flags(no_autotune: bool) -> Self {
        Settings {
            policy: if no_autotune {
                Policy::Preferred
            } else {
                Policy::Measure
            },
            cache: cache::default_path(),
            corrupt: None,
        }
    }
}

/// A context's tuning settings and the choices it has made (by cache key).
#[derive(Debug, Default)]
pub struct Tuning {
    settings: Mutex<Settings>,
    memo: Mutex<HashMap<String, LinearVariant>>,
    notes: Mutex<Vec<String>>,
}

impl Tuning {
    /// Replaces the settings and forgets the choices made under the old ones.
    pub fn set(&self, settings: Settings) {
        *self.settings.lock().expect("tuning settings") = settings;
        self.memo.lock().expect("tuning memo").clear();
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().expect("tuning settings").clone()
    }

    /// What choices since the last call have to tell a person (a measurement made, a cache
    /// file ignored or not written): the command prints them as `note:` lines. Library code
    /// never prints.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().expect("tuning notes"))
    }

    fn note(&self, note: String) {
        self.notes.lock().expect("tuning notes").push(note);
    }
}

/// A model's linear layers at a batch: what one choice is made for. Layers of the same shape
/// (the two heads) count twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeClass {
    /// The batch rounded up to a power of two.
    pub bucket: usize,
    /// (k, n, how many layers) in the model's order.
    pub layers: Vec<(usize, usize, usize)>,
}

impl ShapeClass {
    /// The class of `model`'s linear layers at `batch`: equal (k, n) merged and counted, the
    /// batch bucketed.
    pub fn of(model: &Model, batch: usize) -> Self {
        let mut layers: Vec<(usize, usize, usize)> = Vec::new();
        for l in model.arch.param_layers() {
            if l.kind != LayerKind::Linear {
                continue;
            }
            let (k, n) = (l.input.len(), l.output.len());
            match layers.iter_mut().find(|e| (e.0, e.1) == (k, n)) {
                Some(e) => e.2 += 1,
                None => layers.push((k, n, 1)),
            }
        }
        ShapeClass {
            bucket: batch.max(1).next_power_of_two(),
            layers,
        }
    }

    /// "b128 784x400 400x20*2 20x400 400x784"
    pub fn key(&self) -> String {
        let mut s = format!("b{}", self.bucket);
        for &(k, n, count) in &self.layers {
            s.push_str(&format!(" {k}x{n}"));
            if count > 1 {
                s.push_str(&format!("*{count}"));
            }
        }
        s
    }

    /// Rows the products are timed at: the bucket, capped at [`MAX_MEASURED_ROWS`].
    pub fn measured_rows(&self) -> usize {
        self.bucket.min(MAX_MEASURED_ROWS)
    }
}

/// The cache key: the class on this adapter, driver, backend, wgvae version and the variants
/// the device can run.
pub fn cache_key(ctx: &GpuContext, class: &ShapeClass) -> String {
    let info = &ctx.info;
    // the candidates too: a choice made without a variant the device can now run is stale
    let variants: Vec<&str> = LinearVariant::on(ctx.subgroups)
        .iter()
        .map(|v| v.name())
        .collect();
    format!(
        "{} [{:04x}:{:04x}] | {:?} | {} {} | wgvae {} | {} | {}",
        info.name,
        info.vendor,
        info.device,
        info.backend,
        info.driver,
        info.driver_info,
        env!("CARGO_PKG_VERSION"),
        variants.join(","),
        class.key()
    )
}

/// Where a choice came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `--variant`.
    Forced,
    /// The adapter type's default (autotuning off).
    Preferred,
    /// Recalled from the cache file or an earlier choice of this process: nothing was timed.
    Cached,
    /// Measured now.
    Measured(Measurement),
}

/// What one measurement found.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Seconds per candidate timed on every product (summed over the class, each product the
    /// faster of two runs), fastest first.
    pub totals: Vec<(LinearVariant, f64)>,
    /// Candidates dropped as clearly slower, with the products they had run.
    pub pruned: Vec<(LinearVariant, usize)>,
    /// Candidates whose output disagreed with the CPU reference (or that refused the shape).
    pub failed: Vec<(LinearVariant, String)>,
    /// Products in the class (layers x 3).
    pub products: usize,
    pub rows: usize,
}

/// The variant chosen for a shape class, where it came from and what choosing cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub variant: LinearVariant,
    pub source: Source,
    pub class: ShapeClass,
    /// Wall time spent choosing (cache look-up, pipeline creation and runs included).
    pub seconds: f64,
}

impl Choice {
    fn new(variant: LinearVariant, source: Source, class: ShapeClass) -> Self {
        Choice {
            variant,
            source,
            class,
            seconds: 0.0,
        }
    }

    /// "reg8x8, measured in 0.14 s (reg8x8 19.60 ms at 128 rows; reg4x4 pruned after 3 of 15
    /// products, tiled after 1)"
    pub fn describe(&self) -> String {
        let v = self.variant.name();
        match &self.source {
            Source::Forced => format!("{v}, forced by --variant"),
            Source::Preferred => format!("{v}, the adapter type's default (autotuning off)"),
            Source::Cached => format!("{v}, from the autotune cache ({:.3} s)", self.seconds),
            Source::Measured(m) => {
                let mut parts: Vec<String> = m
                    .totals
                    .iter()
                    .map(|(c, s)| format!("{} {:.2} ms", c.name(), s * 1e3))
                    .collect();
                parts[0].push_str(&format!(" at {} rows", m.rows));
                for (c, done) in &m.pruned {
                    parts.push(format!(
                        "{} pruned after {done} of {} products",
                        c.name(),
                        m.products
                    ));
                }
                for (c, why) in &m.failed {
                    parts.push(format!("{} failed validation ({why})", c.name()));
                }
                format!(
                    "{v}, measured in {:.2} s ({})",
                    self.seconds,
                    parts.join("; ")
                )
            }
        }
    }
}

/// The linear variant for `model` at `batch` rows on `ctx`: `forced` when given, else as the
/// context's [`Settings`] say.
pub fn linear_variant(
    ctx: &GpuContext,
    model: &Model,
    batch: usize,
    forced: Option<LinearVariant>,
) -> Result<Choice, GpuError> {
    let class = ShapeClass::of(model, batch);
    if let Some(v) = forced {
        return Ok(Choice::new(v, Source::Forced, class));
    }
    let settings = ctx.tuning.settings();
    if settings.policy == Policy::Preferred || class.layers.is_empty() {
        return Ok(Choice::new(
            LinearVariant::preferred(&ctx.info, ctx.subgroups),
            Source::Preferred,
            class,
        ));
    }
    let started = Instant::now();
    let key = cache_key(ctx, &class);
    if let Some(&v) = ctx.tuning.memo.lock().expect("tuning memo").get(&key) {
        let mut c = Choice::new(v, Source::Cached, class);
        c.seconds = started.elapsed().as_secs_f64();
        return Ok(c);
    }
    if let Some(path) = &settings.cache {
        let (file, note) = cache::load(path);
        if let Some(note) = note {
            ctx.tuning.note(note);
        }
        let recalled = file
            .entries
            .get(&key)
            .and_then(|e| LinearVariant::from_name(&e.variant));
        if let Some(v) = recalled {
            ctx.tuning.memo.lock().expect("tuning memo").insert(key, v);
            let mut c = Choice::new(v, Source::Cached, class);
            c.seconds = started.elapsed().as_secs_f64();
            return Ok(c);
        }
    }
    let m = measure(ctx, &class, settings.corrupt)?;
    let variant = m.totals[0].0;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &settings.cache {
        let entry = cache::Entry {
            variant: variant.name().into(),
            totals_us: m
                .totals
                .iter()
                .map(|(c, s)| (c.name().to_string(), s * 1e6))
                .collect(),
            pruned: m.pruned.iter().map(|(c, _)| c.name().into()).collect(),
            failed: m.failed.iter().map(|(c, _)| c.name().into()).collect(),
            tuning_ms: seconds * 1e3,
        };
        if let Some(note) = cache::store(path, &key, entry) {
            ctx.tuning.note(note);
        }
    }
    ctx.tuning
        .memo
        .lock()
        .expect("tuning memo")
        .insert(key, variant);
    let mut c = Choice::new(variant, Source::Measured(m), class);
    c.seconds = seconds;
    let remembered = match &settings.cache {
        Some(path) => format!("remembered in {}", path.display()),
        None => "not remembered: no cache folder (set WGVAE_CACHE_DIR)".to_string(),
    };
    ctx.tuning.note(format!(
        "linear kernels for {} at batch {}: {}; {remembered}",
        ctx.info.name,
        c.class.bucket,
        c.describe()
    ));
    Ok(c)
}

/// The candidates, the adapter's default first (it wins ties).
fn candidates(ctx: &GpuContext) -> Vec<LinearVariant> {
    let first = LinearVariant::preferred(&ctx.info, ctx.subgroups);
    let mut v = vec![first];
    v.extend(
        LinearVariant::on(ctx.subgroups)
            .into_iter()
            .filter(|&c| c != first),
    );
    v
}

/// Whether a running total is far enough behind the best to stop timing it: twice as slow and
/// a millisecond behind (so that timer noise on tiny products never decides).
fn clearly_slower(total: f64, best: f64) -> bool {
    total > 2.0 * best && total - best > 1e-3
}

/// Times and validates every candidate on `class` (see the module docs); `corrupt` spoils one
/// candidate's outputs (the test hook). Fails only when no candidate is valid, or on a device
/// error.
pub fn measure(
    ctx: &GpuContext,
    class: &ShapeClass,
    corrupt: Option<LinearVariant>,
) -> Result<Measurement, GpuError> {
    let rows = class.measured_rows();
    let trials: Vec<(LinearTrial, usize)> = class
        .layers
        .iter()
        .enumerate()
        .map(|(i, &(k, n, count))| (LinearTrial::new(ctx, rows, k, n, 17 + i as u64), count))
        .collect();
    // smallest products first: a slow candidate shows on cheap work
    let mut work: Vec<(usize, Product)> = (0..trials.len())
        .flat_map(|t| Product::ALL.map(|p| (t, p)))
        .collect();
    work.sort_by_key(|&(t, _)| {
        let (tr, count) = &trials[t];
        tr.m * tr.k * tr.n * count
    });
    let mut alive = candidates(ctx);
    // per candidate: the best seconds of each product so far (weighted by its layer count)
    let mut times: HashMap<LinearVariant, Vec<f64>> = HashMap::new();
    let mut pruned = Vec::new();
    let mut failed: Vec<(LinearVariant, String)> = Vec::new();
    for (done, &(t, p)) in work.iter().enumerate() {
        let (trial, count) = &trials[t];
        for &c in &alive.clone() {
            match run_checked(ctx, trial, c, p, corrupt == Some(c)) {
                Ok(secs) => times.entry(c).or_default().push(secs * *count as f64),
                Err(GpuError::Validation(why) | GpuError::Shape { detail: why, .. }) => {
                    failed.push((c, why));
                    alive.retain(|&a| a != c);
                }
                Err(e) => return Err(e),
            }
        }
        let total = |c: &LinearVariant| times[c].iter().sum::<f64>();
        let Some(best) = alive.iter().map(total).min_by(f64::total_cmp) else {
            break;
        };
        for c in alive.clone() {
            if clearly_slower(total(&c), best) {
                pruned.push((c, done + 1));
                alive.retain(|&a| a != c);
            }
        }
    }
    if alive.is_empty() {
        let why: Vec<String> = failed
            .iter()
            .map(|(c, w)| format!("{}: {w}", c.name()))
            .collect();
        return Err(GpuError::Validation(format!(
            "every linear kernel variant failed on this adapter ({})",
            why.join("; ")
        )));
    }
    let mut totals: Vec<(LinearVariant, f64)> = alive
        .iter()
        .map(|&c| (c, times[&c].iter().sum::<f64>()))
        .collect();
    // stable: the default stays first on a tie
    totals.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(Measurement {
        totals,
        pruned,
        failed,
        products: work.len(),
        rows,
    })
}

/// One run of product `p` by `variant` checked against the CPU, then the faster of two timed
/// runs. The check comes first because it is also the warm-up: on lavapipe the first dispatch
/// of a pipeline ran several times slower than the next (measured: it pruned the fastest
/// variant); the faster of two keeps another process's time slice out of the figure.
fn run_checked(
    ctx: &GpuContext,
    trial: &LinearTrial,
    variant: LinearVariant,
    p: Product,
    corrupt: bool,
) -> Result<f64, GpuError> {
    let d = trial.dispatch(ctx, variant, p)?;
    ops::run(ctx, &[&d])?;
    trial.check(ctx, p, corrupt)?;
    let (a, _) = profiler::time_once(ctx, &[&d])?;
    let (b, _) = profiler::time_once(ctx, &[&d])?;
    Ok(a.min(b))
}
