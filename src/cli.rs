//! The command line (clap derive). Each subcommand's handler lives beside what it drives.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "wgvae",
    version,
    about = "Variational autoencoders in WGSL on any GPU"
)]
pub struct Cli {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GpuArgs {
    /// Use the first adapter whose name contains this text (case-insensitive); the backend is
    /// chosen with WGPU_BACKEND (vulkan, metal, dx12, gl).
    #[arg(long, global = true, env = "WGVAE_ADAPTER")]
    pub adapter: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every adapter, the one chosen, and its limits and features.
    Info,
    /// Measure kernels on the chosen adapter.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value_t = BenchWhat::Kernels)]
    pub what: BenchWhat,
    /// Repetitions per measurement.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub reps: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchWhat {
    Kernels,
}
