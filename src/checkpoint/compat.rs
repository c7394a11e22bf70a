//! Config compatibility: a checkpoint's stored config against the one a run asks for, each
//! differing field named in the order people read a config.

use std::path::Path;

use super::CheckpointError;
use crate::config::ModelConfig;

/// Fields of `ModelConfig` in declaration order (fields added later are compared too and listed
/// after these, alphabetically).
pub const FIELD_ORDER: [&str; 11] = [
    "arch",
    "height",
    "width",
    "channels",
    "conv_channels",
    "hidden",
    "latent",
    "likelihood",
    "beta",
    "learn_variance",
    "gaussian_logvar",
];

pub(super) fn check_config(
    path: &Path,
    stored: &ModelConfig,
    expected: &ModelConfig,
) -> Result<(), CheckpointError> {
    if stored == expected {
        return Ok(());
    }
    let diffs = config_diff(stored, expected);
    let (fields, stored_s, expected_s) = if diffs.is_empty() {
        // Only NaN-like differences JSON cannot show; give both whole.
        (
            vec!["config".to_string()],
            format!("{stored:?}"),
            format!("{expected:?}"),
        )
    } else {
        let side = |pick: fn(&(String, String, String)) -> &String| {
            diffs
                .iter()
                .map(|d| format!("{} {}", d.0, pick(d)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        (
            diffs.iter().map(|d| d.0.clone()).collect(),
            side(|d| &d.1),
            side(|d| &d.2),
        )
    };
    Err(CheckpointError::ConfigMismatch {
        path: path.to_path_buf(),
        fields,
        stored: stored_s,
        expected: expected_s,
    })
}

/// `(field, stored value, expected value)` for every field that differs, values as short text.
pub(super) fn config_diff(
    stored: &ModelConfig,
    expected: &ModelConfig,
) -> Vec<(String, String, String)> {
    use serde_json::{Map, Value};
    // Through a string so f32 fields print as written ("0.1", not "0.10000000149011612").
    let object = |c: &ModelConfig| -> Map<String, Value> {
        serde_json::to_string(c)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    };
    let (a, b) = (object(stored), object(expected));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort_by_key(|k| {
        let rank = FIELD_ORDER
            .iter()
            .position(|f| f == k)
            .unwrap_or(FIELD_ORDER.len());
        (rank, k.as_str())
    });
    keys.dedup();
    let null = Value::Null;
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
            (x != y).then(|| (k.clone(), show(x), show(y)))
        })
        .collect()
}

fn show(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A short description of a model for messages: "mlp 1x28x28, hidden [400], latent 20,
/// bernoulli" (conv models add their channels).
pub(super) fn summary(c: &ModelConfig) -> String {
    let conv = if c.conv_channels.is_empty() {
        String::new()
    } else {
        format!(", channels {:?}", c.conv_channels)
    };
    format!(
        "{} {}x{}x{}{conv}, hidden {:?}, latent {}, {}",
        c.arch.name(),
        c.channels,
        c.height,
        c.width,
        c.hidden,
        c.latent,
        c.likelihood.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_differing_fields_in_order() {
        let a = ModelConfig::default();
        let b = ModelConfig {
            hidden: vec![512],
            beta: 0.1,
            ..ModelConfig::default()
        };
        let d = config_diff(&a, &b);
        assert_eq!(
            d,
            vec![
                ("hidden".into(), "[400]".into(), "[512]".into()),
                ("beta".into(), "1.0".into(), "0.1".into()),
            ]
        );
    }
}
