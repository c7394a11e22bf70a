//! The command line (clap derive). Handlers live in `commands.rs`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::enhance;

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
    /// Damage an image on purpose (noise, blur, missing pixels), seeded: test data for restore.
    Degrade(DegradeArgs),
    /// Restore damaged images with a VAE as the prior (denoise, inpaint, deblur).
    Restore(RestoreArgs),
    /// Score every restoration method and classical baseline on held-out images (PSNR, SSIM).
    EvalRestore(EvalRestoreArgs),
    /// Adjust a picture's levels, brightness, contrast, saturation and gamma on the GPU (in that
    /// order, whatever the order of the flags).
    Enhance(EnhanceArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LikelihoodArg {
    Bernoulli,
    /// alias of bernoulli
    Bce,
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
pub enum ColorArg {
    Grey,
    /// alias of grey
    Gray,
    Rgb,
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
    /// Model family.
    #[arg(long, value_enum, default_value_t = ArchArg::Mlp)]
    pub arch: ArchArg,
    /// Conv: output channels of the encoder's k4 s2 p1 convolutions (each halves the image);
    /// the decoder's transposed convolutions mirror them [default: 32 64].
    #[arg(long, num_args = 1..)]
    pub channels: Option<Vec<usize>>,
    /// Dense hidden sizes from the input side (after the convolutions for conv); the decoder
    /// mirrors them [default: 400 for mlp, 256 for conv].
    #[arg(long, num_args = 1..)]
    pub hidden: Option<Vec<usize>>,
    /// Images in grey (1 channel) or RGB (3 channels, stored planar).
    #[arg(long, value_enum, default_value_t = ColorArg::Grey)]
    pub color: ColorArg,
    /// Train on random PxP patches of the images (fresh each epoch, seeded) instead of whole
    /// images fitted to --size; the model's size is then PxP.
    #[arg(long)]
    pub patch: Option<usize>,
    /// Patches per epoch with --patch.
    #[arg(long, default_value_t = 10_000)]
    pub patches: usize,
    /// With --patch: flip and rotate each patch at random (the square's 8 symmetries).
    #[arg(long)]
    pub augment: bool,
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
    /// Evaluate on random patches of the model's size cut from the test images (as a patch
    /// model was trained) instead of whole images fitted to it.
    #[arg(long)]
    pub patch: bool,
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
    /// The model `train` measures: the default MLP or the comparison conv VAE.
    #[arg(long, value_enum, default_value_t = ArchArg::Mlp)]
    pub arch: ArchArg,
    #[arg(long, default_value_t = 8)]
    pub steps_per_submit: usize,
    /// The prior `restore` measures [default: models/mnist-mlp.safetensors].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchWhat {
    Kernels,
    Train,
    /// restored images per second per method (noise 0.1), and one 512x512 image tiled
    Restore,
}

/// How an image was (or is to be) damaged; shared by `degrade` and `restore`.
#[derive(Args, Debug, Clone)]
pub struct DamageArgs {
    /// Additive Gaussian noise of this standard deviation, on [0, 1] (0.1 is 25.5 on 0-255).
    #[arg(long)]
    pub noise_sigma: Option<f32>,
    /// Poisson shot noise: y = Poisson(peak x) / peak (lower is noisier).
    #[arg(long)]
    pub poisson_peak: Option<f32>,
    /// Salt-and-pepper: this fraction of values set to 0 or 1.
    #[arg(long)]
    pub salt_pepper: Option<f32>,
    /// Missing pixels from a mask image of the same size: white (or any value >= 128) = missing.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// A missing rectangle: X,Y,WIDTH,HEIGHT in pixels.
    #[arg(long, value_parser = parse_rect)]
    pub mask_rect: Option<[usize; 4]>,
    /// Gaussian blur of this sigma in pixels (kernel: --blur-size, default 3 sigma each side).
    #[arg(long)]
    pub blur_sigma: Option<f32>,
    /// Side of the Gaussian blur kernel (odd).
    #[arg(long, default_value_t = 0)]
    pub blur_size: usize,
    /// Box blur of this (odd) side.
    #[arg(long)]
    pub box_blur: Option<usize>,
    /// Motion blur LENGTH,ANGLE (pixels, degrees from horizontal).
    #[arg(long, value_parser = parse_motion)]
    pub motion_blur: Option<(usize, f32)>,
}

pub fn parse_rect(s: &str) -> Result<[usize; 4], String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected X,Y,WIDTH,HEIGHT as whole numbers, got {s:?}"))?;
    match v[..] {
        [x, y, w, h] if w > 0 && h > 0 => Ok([x, y, w, h]),
        [_, _, _, _] => Err(format!("the rectangle {s:?} is empty")),
        _ => Err(format!("expected X,Y,WIDTH,HEIGHT, got {s:?}")),
    }
}

pub fn parse_motion(s: &str) -> Result<(usize, f32), String> {
    let (l, a) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LENGTH,ANGLE, got {s:?}"))?;
    let l: usize = l
        .trim()
        .parse()
        .map_err(|_| format!("bad length in {s:?}"))?;
    let a: f32 = a
        .trim()
        .parse()
        .map_err(|_| format!("bad angle in {s:?}"))?;
    if l == 0 || !a.is_finite() {
        return Err(format!(
            "the motion blur {s:?} needs a length >= 1 and a finite angle"
        ));
    }
    Ok((l, a))
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
    #[arg(long)]
    pub missing: Option<f32>,
    /// Also write the missing pixels as a mask image (white = missing), for `restore --mask`.
    #[arg(long)]
    pub mask_out: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
    /// Adam steps on the latent code (map, posterior).
    #[arg(long, default_value_t = 150)]
    pub steps: usize,
    /// Adam's learning rate on the latent code.
    #[arg(long, default_value_t = 0.05)]
    pub step_lr: f32,
    /// The model's own error as a noise level, softening the latent fit [default: 0.25 with a
    /// mask, 0.04 with a blur, else 0.1; tuned on digits that are never scored].
    #[arg(long)]
    pub model_sigma: Option<f32>,
    /// Scale of the decoder's pixel variance (default: the checkpoint's calibrated value).
    #[arg(long)]
    pub var_scale: Option<f32>,
    /// Codes drawn around the MAP code and importance-weighted for the posterior mean
    /// (posterior, without a blur); 1 (default) uses the MAP code alone, which measured as
    /// well or better on digits (BENCHMARKS.md).
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    /// Spread (standard deviation) of those codes around the MAP code.
    #[arg(long, default_value_t = 0.15)]
    pub sample_scale: f32,
    /// Images (or windows) restored per GPU batch (times --samples rows on the GPU).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Checkpoint of the prior [default: models/mnist-mlp.safetensors].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Damaged images, or one folder of them.
    #[arg(short, long, num_args = 1.., required = true)]
    pub input: Vec<PathBuf>,
    /// Output image (one input) or folder (several inputs or a folder; names are kept).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub damage: DamageArgs,
    #[arg(long, value_enum, default_value_t = MethodArg::Posterior)]
    pub method: MethodArg,
    #[command(flatten)]
    pub knobs: MethodArgs,
}

#[derive(Args, Debug)]
pub struct EvalRestoreArgs {
    /// Checkpoint of the prior [default: models/mnist-mlp.safetensors].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Data folder (its test split); default: the embedded MNIST test subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Images scored (the first of the test split).
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// Score from this image of the test split on (tuning runs use a slice never reported).
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// Validation images for tuning (the last of the test split, never scored).
    #[arg(long, default_value_t = 200)]
    pub val: usize,
    /// Only the cases whose name contains one of these (e.g. "noise", "blur").
    #[arg(long, num_args = 1..)]
    pub cases: Vec<String>,
    /// Folder for table.txt, table.csv and strip.png.
    #[arg(long, default_value = "runs/eval-restore")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the classical baselines.
    #[arg(long)]
    pub no_baselines: bool,
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
    /// The prior for --vae-refine [default: models/mnist-mlp.safetensors].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The noise level --vae-refine assumes in the input, on [0, 1].
    #[arg(long, default_value_t = 0.05)]
    pub refine_sigma: f32,
}

fn parse_f32(s: &str) -> Result<f32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

fn parse_brightness(s: &str) -> Result<f32, String> {
    enhance::check_factor("--brightness", parse_f32(s)?).map_err(|e| e.to_string())
}

fn parse_contrast(s: &str) -> Result<f32, String> {
    enhance::check_factor("--contrast", parse_f32(s)?).map_err(|e| e.to_string())
}

fn parse_saturation(s: &str) -> Result<f32, String> {
    enhance::check_factor("--saturation", parse_f32(s)?).map_err(|e| e.to_string())
}

fn parse_gamma(s: &str) -> Result<f32, String> {
    enhance::check_gamma(parse_f32(s)?).map_err(|e| e.to_string())
}

/// `LOW,HIGH` percentiles.
pub fn parse_levels(s: &str) -> Result<(f64, f64), String> {
    let (low, high) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LOW,HIGH percentiles such as 1,99, got {s:?}"))?;
    let number = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("expected LOW,HIGH percentiles such as 1,99, got {s:?}"))
    };
    enhance::check_levels(number(low)?, number(high)?).map_err(|e| e.to_string())
}
