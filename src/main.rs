//! Thin entry point: parse, run, print the error chain on one line, set the exit code.

use std::process::ExitCode;

use clap::Parser;
use wgvae::cli::{BenchWhat, Cli, Command};

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
    match cli.command {
        Command::Info => wgvae::info::run(wanted)?,
        Command::Bench(args) => {
            let ctx = wgvae::gpu::GpuContext::new(wanted)?;
            match args.what {
                BenchWhat::Kernels => {
                    let rows = wgvae::bench::linear_forward(&ctx, args.reps as usize)?;
                    if args.json {
                        println!("{}", serde_json::to_string_pretty(&rows)?);
                    } else {
                        wgvae::bench::print_table(&ctx, &rows);
                    }
                }
            }
        }
    }
    Ok(())
}
