//! The plain-Rust reference: one function per kernel, same arguments in the same order as
//! `gpu::ops`, outputs first, shapes in comments. Slow and obvious on purpose.

pub mod conv;
pub mod corrupt;
pub mod enhance;
pub mod exec;
pub mod ops;
pub mod probe;
pub mod restore;
pub mod rng;
