//! Per-dispatch timing. With timestamp queries each repetition runs in its own compute pass
//! with begin and end timestamps (GPU time only); without them, the wall clock around one
//! synchronised submit of all repetitions.

use std::time::Instant;

use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::ops::Dispatch;
use crate::gpu::GpuContext;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    GpuTimestamps,
    WallClock,
}

impl TimeSource {
    pub fn name(self) -> &'static str {
        match self {
            TimeSource::GpuTimestamps => "gpu-timestamps",
            TimeSource::WallClock => "wall-clock",
        }
    }
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
        // 4096 is wgpu's cap on queries per set.
        let reps = reps.min(2048);
        let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profiler"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * reps as u32,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profiler resolve"),
            size: 16 * reps as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.encoder("profiler");
        for r in 0..reps as u32 {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("timed"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * r),
                    end_of_pass_write_index: Some(2 * r + 1),
                }),
            });
            for d in work {
                d.record(&mut pass);
            }
        }
        encoder.resolve_query_set(&set, 0..2 * reps as u32, &resolve, 0);
        let readable = buffers::zeros(ctx, "profiler copy", 4 * reps as u64);
        encoder.copy_buffer_to_buffer(&resolve, 0, &readable, 0, 16 * reps as u64);
        ctx.submit_and_wait(encoder)?;
        let words: Vec<u32> = buffers::read(ctx, &View::whole(&readable))?;
        let period_ns = ctx.queue.get_timestamp_period() as f64;
        let mut secs: Vec<f64> = words
            .chunks_exact(4)
            .map(|w| {
                let begin = w[0] as u64 | (w[1] as u64) << 32;
                let end = w[2] as u64 | (w[3] as u64) << 32;
                end.saturating_sub(begin) as f64 * period_ns * 1e-9
            })
            .collect();
        secs.sort_by(|a, b| a.total_cmp(b));
        let median = secs[secs.len() / 2];
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
    ctx.submit_and_wait(encoder)?;
    Ok((
        start.elapsed().as_secs_f64() / reps as f64,
        TimeSource::WallClock,
    ))
}

/// GPU time of each dispatch of `program` as it runs in sequence (each in its own compute pass
/// between two timestamps), the median over `reps` runs; None without timestamp queries.
/// The program runs for real: state it advances (Adam, the step counter) moves on.
pub fn profile_program(
    ctx: &GpuContext,
    program: &[Dispatch],
    reps: usize,
) -> Result<Option<Vec<f64>>, GpuError> {
    if !ctx.timestamps || program.is_empty() {
        return Ok(None);
    }
    let n = program.len();
    // 4096 is wgpu's cap on queries per set
    if 2 * n > 4096 {
        return Ok(None);
    }
    let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("program profile"),
        ty: wgpu::QueryType::Timestamp,
        count: 2 * n as u32,
    });
    let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("program profile resolve"),
        size: 16 * n as u64,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let readable = buffers::zeros(ctx, "program profile copy", 4 * n as u64);
    let period_ns = ctx.queue.get_timestamp_period() as f64;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    for _ in 0..reps.max(1) {
        let mut encoder = ctx.encoder("program profile");
        for (i, d) in program.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profiled dispatch"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            d.record(&mut pass);
        }
        encoder.resolve_query_set(&set, 0..2 * n as u32, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &readable, 0, 16 * n as u64);
        ctx.submit_and_wait(encoder)?;
        let words: Vec<u32> = buffers::read(ctx, &View::whole(&readable))?;
        for (i, w) in words.chunks_exact(4).enumerate() {
            let begin = w[0] as u64 | (w[1] as u64) << 32;
            let end = w[2] as u64 | (w[3] as u64) << 32;
            samples[i].push(end.saturating_sub(begin) as f64 * period_ns * 1e-9);
        }
    }
    Ok(Some(
        samples
            .into_iter()
            .map(|mut s| {
                s.sort_by(|a, b| a.total_cmp(b));
                s[s.len() / 2]
            })
            .collect(),
    ))
}
