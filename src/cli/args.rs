//! The command line's arguments (clap derive): one struct per command. The value parsers are
//! in `parse.rs`, the `--help` examples in `examples.rs`; handlers live in `commands.rs` and
//! `restore.rs`.

use std::path::PathBuf;

use wgvae::restore::prior::ModelSource;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use super::examples;
pub use super::parse::NoiseSigma;
use super::parse::*;

#[derive(Parser, Debug)]
#[command(
    name = "wgvae",
    version,
    about = "Variational autoencoders in WGSL on any GPU",
    after_help = examples::WGVAE
)]
pub struct Cli {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GpuArgs {
    /// The adapter: its index as `wgvae info` lists it, or part of one adapter's name.
    ///
    /// A plain number is an index; other text must be part of exactly one adapter's name
    /// (case-insensitive). Default: the fastest kind found (discrete, integrated, virtual GPU,
    /// then CPU). The backends searched are set with WGPU_BACKEND (vulkan, metal, dx12, gl).
    #[arg(long, global = true, env = "WGVAE_ADAPTER", value_name = "INDEX|NAME")]
    pub adapter: Option<String>,
    /// Use the adapter type's default linear kernel instead of measuring the fastest.
    ///
    /// Without it, the first use of a model's shapes on an adapter times each linear-kernel
    /// variant (each first checked against the CPU) and keeps the fastest, remembered in
    /// $WGVAE_CACHE_DIR/autotune.json (default ~/.cache/wgvae). `train --variant` forces one.
    #[arg(long, global = true, env = "WGVAE_NO_AUTOTUNE",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_autotune: bool,
    /// Do not use subgroup kernels even where the adapter offers subgroups.
    ///
    /// Where it does (lavapipe among others), the linear products, the conv blocks' weights and
    /// row sums hand shared values between the lanes of a subgroup instead of loading them in
    /// each; this runs the kernels of devices without subgroups instead.
    #[arg(long, global = true, env = "WGVAE_NO_SUBGROUPS",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_subgroups: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the backends searched, every adapter, the one chosen, and its limits and features.
    #[command(after_help = examples::INFO)]
    Info(InfoArgs),
    /// Train a VAE on the GPU (default: pytorch/examples/vae's model on the embedded MNIST subset).
    #[command(after_help = examples::TRAIN)]
    Train(TrainArgs),
    /// Test loss per sample (reconstruction + KL) of a checkpoint.
    #[command(after_help = examples::EVAL)]
    Eval(EvalArgs),
    /// Write a PNG grid of decoded prior samples (or reconstructions).
    #[command(after_help = examples::SAMPLE)]
    Sample(SampleArgs),
    /// Show what a checkpoint holds: architecture, config, epoch, step, seed, training data,
    /// tensors (no GPU needed).
    #[command(after_help = examples::INSPECT)]
    Inspect(InspectArgs),
    /// Measure kernels or training throughput on the chosen adapter.
    #[command(after_help = examples::BENCH)]
    Bench(BenchArgs),
    /// Damage an image on purpose (noise, blur, missing pixels), seeded: test data for restore.
    #[command(after_help = examples::DEGRADE)]
    Degrade(DegradeArgs),
    /// Restore damaged images with a VAE as the prior (denoise, inpaint, deblur).
    #[command(after_help = examples::RESTORE)]
    Restore(RestoreArgs),
    /// Estimate the Gaussian noise level of pictures, as `restore --noise-sigma auto` does.
    #[command(after_help = examples::ESTIMATE_NOISE)]
    EstimateNoise(EstimateNoiseArgs),
    /// Score pictures against a reference: PSNR (dB) and SSIM, as eval-restore scores them.
    #[command(after_help = examples::COMPARE)]
    Compare(CompareArgs),
    /// Score every restoration method and classical baseline on held-out images (PSNR, SSIM).
    #[command(after_help = examples::EVAL_RESTORE)]
    EvalRestore(EvalRestoreArgs),
    /// Adjust a picture's levels, brightness, contrast, saturation and gamma on the GPU (in that
    /// order, whatever the order of the flags).
    #[command(after_help = examples::ENHANCE)]
    Enhance(EnhanceArgs),
    /// Serve restoration and enhancement over HTTP on this machine's GPU, with a page for them.
    #[command(after_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) on stdout.
    #[command(after_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on; anything beyond this machine (0.0.0.0, a LAN address) is
    /// warned about: the API has no authentication.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The port (0: any free one, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Requests that may wait for the GPU beside the one it runs; more are told to retry (503).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub queue: u16,
    /// The longest a request may take, upload and GPU work together, in seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// The largest request body, in MiB.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_body_mib: u64,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Checkpoint written by `wgvae train`.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LikelihoodArg {
    /// pixels as Bernoulli means, binary cross-entropy loss (pytorch/examples/vae)
    #[value(alias = "bce")]
    Bernoulli,
    /// pixels as a Gaussian around the decoder's output (see --gaussian-logvar)
    Gaussian,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchArg {
    /// fully connected (pytorch/examples/vae)
    Mlp,
    /// convolutional: stride-2 convolutions, dense layers, transposed convolutions
    Conv,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LrScheduleArg {
    /// --lr at every step
    Constant,
    /// from --lr down to 0 by a half cosine over the run's total steps (all of --epochs)
    Cosine,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    /// one channel (colour images are converted to luma)
    #[value(alias = "gray")]
    Grey,
    /// three channels
    Rgb,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantArg {
    /// workgroup tiles in shared memory
    Tiled,
    /// 4x4 outputs per invocation in registers
    Reg4x4,
    /// 8x8 outputs per invocation, rows shared by an 8-wide workgroup (all three products)
    Reg8x8,
    /// 16x4 outputs per invocation, the shared rows handed round by subgroup broadcasts (needs
    /// subgroups of 8 or more lanes)
    Sg16x4,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// MNIST IDX folder (raw or .gz, e.g. data/mnist from tools/fetch-mnist.sh) or a folder of
    /// PNG/JPEG images; default: the embedded MNIST subset (10,000 train, 2,000 test images).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs in total (with --resume, training continues up to this count).
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub epochs: usize,
    /// Images per training step.
    #[arg(long, visible_alias = "batch-size", default_value_t = 128,
          value_parser = in_range(1, MAX_TRAIN_BATCH))]
    pub batch: usize,
    /// Model family.
    #[arg(long, value_enum, default_value_t = ArchArg::Mlp)]
    pub arch: ArchArg,
    /// Conv: output channels of the encoder's k4 s2 p1 convolutions (each halves the image);
    /// the decoder's transposed convolutions mirror them [default: 32 64].
    #[arg(long, num_args = 1..)]
    pub channels: Option<Vec<usize>>,
    /// Dense hidden sizes from the input side (after the convolutions for conv); the decoder
    /// mirrors them [default: 400 for mlp, 256 for conv].
    #[arg(long, num_args = 1.., value_parser = in_range(1, 16384))]
    pub hidden: Option<Vec<usize>>,
    /// Images in grey (1 channel) or RGB (3 channels, stored planar).
    #[arg(long, value_enum, default_value_t = ColorArg::Grey)]
    pub color: ColorArg,
    /// Train on random PxP patches of the images (fresh each epoch, seeded) instead of whole
    /// images fitted to --size; the model's size is then PxP.
    #[arg(long, value_parser = at_least_one)]
    pub patch: Option<usize>,
    /// Patches per epoch with --patch.
    #[arg(long, default_value_t = 10_000, value_parser = at_least_one)]
    pub patches: usize,
    /// With --patch: flip and rotate each patch at random (the square's 8 symmetries).
    #[arg(long)]
    pub augment: bool,
    /// Denoising VAE (for `restore --method project`): the encoder reads each training sample
    /// plus Gaussian noise (not clipped) whose sigma is drawn per sample uniform in [0, S]
    /// (pixels on [0, 1]; 0.235 = 60/255), the decoder is still scored against the clean
    /// sample. Evaluation (the epoch's test loss, `eval`) stays on clean inputs. 0: off.
    #[arg(long, value_name = "S", default_value_t = 0.0, value_parser = fraction,
          allow_negative_numbers = true)]
    pub corrupt_noise: f32,
    /// Size of the latent code z.
    #[arg(long, default_value_t = 20, value_parser = in_range(1, 4096))]
    pub latent: usize,
    /// Weight of the KL term.
    #[arg(long, default_value_t = 1.0, value_parser = non_negative)]
    pub beta: f32,
    /// The decoder's pixel distribution (the reconstruction term of the loss).
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
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3, value_parser = positive)]
    pub lr: f32,
    /// How Adam's learning rate moves over the run.
    #[arg(long, value_enum, default_value_t = LrScheduleArg::Constant)]
    pub lr_schedule: LrScheduleArg,
    /// Decoupled (AdamW) weight decay.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    pub weight_decay: f32,
    /// Seed of the initial weights, the shuffles, the patches and the noise: the same seed and
    /// flags give the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Checkpoint path; the loss curve goes beside it (.loss.csv, .loss.png).
    #[arg(short = 'o', long, default_value = "runs/vae.safetensors")]
    pub out: PathBuf,
    /// Continue from --out and its Adam state.
    #[arg(long)]
    pub resume: bool,
    /// Start afresh over an existing --out and the files beside it (Adam state, loss curve,
    /// grids), which are replaced from the first epoch's end; without it they are refused.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Training steps recorded into one command buffer.
    #[arg(long, default_value_t = 8)]
    pub steps_per_submit: usize,
    /// Steps between loss read-backs (progress bar and loss curve).
    #[arg(long, default_value_t = 50)]
    pub log_every: usize,
    /// Also write the checkpoint whenever the step count reaches a multiple of N, mid-epoch
    /// included (it is always written at each epoch's end); --resume continues from the next
    /// batch. SIGINT and SIGTERM checkpoint where the run stands before it stops.
    #[arg(long, value_name = "N", value_parser = at_least_one_u64)]
    pub checkpoint_every: Option<u64>,
    /// Linear kernel variant [default: the fastest measured on this adapter, or with
    /// --no-autotune the adapter type's default].
    #[arg(long, value_enum)]
    pub variant: Option<VariantArg>,
    /// Print one JSON object per epoch on stdout and nothing else there (other lines go to
    /// stderr).
    #[arg(long)]
    pub json: bool,
}

/// The largest `train --batch` (as `TrainConfig::validate` checks).
pub const MAX_TRAIN_BATCH: usize = 65_536;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `wgvae train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data folder (its test split); default: the embedded MNIST test subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Images per GPU batch. z is drawn per batch position, so the default (train's test
    /// pass uses it too) gives the last epoch's test loss; another moves it by sampling noise.
    #[arg(long, visible_alias = "batch-size", default_value_t = wgvae::train::eval::EVAL_BATCH, value_parser = at_least_one)]
    pub batch: usize,
    /// Seed of the z samples (one per image) and, with --patch, of the test patches
    /// [default: the checkpoint's training seed, as train's test pass used].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Evaluate on random patches of the model's size cut from the test images (as a patch
    /// model was trained) instead of whole images fitted to it.
    #[arg(long)]
    pub patch: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A built-in model (digits, photo-grey, photo-rgb) or a checkpoint written by `wgvae
    /// train` [default: digits].
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<ModelSource>,
    /// Number of images (`--n` is accepted too).
    #[arg(short = 'n', long = "count", alias = "n", default_value_t = 64,
          value_parser = in_range(1, 4096))]
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
    /// Seed of the prior samples.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pixel scale of the grid.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Overwrite outputs that exist (without it an existing output is refused).
    #[arg(long)]
    pub force: bool,
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
    /// The model `train` measures: the default MLP or the comparison conv VAE.
    #[arg(long, value_enum, default_value_t = ArchArg::Mlp)]
    pub arch: ArchArg,
    /// Training steps recorded into one command buffer.
    #[arg(long, default_value_t = 8)]
    pub steps_per_submit: usize,
    /// The prior `restore` measures: a built-in model (digits, photo-grey, photo-rgb) or a
    /// checkpoint [default: digits].
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<ModelSource>,
    /// `kernels`: run the linear products at batches 1, 8, 32, 128, 512, 1024 and 4096
    /// through the default model's layers (about a minute on lavapipe with --reps 3).
    #[arg(long)]
    pub sweep: bool,
    /// `train`: the linear kernel variant [default: as `train` picks it].
    #[arg(long, value_enum)]
    pub variant: Option<VariantArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchWhat {
    /// GFLOP/s and GB/s of each kernel variant, each validated against the CPU first
    Kernels,
    /// training samples/s, dispatches and GPU time per kernel
    Train,
    /// restored images per second per method (noise 0.1), and one 512x512 image tiled
    Restore,
}

/// How an image was (or is to be) damaged; shared by `degrade` and `restore`.
#[derive(Args, Debug, Clone)]
pub struct DamageArgs {
    /// Additive Gaussian noise of this standard deviation, on [0, 1] (0.1 is 25.5 on 0-255);
    /// `restore` also takes `auto`: estimated from each picture (its default when no damage
    /// is named).
    #[arg(long, value_parser = sigma_or_auto, value_name = "SIGMA|auto")]
    pub noise_sigma: Option<NoiseSigma>,
    /// Poisson shot noise: y = Poisson(peak x) / peak (lower is noisier).
    #[arg(long, value_parser = positive)]
    pub poisson_peak: Option<f32>,
    /// Salt-and-pepper: this fraction of values set to 0 or 1.
    #[arg(long, value_parser = fraction)]
    pub salt_pepper: Option<f32>,
    /// Missing pixels from a mask image of the same size: white (or any value >= 128) = missing.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// A missing rectangle: X,Y,WIDTH,HEIGHT in pixels.
    #[arg(long, value_parser = parse_rect)]
    pub mask_rect: Option<[usize; 4]>,
    /// Gaussian blur of this sigma in pixels (kernel: --blur-size, default 3 sigma each side).
    #[arg(long, value_parser = positive)]
    pub blur_sigma: Option<f32>,
    /// Side of the Gaussian blur kernel (odd) [default: sized from --blur-sigma].
    #[arg(long, default_value_t = wgvae::restore::request::AUTO_BLUR_SIZE, hide_default_value = true)]
    pub blur_size: usize,
    /// Box blur of this (odd) side.
    #[arg(long)]
    pub box_blur: Option<usize>,
    /// Motion blur LENGTH,ANGLE (pixels, degrees from horizontal).
    #[arg(long, value_parser = parse_motion)]
    pub motion_blur: Option<(usize, f32)>,
}

#[derive(Args, Debug)]
pub struct DegradeArgs {
    /// Clean input image (PNG or JPEG).
    #[arg(short, long)]
    pub input: PathBuf,
    /// Damaged output image; its extension picks the format.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub damage: DamageArgs,
    /// Remove this fraction of pixels at random (write the mask with --mask-out to restore).
    #[arg(long, value_parser = fraction)]
    pub missing: Option<f32>,
    /// Also write the missing pixels as a mask image (white = missing), for `restore --mask`.
    #[arg(long)]
    pub mask_out: Option<PathBuf>,
    /// Seed of the noise and the missing pixels.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Overwrite outputs that exist (without it an existing output is refused).
    #[arg(long)]
    pub force: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodArg {
    /// MAP latent code, then per pixel the posterior mean given the observation (default)
    Posterior,
    /// the latent code maximising the posterior; its decoded mean
    Map,
    /// iterative imputation (refill unknown pixels, re-encode)
    Impute,
    /// encode, decode the mean
    Project,
}

/// The knobs of the VAE methods (defaults are the documented ones).
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Adam steps on the latent code (map, posterior) [default: 150; 0 for a denoising VAE
    /// (trained with --corrupt-noise), whose encoder's code is kept as it is].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Adam's learning rate on the latent code.
    #[arg(long, default_value_t = 0.05, value_parser = positive)]
    pub step_lr: f32,
    /// The model's own error as a noise level, softening the latent fit [default: 0.25 with a
    /// mask, 0.04 with a blur, else 0.1; tuned on digits that are never scored].
    #[arg(long, value_parser = positive)]
    pub model_sigma: Option<f32>,
    /// Scale of the decoder's pixel variance (default: the checkpoint's calibrated value).
    #[arg(long, value_parser = positive)]
    pub var_scale: Option<f32>,
    /// Codes drawn around the MAP code and importance-weighted for the posterior mean
    /// (posterior, without a blur); 1 (default) uses the MAP code alone, which measured as
    /// well or better on digits (BENCHMARKS.md).
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub samples: usize,
    /// Spread (standard deviation) of those codes around the MAP code.
    #[arg(long, default_value_t = 0.15, value_parser = positive)]
    pub sample_scale: f32,
    /// Pixels between overlapping windows on images larger than the model [default: half a
    /// window; a quarter for a denoising VAE]; closer windows average more estimates of each
    /// pixel and take longer.
    #[arg(long, value_parser = at_least_one)]
    pub window_step: Option<usize>,
    /// Images (or windows) restored per GPU batch (times --samples rows on the GPU).
    #[arg(long, default_value_t = wgvae::restore::prior::DEFAULT_BATCH, value_parser = at_least_one)]
    pub batch: usize,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference (the clean picture).
    pub reference: PathBuf,
    /// Pictures of the same size and channels to score against it.
    #[arg(required = true)]
    pub pictures: Vec<PathBuf>,
    /// One JSON object per picture, one per line, instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EstimateNoiseArgs {
    /// Pictures (PNG, JPEG, ...).
    #[arg(required = true)]
    pub input: Vec<PathBuf>,
    /// One JSON object per picture, one per line, instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The prior: a built-in model (digits, photo-grey, photo-rgb) or a checkpoint written by
    /// `wgvae train` [default: chosen by the picture: photo-rgb for a colour photo, photo-grey
    /// for a grey one, digits for a grey picture of at most 56x56].
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<ModelSource>,
    /// Damaged images, or one folder of them.
    #[arg(short, long, num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// Output image (one input) or folder (several inputs or a folder; names are kept).
    #[arg(short, long)]
    pub output: PathBuf,
    /// JPEG quality of a .jpg output (1-100).
    #[arg(long, default_value_t = wgvae::picture::JPEG_QUALITY,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    #[command(flatten)]
    pub damage: DamageArgs,
    /// How the prior restores the image.
    #[arg(long, value_enum, default_value_t = MethodArg::Posterior)]
    pub method: MethodArg,
    #[command(flatten)]
    pub knobs: MethodArgs,
    /// Overwrite outputs that exist (without it an existing output is refused).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct EvalRestoreArgs {
    /// The prior: a built-in model (digits, photo-grey, photo-rgb) or a checkpoint
    /// [default: digits].
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<ModelSource>,
    /// Data folder (its test split); default: the embedded MNIST test subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Images scored (the first of the test split).
    #[arg(long, default_value_t = 1000, value_parser = at_least_one)]
    pub n: usize,
    /// Score from this image of the test split on (tuning runs use a slice never reported).
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// Validation images for tuning (the last of the test split, never scored).
    #[arg(long, default_value_t = 200, value_parser = at_least_one)]
    pub val: usize,
    /// Only the cases whose name contains one of these (e.g. "noise", "blur").
    #[arg(long, num_args = 1..)]
    pub cases: Vec<String>,
    /// Folder for table.txt, table.csv and strip.png.
    #[arg(long, default_value = "runs/eval-restore")]
    pub out: PathBuf,
    /// Overwrite table.txt, table.csv and strip.png in --out (without it they are refused).
    #[arg(long)]
    pub force: bool,
    /// Seed of the damage.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the classical baselines.
    #[arg(long)]
    pub no_baselines: bool,
    /// The photo benchmark: score the whole photos of DIR/test (noise 15, 25, 50 on 0-255,
    /// half the pixels missing, a text overlay, blur 1.6 plus noise 2), restored through
    /// overlapping windows; tune on crops of DIR/train. --n caps the photos scored.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "skip", "val"])]
    pub photos: Option<PathBuf>,
    /// With --photos: also write the clean and damaged photos as scored, as 8-bit PNGs, into
    /// --out/inputs (for scoring other tools, such as tools/bm3d-photos.py, on the same inputs).
    #[arg(long, requires = "photos")]
    pub keep_inputs: bool,
    /// With --photos: the method scored (a denoising VAE, trained with --corrupt-noise, takes
    /// no MAP steps by default: its posterior is the blend of each window and its
    /// encode-decode).
    #[arg(long, value_enum, default_value_t = MethodArg::Posterior, requires = "photos")]
    pub method: MethodArg,
    /// With --photos: score the photos in grey or in colour [default: the model's channels]; a
    /// grey model restores each channel of a colour photo as a grey image of its own.
    #[arg(long, value_enum, requires = "photos")]
    pub color: Option<ColorArg>,
    #[command(flatten)]
    pub knobs: MethodArgs,
}

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("adjustment")
        .required(true)
        .multiple(true)
        .args(["auto_levels", "brightness", "contrast", "saturation", "gamma", "vae_refine"])
))]
pub struct EnhanceArgs {
    /// Input picture (PNG, JPEG, ...): grey stays grey, colour is read as RGB.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Output picture, in the format its extension names (.png, .jpg); not the input.
    #[arg(short, long)]
    pub output: PathBuf,
    /// JPEG quality of a .jpg output (1-100).
    #[arg(long, default_value_t = wgvae::picture::JPEG_QUALITY,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Stretch the levels: LOW% of the samples (all channels pooled) go to black, (100 - HIGH)%
    /// to white, one stretch for every channel [default: 1,99].
    #[arg(long, value_name = "LOW,HIGH", num_args = 0..=1, default_missing_value = "1,99",
          value_parser = parse_levels)]
    pub auto_levels: Option<(f64, f64)>,
    /// Pillow's Brightness: multiply by B (0 black, 1 unchanged).
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = parse_brightness)]
    pub brightness: Option<f32>,
    /// Pillow's Contrast: move away from (C > 1) or towards (C < 1) the mean grey.
    #[arg(long, value_name = "C", allow_negative_numbers = true, value_parser = parse_contrast)]
    pub contrast: Option<f32>,
    /// Pillow's Color: move away from (S > 1) or towards (S < 1) each pixel's luma; 0 is grey.
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = parse_saturation)]
    pub saturation: Option<f32>,
    /// out = in^(1/G), as GIMP's levels and ImageMagick's -gamma: G > 1 brightens mid-tones.
    #[arg(long, value_name = "G", allow_negative_numbers = true, value_parser = parse_gamma)]
    pub gamma: Option<f32>,
    /// Denoise first with a VAE prior: blend in, per pixel, the importance-weighted mean of K
    /// decoded codes around the MAP code of each window (restore's posterior method).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub vae_refine: Option<u32>,
    /// The prior for --vae-refine: a built-in model (digits, photo-grey, photo-rgb) or a
    /// checkpoint [default: chosen by the picture, as restore chooses].
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<ModelSource>,
    /// The noise level --vae-refine assumes in the input, on [0, 1].
    #[arg(long, default_value_t = 0.05, value_parser = positive)]
    pub refine_sigma: f32,
    /// Overwrite outputs that exist (without it an existing output is refused).
    #[arg(long)]
    pub force: bool,
}
