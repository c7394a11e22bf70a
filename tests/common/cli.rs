//! The command-line helpers every CLI test binary shares: the binary with a clean environment,
//! and the checks on a refusal (exit status, exactly one "error: " line, no panic).

use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;

/// The `wgvae` binary with the adapter choice and backend left to the machine, no autotuning
/// (reproducible kernels, nothing written to the user's cache), run in a temporary folder of
/// this test process so a default output path (`runs/...`) never lands in the repository and
/// nothing depends on the working folder (the default models are built in).
pub fn wgvae() -> Command {
    static CWD: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cwd = CWD.get_or_init(|| tempfile::tempdir().unwrap());
    let mut cmd = Command::cargo_bin("wgvae").unwrap();
    cmd.env_remove("WGVAE_ADAPTER")
        .env_remove("WGPU_BACKEND")
        .env("WGVAE_NO_AUTOTUNE", "1")
        .current_dir(cwd.path());
    cmd
}

/// Runs `cmd`, asserting a clean refusal with exit status `code`: exactly one "error: " line
/// (returned) and no panic. The whole output comes back too, for checks on stdout.
pub fn failed(cmd: &mut Command, code: i32) -> (String, Output) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}:\n{stdout}{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{stderr}"
    );
    let line = super::one_error_line("the run", &out);
    (line, out)
}

/// A refused run (bad data or a run-time failure: exit 1) whose error line mentions `needle`.
pub fn fails_with(cmd: &mut Command, needle: &str) -> String {
    refused(cmd, 1, needle)
}

/// Wrong usage (exit 2) whose error line mentions `needle`.
pub fn usage_error(cmd: &mut Command, needle: &str) -> String {
    refused(cmd, 2, needle)
}

/// A refusal with exit status `code` whose one error line mentions `needle`.
pub fn refused(cmd: &mut Command, code: i32, needle: &str) -> String {
    let (line, _) = failed(cmd, code);
    assert!(
        line.contains(needle),
        "error {line:?} does not mention {needle:?}"
    );
    line
}
