//! What a new user meets first: choosing the adapter by index or name, an unknown backend named
//! as such, the help text and its aliases, JSON output that parses, `inspect`, and output into
//! a closed pipe. GPU commands run on the shared test adapter.

mod common;

use common::cli::{failed, wgvae};
use common::{succeeds, text};

use std::io::Read;
use std::process::{Output, Stdio};

use assert_cmd::Command;
use serde_json::Value;

/// The one error line of a run refused with exit status 1.
fn failed_line(cmd: &mut Command) -> String {
    failed(cmd, 1).0
}

fn json(bytes: &[u8]) -> Value {
    let s = text(bytes);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("not one JSON value ({e}):\n{s}"))
}

fn info_json(backend: Option<&str>) -> Option<Value> {
    let mut cmd = wgvae();
    cmd.args(["info", "--json"]);
    if let Some(b) = backend {
        cmd.env("WGPU_BACKEND", b);
    }
    let out = cmd.output().unwrap();
    out.status.success().then(|| json(&out.stdout))
}

fn chosen_line(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .find(|l| l.starts_with("chosen: "))
        .unwrap_or_else(|| panic!("no chosen line:\n{}", text(&out.stdout)))
        .to_string()
}

#[test]
fn adapter_by_index_or_by_unique_name_part() {
    if common::gpu().is_none() {
        return;
    }
    let info = info_json(None).expect("info --json");
    let adapters = info["adapters"].as_array().unwrap();
    let names: Vec<&str> = adapters
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for (i, a) in adapters.iter().enumerate() {
        assert_eq!(a["index"], i, "{a}");
    }

    let last = names.len() - 1;
    let out = succeeds(wgvae().args(["info", "--adapter", &last.to_string()]));
    assert!(
        chosen_line(&out).starts_with(&format!("chosen: [{last}] ")),
        "{}",
        chosen_line(&out)
    );

    // the name of adapter 0 in capitals: case-insensitive, and unique unless another adapter
    // has the same name (then ambiguous, listing both)
    let shouting = names[0].to_uppercase();
    let same = names.iter().filter(|n| **n == names[0]).count();
    if same == 1 {
        let out = succeeds(wgvae().args(["info", "--adapter", &shouting]));
        assert!(chosen_line(&out).starts_with("chosen: [0] "));
    } else {
        let e = failed_line(wgvae().args(["info", "--adapter", &shouting]));
        assert!(e.contains("several adapter names contain"), "{e}");
    }

    let e = failed_line(wgvae().args(["info", "--adapter", "99"]));
    assert!(
        e.contains("no adapter with index 99") && e.contains(&format!("[0] {}", names[0])),
        "{e}"
    );
    // GPU commands fail the same way before doing anything
    let e = failed_line(wgvae().args(["eval", "--model", "x.safetensors", "--adapter", "99"]));
    assert!(e.contains("index 99"), "{e}");

    // Vulkan and GL together show a software rasteriser twice under one name: a part of the
    // name is ambiguous there, an index is not (skipped where GL finds nothing)
    if let Some(both) = info_json(Some("vulkan,gl")) {
        let names: Vec<String> = both["adapters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect();
        if names.len() >= 2 && names[0] == names[1] {
            let e = failed_line(
                wgvae()
                    .args(["info", "--adapter", &names[0]])
                    .env("WGPU_BACKEND", "vulkan,gl"),
            );
            assert!(
                e.contains("several") && e.contains("[0] ") && e.contains("[1] "),
                "{e}"
            );
            let out = succeeds(
                wgvae()
                    .args(["info", "--adapter", "1"])
                    .env("WGPU_BACKEND", "vulkan,gl"),
            );
            assert!(chosen_line(&out).starts_with("chosen: [1] "));
        }
    }
}

#[test]
fn an_unknown_backend_is_named_as_such() {
    // no adapter is needed to refuse the name: this holds on any machine
    for args in [vec!["info"], vec!["eval", "--model", "x.safetensors"]] {
        let e = failed_line(wgvae().args(&args).env("WGPU_BACKEND", "vulkn"));
        assert!(
            e.contains("unknown backend \"vulkn\"") && e.contains("valid here: "),
            "{e}"
        );
        assert!(!e.contains("lavapipe"), "{e}");
    }
    if cfg!(target_os = "linux") {
        let e = failed_line(wgvae().arg("info").env("WGPU_BACKEND", "metal"));
        assert!(e.contains("\"metal\"") && e.contains("vulkan"), "{e}");
    }
}

#[test]
fn info_text_is_plain_and_json_parses() {
    if common::gpu().is_none() {
        return;
    }
    let out = succeeds(wgvae().arg("info"));
    let stdout = text(&out.stdout);
    let backends = stdout.lines().next().unwrap();
    assert!(
        backends.starts_with("backends searched: ") && !backends.contains("Backends("),
        "{backends}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            !backends.contains("metal") && !backends.contains("dx12"),
            "{backends}"
        );
    }
    let features: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("features ("))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(!features.is_empty(), "{stdout}");
    for line in features {
        assert!(line.len() <= 100, "feature line over 100 columns: {line}");
    }

    let info = info_json(None).expect("info --json");
    assert!(!info["backends"].as_array().unwrap().is_empty());
    let n = info["adapters"].as_array().unwrap().len();
    assert!(info["chosen"].as_u64().unwrap() < n as u64);
    assert!(
        info["limits"]["max_storage_buffer_binding_size"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(info["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
    assert!(info["timestamp_queries"].is_boolean());
}

#[test]
fn help_has_descriptions_examples_and_aliases() {
    let help = |args: &[&str]| text(&succeeds(wgvae().args(args)).stdout);
    let train = help(&["train", "--help"]);
    for needle in [
        "-o, --out",
        "[alias: --batch-size]",
        "Size of the latent code",
        "Adam's learning rate",
        "Seed of the initial weights",
        "Images per training step",
        "--json",
        "Examples:",
    ] {
        assert!(train.contains(needle), "train --help lacks {needle:?}");
    }
    // aliases stay out of the value lists
    assert!(
        !train.contains("- bce") && !train.contains("- gray"),
        "{train}"
    );
    let sample = help(&["sample", "--help"]);
    assert!(
        sample.contains("-n, --count") && sample.contains("a checkpoint written by"),
        "{sample}"
    );
    for cmd in [
        "info",
        "train",
        "eval",
        "sample",
        "inspect",
        "bench",
        "degrade",
        "restore",
        "estimate-noise",
        "compare",
        "eval-restore",
        "enhance",
        "serve",
        "completions",
    ] {
        assert!(
            help(&[cmd, "--help"]).contains("Examples:\n  wgvae "),
            "{cmd} --help has no examples"
        );
    }
    assert!(help(&["--help"]).contains("Examples:"));
}

/// One small run through every alias (`--batch-size`, `bce`, `gray`, `-o`) with `--json`, then
/// `eval --json`, `inspect` (text and JSON) and the checkpoint's header.
#[test]
fn train_json_eval_json_inspect() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let model_s = model.to_str().unwrap();
    let out = succeeds(wgvae().args([
        "train",
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--latent",
        "4",
        "--batch-size",
        "500",
        "--likelihood",
        "bce",
        "--color",
        "gray",
        "--json",
        "-o",
        model_s,
    ]));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one JSON line per epoch and nothing else:\n{stdout}"
    );
    for (i, line) in lines.iter().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["epoch"], i + 1, "{line}");
        assert_eq!(v["epochs"], 2, "{line}");
        assert!(v["step"].as_u64().unwrap() > 0, "{line}");
        for key in [
            "train_loss",
            "test_loss",
            "test_recon",
            "test_kl",
            "seconds",
        ] {
            let x = v[key].as_f64().unwrap_or_else(|| panic!("{key} in {line}"));
            assert!(x.is_finite() && x >= 0.0, "{key} in {line}");
        }
    }
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("adapter [").count(),
        1,
        "the adapter is named once:\n{stderr}"
    );
    assert!(stderr.contains("training mlp 1x28x28"), "{stderr}");
    assert!(stderr.contains("saved "), "{stderr}");

    let out = succeeds(wgvae().args(["eval", "--model", model_s, "--json"]));
    let eval = json(&out.stdout);
    assert_eq!(eval["images"], 2000, "{eval}");
    assert!(eval["test_loss"].as_f64().unwrap() > 0.0, "{eval}");
    let sum = eval["test_recon"].as_f64().unwrap() + eval["test_kl"].as_f64().unwrap();
    assert!(
        (sum - eval["test_loss"].as_f64().unwrap()).abs() < 1e-3,
        "{eval}"
    );
    assert!(text(&out.stderr).contains("adapter ["));

    // inspect needs no GPU and names everything the checkpoint holds
    let out = succeeds(
        wgvae()
            .args(["inspect", model_s])
            .env("WGPU_BACKEND", "vulkn"),
    );
    let page = text(&out.stdout);
    for needle in [
        "mlp 1x28x28 -> [32] -> 4 (bernoulli, beta 1)",
        "epoch 2, step 40, seed 1",
        "embedded MNIST subset (10000 training, 2000 test images)",
        "pixel var scale",
        "fc1.weight",
        "[32, 784]",
        "tensors (10, ",
    ] {
        assert!(page.contains(needle), "inspect lacks {needle:?}:\n{page}");
    }
    let v = json(&succeeds(wgvae().args(["inspect", model_s, "--json"])).stdout);
    assert_eq!(v["epoch"], 2);
    assert_eq!(v["step"], 40);
    assert_eq!(v["seed"], 1);
    assert_eq!(v["config"]["likelihood"], "bernoulli");
    assert_eq!(v["data"]["source"], "embedded MNIST subset");
    assert_eq!(v["data"]["train_count"], 10_000);
    assert!(v["pixel_var_scale"].as_f64().unwrap() > 0.0);
    assert_eq!(v["tensors"].as_array().unwrap().len(), 10);
    assert_eq!(v["tensors"][0]["name"], "fc1.weight");
    assert_eq!(v["tensors"][0]["shape"], serde_json::json!([32, 784]));
    assert_eq!(v["optimizer_state"], true);

    // the header carries "format": "pt", which Hugging Face's loaders check
    let bytes = std::fs::read(&model).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(header.metadata().as_ref().unwrap()["format"], "pt");

    let e = failed_line(wgvae().args([
        "inspect",
        dir.path().join("none.safetensors").to_str().unwrap(),
    ]));
    assert!(e.contains("none.safetensors"), "{e}");
}

/// Runs `args` with stdout a pipe whose reader is already gone; returns stderr. The process must
/// end without a panic: quietly (status 0) or killed by SIGPIPE as `cat` would be.
fn into_closed_pipe(args: &[&str]) -> String {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wgvae"))
        .args(args)
        .env_remove("WGVAE_ADAPTER")
        .env_remove("WGPU_BACKEND")
        .env("WGVAE_NO_AUTOTUNE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.signal() == Some(13),
            "{args:?}: {status}\n{stderr}"
        );
    }
    #[cfg(not(unix))]
    let _ = status;
    stderr
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    into_closed_pipe(&["--help"]);
    into_closed_pipe(&["train", "--help"]);
    if common::gpu().is_none() {
        return;
    }
    into_closed_pipe(&["info"]);
    if !cfg!(unix) {
        return;
    }
    // as a shell user meets it
    let bin = assert_cmd::cargo::cargo_bin("wgvae");
    for cmd in ["info", "--help"] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("'{}' {cmd} | head -1", bin.display()))
            .env_remove("WGVAE_ADAPTER")
            .env_remove("WGPU_BACKEND")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{cmd}:\n{stderr}");
        assert_eq!(text(&out.stdout).lines().count(), 1, "{cmd}");
    }
}
