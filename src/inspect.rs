//! `wgvae inspect M`: what a checkpoint holds, read without a GPU: the architecture and config,
//! the training state (epoch, step, seed), the pixel variance scale, the data it was trained on,
//! and every tensor with its shape; as text or as one JSON object.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::checkpoint::{self, CheckpointError, CheckpointMeta, TrainingData, FIELD_ORDER};
use crate::config::ModelConfig;
use crate::model::layout::Layout;

/// Everything `inspect` reports (the `--json` object).
#[derive(Debug, Serialize)]
pub struct Report {
    pub path: String,
    /// "mlp 1x28x28 -> [400] -> 20 (bernoulli, beta 1)"
    pub architecture: String,
    pub config: ModelConfig,
    pub epoch: usize,
    pub step: u64,
    pub seed: u64,
    pub format_version: u32,
    pub normalisation: String,
    pub pixel_var_scale: Option<f32>,
    /// None for checkpoints written before wgvae recorded it.
    pub data: Option<TrainingData>,
    /// Steps of epoch `epoch + 1` taken by a checkpoint written mid-epoch; 0 at an epoch's end.
    pub epoch_steps: u64,
    /// Adam's state for `--resume` lies beside the checkpoint.
    pub optimizer_state: bool,
    pub parameters: usize,
    pub tensors: Vec<Tensor>,
}

/// One parameter tensor of the checkpoint: its name, shape, element type and element count.
#[derive(Debug, Serialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: &'static str,
    pub count: usize,
}

/// Loads `path` with every check `eval` and `sample` make, and describes it.
pub fn report(path: &Path) -> Result<Report, CheckpointError> {
    let (meta, _) = checkpoint::load_model(path, None)?;
    let layout = Layout::new(&meta.config);
    let CheckpointMeta {
        config,
        epoch,
        step,
        seed,
        format_version,
        normalisation,
        pixel_var_scale,
        data,
        mid_epoch,
    } = meta;
    Ok(Report {
        path: path.display().to_string(),
        architecture: architecture(&config),
        epoch,
        step,
        seed,
        format_version,
        normalisation,
        pixel_var_scale,
        data,
        epoch_steps: mid_epoch.map_or(0, |m| m.steps),
        optimizer_state: checkpoint::optimizer_path(path).is_file(),
        parameters: layout.parameter_count(),
        tensors: layout
            .tensors
            .iter()
            .map(|t| Tensor {
                name: t.name.clone(),
                shape: t.shape.clone(),
                dtype: "F32",
                count: t.len(),
            })
            .collect(),
        config,
    })
}

/// The model in one line, as `train` announces it.
pub fn architecture(c: &ModelConfig) -> String {
    let conv = if c.conv_channels.is_empty() {
        String::new()
    } else {
        format!(" -> conv {:?}", c.conv_channels)
    };
    format!(
        "{} {}x{}x{}{conv} -> {:?} -> {} ({}, beta {})",
        c.arch.name(),
        c.channels,
        c.height,
        c.width,
        c.hidden,
        c.latent,
        c.likelihood.name(),
        c.beta
    )
}

/// The report as `inspect` prints it.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", r.path);
    let _ = writeln!(out, "  architecture     {}", r.architecture);
    let part = if r.epoch_steps > 0 {
        format!(" and {} steps of epoch {}", r.epoch_steps, r.epoch + 1)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  trained          epoch {}{part}, step {}, seed {}",
        r.epoch, r.step, r.seed
    );
    let _ = writeln!(out, "  data             {}", data_line(r.data.as_ref()));
    let _ = writeln!(
        out,
        "  pixel var scale  {}",
        r.pixel_var_scale.map_or(
            "not recorded (restore fits its own)".to_string(),
            |s| format!("{s:.4}")
        )
    );
    let _ = writeln!(
        out,
        "  optimizer state  {}",
        if r.optimizer_state {
            format!(
                "{} (for --resume)",
                checkpoint::optimizer_path(Path::new(&r.path)).display()
            )
        } else {
            "none beside it".to_string()
        }
    );
    let _ = writeln!(
        out,
        "  format           version {}, pixels {}",
        r.format_version, r.normalisation
    );
    let _ = writeln!(out, "config:");
    for (key, value) in config_fields(&r.config) {
        let _ = writeln!(out, "  {key:<16} {value}");
    }
    let _ = writeln!(
        out,
        "tensors ({}, {} parameters, F32):",
        r.tensors.len(),
        r.parameters
    );
    let width = r.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &r.tensors {
        let _ = writeln!(
            out,
            "  {:<width$}  {:<16} {:>10}",
            t.name,
            format!("{:?}", t.shape),
            t.count
        );
    }
    out
}

fn data_line(data: Option<&TrainingData>) -> String {
    let Some(d) = data else {
        return "not recorded (written before wgvae recorded it)".to_string();
    };
    let noise = d.corrupt_noise.map_or(String::new(), |s| {
        format!(", encoder inputs corrupted by Gaussian noise of sigma up to {s} (denoising)")
    });
    format!("{}{noise}", images_line(d))
}

fn images_line(d: &TrainingData) -> String {
    match d.patch {
        None => format!(
            "{} ({} training, {} test images)",
            d.source, d.train_count, d.test_count
        ),
        Some(p) => format!(
            "{} ({} random {p}x{p} patches per epoch{}, {} test patches)",
            d.source,
            d.train_count,
            if d.augment {
                ", flipped and rotated"
            } else {
                ""
            },
            d.test_count
        ),
    }
}

/// The config's fields as (name, JSON value) in declaration order.
fn config_fields(c: &ModelConfig) -> Vec<(String, String)> {
    let serde_json::Value::Object(map) = serde_json::to_value(c).expect("a plain struct") else {
        return Vec::new();
    };
    let mut fields: Vec<(String, String)> =
        map.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    fields.sort_by_key(|(k, _)| {
        FIELD_ORDER
            .iter()
            .position(|f| f == k)
            .unwrap_or(FIELD_ORDER.len())
    });
    fields
}
