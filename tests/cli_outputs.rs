//! What commands write and say about it: the overwrite policy (refuse an existing output without
//! `--force`, before any work; create missing folders), the Adam state's name and its old one,
//! the notes a run prints about its data, `eval` agreeing with the last epoch, Ctrl-C during
//! training, and shell completions.

mod common;

use common::cli::{failed, wgvae};
use common::{succeeds, text};

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The one error line of a run refused with exit status 1, and its stdout.
fn refused(cmd: &mut Command) -> (String, String) {
    let (line, out) = failed(cmd, 1);
    (line, text(&out.stdout))
}

/// A small MLP on the embedded subset: 20 steps of 500 per epoch.
fn tiny_train(out: &Path, epochs: &str, extra: &[&str]) -> Command {
    let mut cmd = wgvae();
    cmd.args([
        "train", "--epochs", epochs, "--hidden", "32", "--latent", "4",
    ])
    .args(["--batch", "500", "-o"])
    .arg(out)
    .args(extra);
    cmd
}

fn grey_png(path: &Path, w: u32, h: u32) {
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x * 20 + y * 7) as u8]))
        .save(path)
        .unwrap();
}

/// Commands that refuse before any work need no GPU: degrade (CPU only), and restore, enhance
/// and eval-restore, whose refusal comes before the adapter starts.
#[test]
fn existing_outputs_are_refused_without_force_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clean = d.join("clean.png");
    grey_png(&clean, 28, 28);
    let noisy = d.join("noisy.png");
    std::fs::write(&noisy, b"keep me").unwrap();
    let degrade = |extra: &[&str]| {
        let mut cmd = wgvae();
        cmd.args(["degrade", "--noise-sigma", "0.1", "-i"])
            .arg(&clean)
            .arg("-o")
            .arg(&noisy)
            .args(extra);
        cmd
    };
    let (e, _) = refused(&mut degrade(&[]));
    assert!(
        e.contains(&format!(
            "{} exists; pass --force to overwrite it",
            noisy.display()
        )),
        "{e}"
    );
    assert_eq!(std::fs::read(&noisy).unwrap(), b"keep me");
    // --mask-out is an output too
    let mask = d.join("mask.png");
    std::fs::write(&mask, b"old mask").unwrap();
    let fresh = d.join("fresh.png");
    let (e, _) = refused(
        wgvae()
            .args(["degrade", "--missing", "0.3", "-i"])
            .arg(&clean)
            .arg("-o")
            .arg(&fresh)
            .arg("--mask-out")
            .arg(&mask),
    );
    assert!(e.contains("mask.png exists"), "{e}");
    assert!(!fresh.exists(), "a refused run wrote its other output");
    // --force overwrites; a missing folder on the way is created
    succeeds(&mut degrade(&["--force"]));
    assert!(image::open(&noisy).is_ok(), "not overwritten with an image");
    let deep = d.join("new/dir/noisy.png");
    succeeds(
        wgvae()
            .args(["degrade", "--noise-sigma", "0.1", "-i"])
            .arg(&clean)
            .arg("-o")
            .arg(&deep),
    );
    assert!(deep.is_file());

    // enhance and restore (one file, and into a folder): refused before the adapter starts,
    // so without any GPU
    let no_gpu = |cmd: &mut Command| {
        cmd.env("WGPU_BACKEND", "vulkn");
        let (e, _) = refused(cmd);
        e
    };
    let e = no_gpu(
        wgvae()
            .args(["enhance", "--gamma", "1.2", "-i"])
            .arg(&clean)
            .arg("-o")
            .arg(&noisy),
    );
    assert!(e.contains("noisy.png exists; pass --force"), "{e}");
    let e = no_gpu(
        wgvae()
            .args(["restore", "--noise-sigma", "0.1", "-i"])
            .arg(&clean)
            .arg("-o")
            .arg(&noisy),
    );
    assert!(e.contains("noisy.png exists; pass --force"), "{e}");
    let inputs = d.join("inputs");
    let outputs = d.join("outputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&outputs).unwrap();
    for name in ["a.png", "b.png", "c.png"] {
        grey_png(&inputs.join(name), 28, 28);
    }
    std::fs::write(outputs.join("b.png"), b"x").unwrap();
    std::fs::write(outputs.join("c.png"), b"x").unwrap();
    let e = no_gpu(
        wgvae()
            .args(["restore", "--noise-sigma", "0.1", "-i"])
            .arg(&inputs)
            .arg("-o")
            .arg(&outputs),
    );
    assert!(
        e.contains("b.png exists (and 1 other output); pass --force to overwrite them"),
        "{e}"
    );
    // eval-restore's folder: refused when it holds a table
    let scores = d.join("scores");
    std::fs::create_dir_all(&scores).unwrap();
    std::fs::write(scores.join("table.txt"), b"old").unwrap();
    let e = no_gpu(wgvae().args(["eval-restore", "--out"]).arg(&scores));
    assert!(e.contains("table.txt exists; pass --force"), "{e}");
}

/// train refuses to start over an existing checkpoint (naming --force and --resume) before it
/// computes anything; --resume continues, --force starts afresh and clears the old grids; the
/// Adam state is `m.adam.safetensors`; sample refuses an existing grid and creates a missing
/// folder.
#[test]
fn train_and_sample_follow_the_policy() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("runs/m.safetensors");
    succeeds(&mut tiny_train(&model, "2", &[]));
    let runs = d.join("runs");
    assert!(runs.join("m.adam.safetensors").is_file());
    assert!(!runs.join("m.safetensors.adam.safetensors").exists());
    assert!(runs.join("m.samples/sample_2.png").is_file());

    let before = std::fs::read(&model).unwrap();
    let (e, stdout) = refused(&mut tiny_train(&model, "1", &[]));
    assert!(
        e.contains(&format!(
            "{} exists; pass --force to start afresh over it and the files beside it, or \
             --resume to continue training it",
            model.display()
        )),
        "{e}"
    );
    assert!(
        stdout.is_empty(),
        "nothing may start before the refusal: {stdout}"
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);

    // --resume continues from the pair
    let out = succeeds(&mut tiny_train(&model, "3", &["--resume"]));
    assert!(
        text(&out.stdout).contains("epoch   3:"),
        "{}",
        text(&out.stdout)
    );
    assert!(runs.join("m.adam.safetensors").is_file());

    // --force: a fresh run; the grids of the old run's later epochs go
    succeeds(&mut tiny_train(&model, "1", &["--force"]));
    let (meta, _) = wgvae::checkpoint::load_model(&model, None).unwrap();
    assert_eq!(meta.epoch, 1);
    assert!(runs.join("m.samples/sample_1.png").is_file());
    for stale in ["sample_2.png", "reconstruction_3.png"] {
        assert!(!runs.join("m.samples").join(stale).exists(), "{stale} kept");
    }

    let grid = d.join("grids/deeper/g.png");
    let sample = |extra: &[&str]| {
        let mut cmd = wgvae();
        cmd.args(["sample", "-n", "4", "--model"])
            .arg(&model)
            .arg("-o")
            .arg(&grid)
            .args(extra);
        cmd
    };
    succeeds(&mut sample(&[]));
    let first = std::fs::read(&grid).unwrap();
    let (e, _) = refused(&mut sample(&["--seed", "2"]));
    assert!(e.contains("g.png exists; pass --force"), "{e}");
    assert_eq!(std::fs::read(&grid).unwrap(), first);
    succeeds(&mut sample(&["--seed", "2", "--force"]));
    assert_ne!(
        std::fs::read(&grid).unwrap(),
        first,
        "--force did not overwrite"
    );
}

/// A folder of small images without train/ and test/, with a batch above its size: each
/// choice is one "note:" line on stderr, also with --json, and so is the time to the first step.
#[test]
fn a_run_says_what_it_decided_about_the_data() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..6 {
        grey_png(&images.join(format!("{i}.png")), 16, 16);
    }
    grey_png(&images.join("small.png"), 5, 7);
    let out = succeeds(
        wgvae()
            .args(["train", "--size", "12x12", "--hidden", "8", "--latent", "2"])
            .args(["--epochs", "1", "--batch", "64", "--json", "--data"])
            .arg(&images)
            .arg("-o")
            .arg(dir.path().join("m.safetensors")),
    );
    let stderr = text(&out.stderr);
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note: ")).collect();
    assert_eq!(notes.len(), 4, "{stderr}");
    assert!(
        notes[0].contains("has no train/ and test/ folders")
            && notes[0].contains("measures fit, not generalisation"),
        "{}",
        notes[0]
    );
    assert!(
        notes[1].contains("1 of the 7 images")
            && notes[1].contains("smaller than 12x12 and are upscaled")
            && notes[1].contains("the smallest is 7x5"),
        "{}",
        notes[1]
    );
    assert!(
        notes[2].contains("--batch 64 is more than the 7 images of an epoch")
            && notes[2].contains("capped to 7"),
        "{}",
        notes[2]
    );
    assert!(
        notes[3].contains("first step after")
            && notes[3].contains("pipelines and buffers")
            && notes[3].contains("autotuning off"),
        "{}",
        notes[3]
    );
    // stdout stays one JSON object per epoch
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str::<Value>(stdout.trim()).unwrap();
}

/// `eval` of a checkpoint prints the test loss of its last epoch: the same seed (the
/// checkpoint's, here not the default) and the same batches, whatever the training batch.
#[test]
fn eval_repeats_the_last_epochs_test_loss() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = succeeds(&mut tiny_train(&model, "2", &["--seed", "3", "--json"]));
    let stdout = text(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let out = succeeds(wgvae().args(["eval", "--json", "--model"]).arg(&model));
    let eval: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(eval["seed"], 3);
    for (train_key, eval_key) in [
        ("test_loss", "test_loss"),
        ("test_recon", "test_recon"),
        ("test_kl", "test_kl"),
    ] {
        let (a, b) = (
            last[train_key].as_f64().unwrap(),
            eval[eval_key].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-9 * a.abs(),
            "{train_key}: train's last epoch {a}, eval {b}"
        );
    }
    // and the text lines agree to their printed digits
    let out = succeeds(&mut tiny_train(
        &dir.path().join("t.safetensors"),
        "1",
        &["--seed", "3"],
    ));
    let line = text(&out.stdout);
    let shown = line
        .split("test loss ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    let out = succeeds(
        wgvae()
            .args(["eval", "--model"])
            .arg(dir.path().join("t.safetensors")),
    );
    let eval: f64 = text(&out.stdout)
        .split("test loss per sample: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let shown: f64 = shown.parse().unwrap();
    // eval prints four decimals, the epoch line two
    assert!(
        (eval - shown).abs() <= 0.0051,
        "eval {eval}, epoch line: {line}"
    );
}

/// Ctrl-C after an epoch: one line naming the checkpoint and --resume, status 130, and a
/// checkpoint that resumes.
#[cfg(unix)]
#[test]
fn ctrl_c_says_where_the_checkpoint_is_and_exits_130() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wgvae"))
        .args([
            "train", "--epochs", "1000", "--hidden", "32", "--latent", "4",
        ])
        .args(["--batch", "500", "-o"])
        .arg(&model)
        .env_remove("WGVAE_ADAPTER")
        .env_remove("WGPU_BACKEND")
        .env("WGVAE_NO_AUTOTUNE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("epoch"))
        .expect("an epoch line");
    assert!(first.starts_with("epoch   1:"), "{first}");
    // SAFETY: kill(2) on our own child's pid
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{status}\n{stderr}");
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("interrupted"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains(&model.display().to_string())
            && said[0].contains("of 1000")
            && said[0].contains("--resume"),
        "{}",
        said[0]
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let (meta, _) = wgvae::checkpoint::load_model(&model, None).unwrap();
    assert!(
        said[0].contains(&format!("holds epoch {} of", meta.epoch)),
        "{}",
        said[0]
    );
    let next = (meta.epoch + 1).to_string();
    succeeds(&mut tiny_train(&model, &next, &["--resume"]));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_wgvae()"),
        ("zsh", "#compdef wgvae"),
        ("fish", "complete -c wgvae"),
    ] {
        let script = text(&succeeds(wgvae().args(["completions", shell])).stdout);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        // fish writes long flags as `-l force`
        for word in ["train", "eval-restore", "force"] {
            assert!(script.contains(word), "{shell}: no {word:?}");
        }
    }
}
