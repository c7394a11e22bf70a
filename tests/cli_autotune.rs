//! The autotuner through the binary: the first `sample` on a fresh cache folder measures and
//! says so, the second recalls the choice silently; `--no-autotune` writes nothing.

mod common;

use assert_cmd::Command;

fn sample(cache: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> String {
    let mut cmd = Command::cargo_bin("wgvae").unwrap();
    cmd.env_remove("WGVAE_ADAPTER")
        .env_remove("WGVAE_NO_AUTOTUNE")
        .env("WGVAE_CACHE_DIR", cache)
        .args(["sample", "-n", "4", "--force", "-o"])
        .arg(out)
        .args(extra);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn the_first_run_measures_and_the_next_recalls() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cache, png) = (dir.path().join("cache"), dir.path().join("s.png"));
    let first = sample(&cache, &png, &[]);
    assert!(
        first.contains("note: linear kernels for") && first.contains("measured in"),
        "{first}"
    );
    assert!(cache.join("autotune.json").is_file());
    let second = sample(&cache, &png, &[]);
    assert!(!second.contains("note:"), "{second}");

    let off = dir.path().join("off");
    let quiet = sample(&off, &png, &["--no-autotune"]);
    assert!(!quiet.contains("note:"), "{quiet}");
    assert!(!off.exists());

    // a corrupt file: a note, a measurement, and the file replaced
    std::fs::write(cache.join("autotune.json"), "garbage").unwrap();
    let third = sample(&cache, &png, &[]);
    assert!(
        third.contains("ignoring the corrupt autotune cache") && third.contains("measured in"),
        "{third}"
    );
    let text = std::fs::read_to_string(cache.join("autotune.json")).unwrap();
    assert!(text.contains("\"variant\""), "{text}");
}
