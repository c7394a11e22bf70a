//! `wgvae info` and `wgvae inspect`: the library's reports printed as text or as one JSON object.

use std::path::Path;

use serde::Serialize;
use wgvae::checkpoint::CheckpointError;
use wgvae::error::GpuError;
use wgvae::gpu::context::DeviceOptions;
use wgvae::{info, inspect};

/// Prints `report` as one line of JSON, or as the text `text` makes of it.
fn print<R: Serialize>(report: &R, json: bool, text: impl Fn(&R) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("plain structs serialise to JSON")
        );
    } else {
        print!("{}", text(report));
    }
}

/// `options`: what a device would be opened with (`--no-subgroups`), which decides the default
/// linear variant reported.
pub fn info(wanted: Option<&str>, options: DeviceOptions, json: bool) -> Result<(), GpuError> {
    print(&info::report(wanted, options)?, json, info::text);
    Ok(())
}

pub fn inspect(path: &Path, json: bool) -> Result<(), CheckpointError> {
    print(&inspect::report(path)?, json, inspect::text);
    Ok(())
}
