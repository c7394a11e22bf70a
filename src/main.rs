//! Thin entry point: parse, run, print the error chain on one line, set the exit code.

use std::process::ExitCode;

use clap::Parser;
use wgvae::cli::{Cli, Command};
use wgvae::commands;
use wgvae::gpu::GpuContext;

fn main() -> ExitCode {
    quiet_wayland_probe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let wanted = cli.gpu.adapter.as_deref();
    match cli.command {
        Command::Info => return Ok(wgvae::info::run(wanted)?),
        // degrading runs on the CPU: no device needed
        Command::Degrade(a) => return wgvae::restore::commands::degrade(a),
        _ => {}
    }
    let ctx = GpuContext::new(wanted)?;
    match cli.command {
        Command::Info | Command::Degrade(_) => unreachable!("handled above"),
        Command::Restore(a) => wgvae::restore::commands::restore(&ctx, a),
        Command::EvalRestore(a) => wgvae::restore::scoreboard::eval_restore(&ctx, a),
        Command::Train(a) => commands::train(&ctx, a),
        Command::Eval(a) => commands::eval(&ctx, a),
        Command::Sample(a) => commands::sample(&ctx, a),
        Command::Bench(a) => commands::bench(&ctx, a),
        Command::Enhance(a) => commands::enhance(&ctx, a),
    }
}

/// Mesa's Vulkan drivers probe for a Wayland display while the instance is created; without
/// XDG_RUNTIME_DIR libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set", which reads
/// like one of ours. wgvae never presents to a window, so where it is unset point it at the temp
/// directory. Runs first in main, before any other thread exists.
fn quiet_wayland_probe() {
    if cfg!(target_os = "linux") && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}
