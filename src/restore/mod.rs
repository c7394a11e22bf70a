//! Restoration: degradations (and their operators A, A^T), the VAE-prior methods, tiling of
//! large images, classical baselines and the quality metrics that compare them.

pub mod blur;
pub mod classical;
pub mod metrics;
