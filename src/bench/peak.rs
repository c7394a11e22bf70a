//! The adapter's measured peaks (probe.wgsl) and the roofline that turns each benchmark row
//! into a fraction of the peak that bounds it: a row whose arithmetic intensity (FLOP per byte
//! of its operands, each counted once) is above the ridge (peak FLOP/s / peak bytes/s) is
//! compute-bound and shows % of peak FLOP/s; below it, memory-bound, % of peak bandwidth.

use serde::Serialize;

use crate::cpu;
use crate::error::GpuError;
use crate::gpu::buffers::{self, View};
use crate::gpu::{probe, profiler, GpuContext};

use super::KernelRow;

/// The adapter's measured peaks: GFLOP/s from the FMA probe and GB/s (read + write) from the
/// copy probe, with the sizes that gave them and the timer that measured them.
#[derive(Clone, Debug, Serialize)]
pub struct Peaks {
    /// Peak FLOP/s of the FMA probe, in GFLOP/s.
    pub gflops: f64,
    /// Peak bandwidth of the copy probe (bytes read plus bytes written), in GB/s.
    pub gbps: f64,
    /// The probes' sizes, as measured.
    pub fma_invocations: usize,
    pub fma_rounds: usize,
    /// The copy size that gave the peak bandwidth, and (bytes, GB/s) of every size tried.
    pub copy_bytes: u64,
    pub copy_rates: Vec<(u64, f64)>,
    pub timer: &'static str,
}

impl Peaks {
    /// FLOP per byte where the two roofs meet.
    pub fn ridge(&self) -> f64 {
        self.gflops / self.gbps
    }
}

/// Runs both probes (each first checked against its CPU twin), `reps` timed runs each.
pub fn measure(ctx: &GpuContext, reps: usize) -> Result<Peaks, GpuError> {
    let (gflops, invocations, rounds, timer) = fma(ctx, reps)?;
    let (gbps, copy_bytes, copy_rates) = bandwidth(ctx, reps)?;
    Ok(Peaks {
        gflops,
        gbps,
        fma_invocations: invocations,
        fma_rounds: rounds,
        copy_bytes,
        copy_rates,
        timer,
    })
}

fn mismatch(what: &str, at: usize, got: f32, want: f32) -> GpuError {
    GpuError::Validation(format!(
        "{what}: element {at} is {got}, its CPU twin gives {want}"
    ))
}

/// Peak FLOP/s: grows the probe (more rounds, then more invocations) until one run takes 2 ms,
/// so a fast GPU is measured on work, not on launch overhead.
fn fma(ctx: &GpuContext, reps: usize) -> Result<(f64, usize, usize, &'static str), GpuError> {
    let (mut invocations, mut rounds) = (16 * 1024, 1024);
    loop {
        let out = View::whole(&buffers::zeros(ctx, "fma out", 4 * invocations as u64));
        let d = probe::fma_peak(ctx, &out, invocations, rounds)?;
        let (secs, timer) = profiler::time_dispatches(ctx, &[&d], reps)?;
        let grown = secs < 2e-3 && (rounds < 16 * 1024 || invocations < 2 << 20);
        if grown {
            if rounds < 16 * 1024 {
                rounds *= 4;
            } else {
                invocations *= 4;
            }
            continue;
        }
        let got: Vec<f32> = buffers::read(ctx, &out)?;
        for i in [0, 1, 63, 1023, invocations / 2, invocations - 1] {
            let want = cpu::probe::fma_peak(i as u32, rounds as u32, probe::FMA_M, probe::FMA_C);
            for (lane, &w) in want.iter().enumerate() {
                let g = got[4 * i + lane];
                if (g - w).abs() > 1e-4 * w.abs().max(1.0) {
                    return Err(mismatch("fma_peak", 4 * i + lane, g, w));
                }
            }
        }
        return Ok((d.flops / secs * 1e-9, invocations, rounds, timer.name()));
    }
}

/// The peak GB/s, the copy size that gave it, and (bytes, GB/s) of every size.
type Bandwidth = (f64, u64, Vec<(u64, f64)>);

/// Copy sizes of the bandwidth probe: from what fits a CPU's last-level cache to what does not.
const COPY_MIB: [u64; 4] = [1, 4, 16, 64];

/// Peak bandwidth: the fastest copy over [`COPY_MIB`] (capped by the largest buffer the adapter
/// binds). The peak is the best the adapter reached, cache included, because the kernels' own
/// working sets (a few MiB at the model's shapes) live there too; each size's rate is kept.
fn bandwidth(ctx: &GpuContext, reps: usize) -> Result<Bandwidth, GpuError> {
    let limits = ctx.device.limits();
    let cap = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let mut rates = Vec::new();
    for mib in COPY_MIB {
        let bytes = (mib << 20).min(cap) / 16 * 16;
        let gbps = copy_rate(ctx, bytes, reps)?;
        rates.push((bytes, gbps));
    }
    let &(bytes, gbps) = rates
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("sizes");
    Ok((gbps, bytes, rates))
}

/// GB/s (read + write) of one copy of `bytes`, checked against the twin.
fn copy_rate(ctx: &GpuContext, bytes: u64, reps: usize) -> Result<f64, GpuError> {
    let floats = (bytes / 4) as usize;
    let pattern: Vec<f32> = (0..floats).map(|i| (i % (1 << 24)) as f32).collect();
    let src = View::whole(&buffers::upload(ctx, "copy src", &pattern));
    let dst = View::whole(&buffers::zeros(ctx, "copy dst", floats as u64));
    let d = probe::copy_vec4(ctx, &dst, &src, floats / 4)?;
    let (secs, _) = profiler::time_dispatches(ctx, &[&d], reps)?;
    // the first, a middle and the last 4096 values against the twin
    let chunk = 4096.min(floats);
    for start in [0, floats / 2 - chunk / 2, floats - chunk] {
        let got: Vec<f32> = buffers::read(ctx, &dst.sub(start as u64, chunk as u64))?;
        let mut want = vec![0.0f32; chunk];
        cpu::probe::copy_vec4(&mut want, &pattern[start..start + chunk]);
        if let Some(j) = (0..chunk).find(|&j| got[j] != want[j]) {
            return Err(mismatch("copy_vec4", start + j, got[j], want[j]));
        }
    }
    Ok(d.bytes / secs * 1e-9)
}

/// Fills each row's bound and its fraction of that bound's peak.
pub fn annotate(rows: &mut [KernelRow], peaks: &Peaks) {
    for r in rows {
        let intensity = if r.gbps > 0.0 {
            r.gflops / r.gbps
        } else {
            f64::INFINITY
        };
        if intensity >= peaks.ridge() {
            r.bound = "compute";
            r.peak_percent = 100.0 * r.gflops / peaks.gflops;
        } else {
            r.bound = "memory";
            r.peak_percent = 100.0 * r.gbps / peaks.gbps;
        }
        r.intensity = intensity;
    }
}
