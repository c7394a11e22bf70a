//! Opening a device on lavapipe pins its compute threads, each to its own CPU (`gpu::pinning`),
//! and the threads stay where they were put.

mod common;

use wgvae::enhance::{apply_gpu, Step};
use wgvae::gpu::pinning::is_lavapipe;
use wgvae::picture::Picture;

/// The CPUs a thread of this process may run on, from `/proc` (Linux).
fn allowed(tid: i32) -> String {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .expect("the pinned thread is alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list")
        .trim()
        .to_string()
}

#[test]
fn lavapipe_workers_are_pinned_to_separate_cpus() {
    let Some(ctx) = common::gpu() else { return };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = cfg!(target_os = "linux")
        && is_lavapipe(&ctx.info)
        && cpus >= 2
        && std::env::var("WGVAE_PIN_THREADS").map_or(true, |v| v != "0");
    let p = &ctx.pinning;
    if !wanted {
        assert!(p.pinned.is_empty() && p.skipped.is_some(), "{p:?}");
        return;
    }
    // lavapipe starts one worker per CPU unless LP_NUM_THREADS says otherwise
    assert!(p.pinned.len() >= 2, "{}", p.note());
    let first: Vec<usize> = p.pinned.iter().take(cpus).map(|&(_, c)| c).collect();
    let mut distinct = first.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), first.len(), "{}", p.note());
    // run a kernel on the device, then check the threads are still where they were put
    let pic = Picture::new(1, 64, 64, vec![0.25; 64 * 64]);
    let brighter = apply_gpu(ctx, &pic, &[Step::Brightness(2.0)]).expect("brightness");
    assert!(brighter.data.iter().all(|&v| v == 0.5));
    for &(tid, cpu) in &p.pinned {
        assert_eq!(allowed(tid), cpu.to_string(), "thread {tid}");
    }
}
