//! The examples at the end of each command's `--help`.

pub const WGVAE: &str = "\
Examples:
  wgvae train                                          a VAE on the embedded MNIST subset
  wgvae sample --model runs/vae.safetensors -o samples.png
  wgvae restore -i noisy.png -o restored.png --noise-sigma 0.2
  wgvae info                                           adapters, limits, features

`wgvae <command> --help` shows each command's flags and examples.";
pub const INFO: &str = "\
Examples:
  wgvae info                          backends, adapters (by index), limits, features
  wgvae info --adapter 1              the same, choosing adapter [1]
  WGPU_BACKEND=gl wgvae info          search OpenGL instead of the primary backends
  wgvae info --json | jq .features    one JSON object";
pub const TRAIN: &str = "\
Examples:
  wgvae train                                     pytorch/examples/vae on the embedded subset
  wgvae train --data data/mnist --epochs 30       full MNIST (tools/fetch-mnist.sh)
  wgvae train --arch conv -o runs/conv.safetensors
  wgvae train --epochs 20 --resume                continue runs/vae.safetensors up to epoch 20
  wgvae train --epochs 20 --force                 start afresh over runs/vae.safetensors
  wgvae train --data photos --color rgb --patch 16 --augment
  wgvae train --json | jq .test_loss              one JSON object per epoch on stdout";
pub const EVAL: &str = "\
Examples:
  wgvae eval --model runs/vae.safetensors
  wgvae eval --model runs/vae.safetensors --data data/mnist --json";
pub const SAMPLE: &str = "\
Examples:
  wgvae sample --model runs/vae.safetensors -o samples.png
  wgvae sample --model runs/vae.safetensors -n 16 --reconstruct -o recon.png";
pub const INSPECT: &str = "\
Examples:
  wgvae inspect runs/vae.safetensors
  wgvae inspect models/mnist-mlp.safetensors --json | jq .data";
pub const BENCH: &str = "\
Examples:
  wgvae bench                                     every kernel, validated, then timed
  wgvae bench kernels --sweep --reps 3            linear products at batches 1 to 4096
  wgvae bench train --batch 128 1024
  wgvae bench restore --json";
pub const DEGRADE: &str = "\
Examples:
  wgvae degrade -i digit.png -o noisy.png --noise-sigma 0.2
  wgvae degrade -i digit.png -o holes.png --missing 0.5 --mask-out mask.png
  wgvae degrade -i digit.png -o blurred.png --blur-sigma 1.5";
pub const RESTORE: &str = "\
Examples:
  wgvae restore -i noisy.jpg -o clean.jpg         model and noise level found from the photo
  wgvae restore -i noisy.png -o restored.png --noise-sigma 0.2 --model digits
  wgvae restore -i holes.png -o filled.png --mask mask.png
  wgvae restore -i blurred.png -o sharp.png --blur-sigma 1.5 --noise-sigma 0.01
  wgvae restore -i damaged/ -o restored/ --noise-sigma 0.1 --model runs/vae.safetensors";
pub const COMPARE: &str = "\
Examples:
  wgvae compare clean.png noisy.png restored.png
  wgvae compare clean.png restored.png --json";
pub const ESTIMATE_NOISE: &str = "\
Examples:
  wgvae estimate-noise noisy.jpg
  wgvae estimate-noise photos/*.png --json";
pub const EVAL_RESTORE: &str = "\
Examples:
  wgvae eval-restore                              table.txt, table.csv, strip.png
  wgvae eval-restore --n 200 --cases noise --no-baselines";
pub const ENHANCE: &str = "\
Examples:
  wgvae enhance -i photo.jpg -o out.png --auto-levels --contrast 1.2 --gamma 1.1
  wgvae enhance -i scan.png -o clean.png --vae-refine 4";
pub const SERVE: &str = "\
Examples:
  wgvae serve                                   http://127.0.0.1:8080/ : the page and the API
  wgvae serve --port 0                          any free port (printed)
  curl -F image=@noisy.jpg -F noise_sigma=auto http://127.0.0.1:8080/api/restore -o clean.png
  curl -F image=@photo.png -F contrast=1.2 http://127.0.0.1:8080/api/enhance -o enhanced.png";

pub const COMPLETIONS: &str = "\
Examples:
  wgvae completions bash > ~/.local/share/bash-completion/completions/wgvae
  wgvae completions zsh > ~/.zfunc/_wgvae       with fpath+=(~/.zfunc) before compinit
  wgvae completions fish > ~/.config/fish/completions/wgvae.fish";
