//! Restoration: degradations (and their operators A, A^T), the VAE-prior methods, tiling of
//! large images, classical baselines and the quality metrics that compare them.

pub mod blur;
pub mod cases;
pub mod degrade;
pub mod engine;
pub mod methods;
pub mod program;
pub mod evaluate;
pub mod tiles;
pub mod commands;
pub mod scoreboard;
pub mod baselines;
