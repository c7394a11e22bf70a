//! Shared test helpers: the one device per test binary, and an `all_close` that reports the
//! worst element.
#![allow(dead_code)]

pub mod cli;

use std::sync::OnceLock;

use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::context::DeviceOptions;
use wgvae::gpu::GpuContext;
use wgvae::shape::ConvGeom;

/// Set to 1 to let GPU tests skip (with a message) on a machine without an adapter. Without it
/// a missing adapter fails the test, and with CI=true it always fails.
pub const SKIP_VAR: &str = "WGVAE_SKIP_GPU_TESTS";

/// The shared device, or None when the developer chose to skip GPU tests.
pub fn gpu() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    usable(CTX.get_or_init(|| open(DeviceOptions::default())))
}

/// The shared device of a test binary that checks the kernels of devices without subgroups
/// (`--no-subgroups`): such a binary calls this and never [`gpu`], so it still has one device.
pub fn gpu_without_subgroups() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    usable(CTX.get_or_init(|| open(DeviceOptions { subgroups: false })))
}

fn open(options: DeviceOptions) -> Result<GpuContext, String> {
    let wanted = std::env::var("WGVAE_ADAPTER").ok();
    GpuContext::with_options(wanted.as_deref(), options).map_err(|e| e.to_string())
}

fn usable(ctx: &'static Result<GpuContext, String>) -> Option<&'static GpuContext> {
    match ctx {
        Ok(c) => Some(c),
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            let skip = std::env::var(SKIP_VAR).is_ok_and(|v| v == "1");
            if ci {
                panic!("CI=true and no usable GPU adapter: {e}");
            }
            if skip {
                eprintln!("SKIPPED (no GPU adapter, {SKIP_VAR}=1): {e}");
                return None;
            }
            panic!("no usable GPU adapter: {e}\n(set {SKIP_VAR}=1 to skip GPU tests)");
        }
    }
}

/// Panics unless |got - want| <= atol + rtol |want| everywhere; the message names the worst
/// element (by how far past its bound it is), both values and the largest absolute error.
pub fn all_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs expected {}",
        got.len(),
        want.len()
    );
    let mut worst: Option<(usize, f32)> = None;
    let mut max_err = 0.0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        let excess = if err.is_nan() || g.is_nan() != w.is_nan() {
            f32::INFINITY
        } else {
            err - (atol + rtol * w.abs())
        };
        max_err = max_err.max(if err.is_nan() { f32::INFINITY } else { err });
        if worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, excess)) = worst {
        assert!(
            excess <= 0.0,
            "{what}: worst index {i}: got {} expected {} (error {}, bound atol {atol} + rtol {rtol}); max abs error {max_err}",
            got[i],
            want[i],
            (got[i] - want[i]).abs()
        );
    }
}

/// Deterministic values uniform in [lo, hi).
pub fn random(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

/// Random123's Philox4x32-10 known-answer vectors: (counter, key, expected output).
pub fn philox_kat() -> Vec<([u32; 4], [u32; 2], [u32; 4])> {
    include_str!("../data/philox4x32-10-kat.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let w: Vec<u32> = line
                .split_whitespace()
                .skip(2)
                .map(|w| u32::from_str_radix(w, 16).expect("hex word"))
                .collect();
            (
                [w[0], w[1], w[2], w[3]],
                [w[4], w[5]],
                [w[6], w[7], w[8], w[9]],
            )
        })
        .collect()
}

/// A storage buffer holding `data`.
pub fn up<T: bytemuck::Pod>(ctx: &GpuContext, data: &[T]) -> View {
    View::whole(&buffers::upload(ctx, "test input", data))
}

/// A zeroed storage buffer of `len` values.
pub fn out(ctx: &GpuContext, len: usize) -> View {
    View::whole(&buffers::zeros(ctx, "test output", len as u64))
}

pub fn read(ctx: &GpuContext, v: &View) -> Vec<f32> {
    buffers::read(ctx, v).expect("readback")
}

/// A step state buffer (step, cursor, slot, pad).
pub fn state(ctx: &GpuContext, step: u32, cursor: u32, slot: u32) -> View {
    up(ctx, &[step, cursor, slot, 0u32])
}

/// A validated conv geometry.
#[allow(clippy::too_many_arguments)]
pub fn geom(
    batch: usize,
    in_ch: usize,
    out_ch: usize,
    in_h: usize,
    in_w: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    transposed: bool,
) -> ConvGeom {
    let g = ConvGeom {
        batch,
        in_ch,
        out_ch,
        in_h,
        in_w,
        kernel,
        stride,
        pad,
        transposed,
    };
    g.validate().unwrap();
    g
}

/// The one "error: " line of a run's stderr, asserting there is exactly one (Mesa's own
/// XDG_RUNTIME_DIR chatter aside); `what` names the run in the failure message.
pub fn one_error_line(what: &str, out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: ") && !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "{what}: expected one error line, got:\n{stderr}"
    );
    errors[0].to_string()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmd`, asserting it succeeds (stdout and stderr in the message when not).
pub fn succeeds(cmd: &mut assert_cmd::Command) -> std::process::Output {
    successful(cmd.output().unwrap())
}

/// [`succeeds`] for a `std::process::Command`.
#[allow(dead_code)]
pub fn succeeds_std(cmd: &mut std::process::Command) -> std::process::Output {
    successful(cmd.output().unwrap())
}

/// `out`, asserting its run succeeded (stdout and stderr in the message when not).
fn successful(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}
