//! The command line (clap derive). Handlers live in `commands.rs`.

use std::path::PathBuf;

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
    /// Train a VAE on the GPU (default: pytorch/examples/vae's model on the embedded MNIST subset).
    Train(TrainArgs),
    /// Test loss per sample (reconstruction + KL) of a checkpoint.
    Eval(EvalArgs),
    /// Write a PNG grid of decoded prior samples (or reconstructions).
    Sample(SampleArgs),
    /// Measure kernels or training throughput on the chosen adapter.
    Bench(BenchArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LikelihoodArg {
    Bernoulli,
    /// alias of bernoulli
    Bce,
    Gaussian,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantArg {
    Tiled,
    Reg4x4,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// MNIST IDX folder (raw or .gz, e.g. data/mnist from tools/fetch-mnist.sh) or a folder of
    /// PNG/JPEG images; default: the embedded MNIST subset (10,000 train, 2,000 test images).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs in total (with --resume, training continues up to this count).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Encoder hidden sizes from the input side; the decoder mirrors them.
    #[arg(long, num_args = 1.., default_values_t = [400])]
    pub hidden: Vec<usize>,
    #[arg(long, default_value_t = 20)]
    pub latent: usize,
    /// Weight of the KL term.
    #[arg(long, default_value_t = 1.0)]
    pub beta: f32,
    #[arg(long, value_enum, default_value_t = LikelihoodArg::Bernoulli)]
    pub likelihood: LikelihoodArg,
    /// Gaussian: train the shared pixel log-variance (else it stays at --gaussian-logvar).
    #[arg(long)]
    pub learn_variance: bool,
    /// Gaussian: the pixel log-variance (initial value when learned).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub gaussian_logvar: f32,
    /// Image size ROWSxCOLS for image folders (MNIST is 28x28).
    #[arg(long, default_value = "28x28", value_parser = parse_size)]
    pub size: (usize, usize),
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Decoupled (AdamW) weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Checkpoint path; the loss curve goes beside it (.loss.csv, .loss.png).
    #[arg(long, default_value = "runs/vae.safetensors")]
    pub out: PathBuf,
    /// Continue from --out and its Adam state.
    #[arg(long)]
    pub resume: bool,
    /// Training steps recorded into one command buffer.
    #[arg(long, default_value_t = 8)]
    pub steps_per_submit: usize,
    /// Steps between loss read-backs (progress bar and loss curve).
    #[arg(long, default_value_t = 50)]
    pub log_every: usize,
    /// Linear forward kernel (default: the one preferred for the adapter).
    #[arg(long, value_enum)]
    pub variant: Option<VariantArg>,
}

pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (r, c) = s
        .split_once('x')
        .ok_or_else(|| format!("expected ROWSxCOLS, got {s:?}"))?;
    let r: usize = r.parse().map_err(|_| format!("bad row count in {s:?}"))?;
    let c: usize = c
        .parse()
        .map_err(|_| format!("bad column count in {s:?}"))?;
    if r == 0 || c == 0 || r > 1024 || c > 1024 {
        return Err(format!("size must be between 1x1 and 1024x1024, got {s}"));
    }
    Ok((r, c))
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `wgvae train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data folder (its test split); default: the embedded MNIST test subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Seed of the z samples (one per image).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Number of images.
    #[arg(short, long, default_value_t = 64)]
    pub n: usize,
    /// Output PNG.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Originals (left) beside their reconstructions (right) from the test data instead.
    #[arg(long)]
    pub reconstruct: bool,
    /// Data for --reconstruct; default: the embedded MNIST test subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pixel scale of the grid.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value_t = BenchWhat::Kernels)]
    pub what: BenchWhat,
    /// Repetitions per kernel measurement.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub reps: u32,
    /// Batch sizes for `train`.
    #[arg(long, num_args = 1.., default_values_t = [128, 1024])]
    pub batch: Vec<usize>,
    /// Timed steps per batch size for `train`.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    #[arg(long, default_value_t = 8)]
    pub steps_per_submit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchWhat {
    Kernels,
    Train,
}
