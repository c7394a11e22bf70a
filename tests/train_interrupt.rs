//! Training under faults, with the real binary and real signals: a run killed with SIGKILL
//! mid-epoch, or stopped by SIGTERM, then `--resume`d, ends with the same parameters and Adam
//! state as a run never interrupted, bit for bit; a second signal ends a run at once and leaves
//! a checkpoint that resumes.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wgvae::checkpoint::{load_model, load_optimizer_state};

/// A small model on the embedded subset: 100 steps an epoch, a fraction of a second each.
const RUN: &[&str] = &[
    "train", "--epochs", "2", "--hidden", "32", "--latent", "4", "--batch", "100", "--seed", "3",
];

fn wgvae(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgvae"));
    cmd.current_dir(dir)
        .env_remove("WGVAE_ADAPTER")
        .env("WGVAE_NO_AUTOTUNE", "1");
    cmd
}

/// `train` to `out` with `extra` flags, to the end.
fn train(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut cmd = wgvae(dir);
    cmd.args(RUN).args(["--out", out]).args(extra);
    common::succeeds_std(&mut cmd)
}

/// Starts `train` checkpointing every 7 steps, and waits for its first checkpoint.
fn start_and_wait_for_checkpoint(dir: &Path, out: &str) -> Child {
    let mut child = wgvae(dir)
        .args(RUN)
        .args([
            "--out",
            out,
            "--checkpoint-every",
            "7",
            "--steps-per-submit",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !dir.join(out).exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its first checkpoint");
        }
        assert!(began.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on the pid of a child not yet waited for.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
}

/// The parameters and Adam moments of the run at `dir/out`, as bits.
fn final_state(path: &Path) -> (u64, Vec<u32>, Vec<u32>, Vec<u32>) {
    let (meta, params) = load_model(path, None).unwrap();
    let state = load_optimizer_state(path, &meta).unwrap();
    let (m, v) = (state.m, state.v);
    let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    (meta.step, bits(&params), bits(&m), bits(&v))
}

fn uninterrupted(dir: &Path) -> PathBuf {
    static DONE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        train(dir, "whole.safetensors", &[]);
        dir.join("whole.safetensors")
    })
    .clone()
}

fn shared_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

#[test]
fn killed_mid_epoch_then_resumed_ends_bit_identical() {
    common::gpu();
    let dir = shared_dir();
    let want = final_state(&uninterrupted(dir));
    let mut child = start_and_wait_for_checkpoint(dir, "killed.safetensors");
    signal(&child, libc::SIGKILL);
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "the run had finished before the kill"
    );
    let (killed_at, ..) = final_state(&dir.join("killed.safetensors"));
    assert!(
        killed_at < 200,
        "killed at step {killed_at}, after the run's end"
    );
    train(dir, "killed.safetensors", &["--resume"]);
    let got = final_state(&dir.join("killed.safetensors"));
    assert_eq!(got.0, 200);
    assert!(
        got == want,
        "killed at step {killed_at} and resumed: not the uninterrupted run's state"
    );
}

#[test]
fn sigterm_checkpoints_where_the_run_stands_and_resume_ends_bit_identical() {
    common::gpu();
    let dir = shared_dir();
    let want = final_state(&uninterrupted(dir));
    let child = start_and_wait_for_checkpoint(dir, "term.safetensors");
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("interrupted by SIGTERM"))
        .unwrap_or_else(|| panic!("no interrupted line in:\n{stderr}"));
    assert!(line.contains("--resume"), "{line}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (meta, _) = load_model(&dir.join("term.safetensors"), None).unwrap();
    let mid = meta
        .mid_epoch
        .expect("a checkpoint where the run stopped, mid-epoch");
    assert_eq!(meta.step, meta.epoch as u64 * 100 + mid.steps);
    assert!(
        line.contains(&format!("(step {})", meta.step)),
        "{line} does not give the saved step {}",
        meta.step
    );
    train(dir, "term.safetensors", &["--resume"]);
    assert!(final_state(&dir.join("term.safetensors")) == want);
}

#[test]
fn a_second_signal_ends_the_run_at_once_and_the_checkpoint_still_resumes() {
    common::gpu();
    let dir = shared_dir();
    let child = start_and_wait_for_checkpoint(dir, "twice.safetensors");
    signal(&child, libc::SIGINT);
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // whatever instant the second signal came, the files on disk are a pair that resumes
    let path = dir.join("twice.safetensors");
    let (meta, _) = load_model(&path, None).unwrap();
    load_optimizer_state(&path, &meta).unwrap();
    train(dir, "twice.safetensors", &["--resume"]);
    assert_eq!(final_state(&path).0, 200);
}
