//! Per-dispatch timing. With timestamp queries each repetition runs in its own compute pass
//! with begin and end timestamps (GPU time only); without them, the wall clock around one
//! synchronised submit of all repetitions.

use web_time::Instant;

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::Dispatch;
use crate::gpu::GpuContext;

/// What measured a time: the GPU's own timestamps around each pass, or the wall clock around
/// a whole submit (where the adapter has no timestamp queries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    GpuTimestamps,
    WallClock,
}

impl TimeSource {
    /// The name benchmark rows print in their `timer` column.
    pub fn name(self) -> &'static str {
        match self {
            TimeSource::GpuTimestamps => "gpu-timestamps",
            TimeSource::WallClock => "wall-clock",
        }
    }
}

/// wgpu's cap on queries per set: at most 2048 begin/end pairs.
const MAX_PAIRS: usize = 2048;

/// `pairs` begin/end timestamp slots, one pair per timed compute pass, and their read-back.
struct TimestampPairs {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readable: wgpu::Buffer,
    pairs: usize,
}

impl TimestampPairs {
    fn new(ctx: &GpuContext, pairs: usize) -> Self {
        TimestampPairs {
            set: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profiler"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * pairs as u32,
            }),
            resolve: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profiler resolve"),
                size: 16 * pairs as u64,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readable: buffers::zeros(ctx, "profiler copy", 4 * pairs as u64),
            pairs,
        }
    }

    /// A compute pass whose begin and end write pair `i`.
    fn pass<'e>(&self, encoder: &'e mut wgpu::CommandEncoder, i: usize) -> wgpu::ComputePass<'e> {
        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("timed"),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &self.set,
                beginning_of_pass_write_index: Some(2 * i as u32),
                end_of_pass_write_index: Some(2 * i as u32 + 1),
            }),
        })
    }

    /// Submits `encoder` with the resolve appended and returns each pair's seconds.
    fn finish(
        &self,
        ctx: &GpuContext,
        mut encoder: wgpu::CommandEncoder,
    ) -> Result<Vec<f64>, GpuError> {
        let n = self.pairs;
        encoder.resolve_query_set(&self.set, 0..2 * n as u32, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readable, 0, 16 * n as u64);
        ctx.submit_and_wait("the profiled kernels", encoder)?;
        let words: Vec<u32> = buffers::read(ctx, &View::whole(&self.readable))?;
        let period_ns = ctx.queue.get_timestamp_period() as f64;
        Ok(words
            .chunks_exact(4)
            .map(|w| {
                let begin = w[0] as u64 | (w[1] as u64) << 32;
                let end = w[2] as u64 | (w[3] as u64) << 32;
                end.saturating_sub(begin) as f64 * period_ns * 1e-9
            })
            .collect())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Seconds per run of `work` (a sequence of dispatches run back to back), the median over
/// `reps` runs with timestamps or the mean of one batch of `reps` runs by wall clock, after one
/// warm-up run.
pub fn time_dispatches(
    ctx: &GpuContext,
    work: &[&Dispatch],
    reps: usize,
) -> Result<(f64, TimeSource), GpuError> {
    let reps = reps.max(1);
    crate::gpu::ops::run(ctx, work)?;
    if ctx.timestamps {
        let reps = reps.min(MAX_PAIRS);
        let stamps = TimestampPairs::new(ctx, reps);
        let mut encoder = ctx.encoder("profiler");
        for r in 0..reps {
            let mut pass = stamps.pass(&mut encoder, r);
            for d in work {
                d.record(&mut pass);
            }
        }
        let median = median(stamps.finish(ctx, encoder)?);
        // Some drivers report zeros; fall back rather than print infinite GFLOP/s.
        if median > 0.0 {
            return Ok((median, TimeSource::GpuTimestamps));
        }
    }
    let mut encoder = ctx.encoder("profiler");
    for _ in 0..reps {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("timed"),
            timestamp_writes: None,
        });
        for d in work {
            d.record(&mut pass);
        }
    }
    let start = Instant::now();
    ctx.submit_and_wait("the profiled kernels", encoder)?;
    Ok((
        start.elapsed().as_secs_f64() / reps as f64,
        TimeSource::WallClock,
    ))
}

/// Seconds of one run of `work`, cold (no warm-up): the autotuner's single sample, taken on the
/// same run whose output it then checks. Timestamps where available, else the wall clock around
/// one synchronised submit.
pub fn time_once(ctx: &GpuContext, work: &[&Dispatch]) -> Result<(f64, TimeSource), GpuError> {
    if ctx.timestamps {
        let stamps = TimestampPairs::new(ctx, 1);
        let mut encoder = ctx.encoder("profiler");
        {
            let mut pass = stamps.pass(&mut encoder, 0);
            for d in work {
                d.record(&mut pass);
            }
        }
        let secs = stamps.finish(ctx, encoder)?[0];
        if secs > 0.0 {
            return Ok((secs, TimeSource::GpuTimestamps));
        }
    }
    let start = Instant::now();
    crate::gpu::ops::run(ctx, work)?;
    Ok((start.elapsed().as_secs_f64(), TimeSource::WallClock))
}

/// GPU time of each dispatch of `program` as it runs in sequence (each in its own compute pass
/// between two timestamps), the median over `reps` runs; None without timestamp queries.
/// The program runs for real: state it advances (Adam, the step counter) moves on.
pub fn profile_program(
    ctx: &GpuContext,
    program: &[Dispatch],
    reps: usize,
) -> Result<Option<Vec<f64>>, GpuError> {
    let n = program.len();
    if !ctx.timestamps || n == 0 || n > MAX_PAIRS {
        return Ok(None);
    }
    let stamps = TimestampPairs::new(ctx, n);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    for _ in 0..reps.max(1) {
        let mut encoder = ctx.encoder("program profile");
        for (i, d) in program.iter().enumerate() {
            d.record(&mut stamps.pass(&mut encoder, i));
        }
        for (i, secs) in stamps.finish(ctx, encoder)?.into_iter().enumerate() {
            samples[i].push(secs);
        }
    }
    Ok(Some(samples.into_iter().map(median).collect()))
}
