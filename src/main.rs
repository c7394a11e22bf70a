//! Thin entry point: parse, run, print the error chain on one line, set the exit code.

use std::process::ExitCode;

use clap::Parser;
use wgvae::cli::{Cli, Command};
use wgvae::commands;
use wgvae::gpu::GpuContext;

fn main() -> ExitCode {
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
    if let Command::Info = cli.command {
        return Ok(wgvae::info::run(wanted)?);
    }
    let ctx = GpuContext::new(wanted)?;
    match cli.command {
        Command::Info => unreachable!("handled above"),
        Command::Train(a) => commands::train(&ctx, a),
        Command::Eval(a) => commands::eval(&ctx, a),
        Command::Sample(a) => commands::sample(&ctx, a),
        Command::Bench(a) => commands::bench(&ctx, a),
    }
}
