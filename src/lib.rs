//! wgvae: variational autoencoders trained and used entirely in hand-written WGSL kernels.
//!
//! `model` describes the model once (layers, parameter layout, activations, programs as lists
//! of ops); `cpu` runs those programs with the plain-Rust reference of every kernel, `gpu`
//! records the same programs as WGSL dispatches through wgpu. Tests compare the two.
//!
//! The front doors: [`restore::Restorer`] (restoration with a trained prior),
//! [`train::train`] (training, with an observer), [`enhance`] (adjustments on the GPU),
//! [`sample`] (prior samples and reconstructions), [`eval`] (the restoration benchmarks). The
//! command line (`src/cli/`, the binary) is one front end of them; README.md "Use as a
//! library" has examples, run as doc tests.

pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod data;
pub mod enhance;
pub mod error;
pub mod eval;
pub mod gpu;
pub mod info;
pub mod inspect;
pub mod model;
pub mod picture;
pub mod plot;
pub mod restore;
pub mod sample;
#[cfg(all(feature = "serve", not(target_arch = "wasm32")))]
pub mod serve;
pub mod shape;
pub mod train;

/// README.md's Rust examples ("Use as a library"), run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
