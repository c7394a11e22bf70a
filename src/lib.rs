//! wgvae: variational autoencoders trained and used entirely in hand-written WGSL kernels.
//!
//! `cpu` holds the plain-Rust reference of every kernel; `gpu` records the same calls as WGSL
//! dispatches through wgpu. Tests compare the two (see DESIGN.md in the docs folder of the
//! project for the map).

pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cpu;
pub mod data;
pub mod error;
pub mod gpu;
pub mod info;
pub mod layout;
pub mod plot;
pub mod progress;
pub mod sample;
pub mod shape;
pub mod train;
