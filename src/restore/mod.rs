//! Restoration: degradations (and their operators A, A^T), the VAE-prior methods, tiling of
//! large images, classical baselines and the quality metrics that compare them.

pub mod baselines;
pub mod bench;
pub mod blur;
pub mod cases;
pub mod classical;
pub mod commands;
pub mod degrade;
pub mod denoiser;
pub mod engine;
pub mod evaluate;
pub mod mask;
pub mod methods;
pub mod metrics;
pub mod photo_eval;
pub mod prior;
pub mod program;
pub mod scoreboard;
pub mod text_mask;
pub mod tiles;
