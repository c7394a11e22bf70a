//! Restoration: degradations (and their operators A, A^T), the VAE-prior methods, tiling of
//! large images, the photo denoiser's steps, classical filters and the quality metrics.
//! [`Restorer`] is the front door; the benchmarks that score all of it live in `crate::eval`.

pub mod blur;
pub mod classical;
pub mod degrade;
pub mod denoiser;
pub mod engine;
pub mod mask;
pub mod methods;
pub mod metrics;
pub mod noise_level;
pub mod prior;
pub mod program;
pub mod request;
pub mod restorer;
pub mod text_mask;
pub mod tiles;

pub use prior::{MethodOptions, Prior, PriorError};
pub use restorer::{RestoreError, RestoreOptions, RestoreProgress, Restorer};
