//! wgvae: variational autoencoders trained and used entirely in hand-written WGSL kernels.
//!
//! `model` describes the model once (layers, parameter layout, activations, programs as lists
//! of ops); `cpu` runs those programs with the plain-Rust reference of every kernel, `gpu`
//! records the same programs as WGSL dispatches through wgpu. Tests compare the two.

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
pub mod shape;
pub mod train;
