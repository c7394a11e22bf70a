//! The checkpoint's safetensors encoding: tensors named and shaped by the model's layout,
//! the metadata, and every check on reading (structure, metadata, dtype, shape, no stray
//! tensors, finite values).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, TensorView};
use safetensors::SafeTensors;
use serde::Serialize;

use super::compat::summary;
use super::{CheckpointError, CheckpointMeta, FORMAT_VERSION, META_KEY};
use crate::config::ModelConfig;
use crate::model::arch::Arch;
use crate::model::layout::{Layout, ALIGN_FLOATS};

/// Names of the layout tensors of `values` that hold a NaN or an infinity.
pub fn non_finite_tensors(layout: &Layout, values: &[f32]) -> Vec<String> {
    layout
        .tensors
        .iter()
        .filter(|t| values[t.range()].iter().any(|v| !v.is_finite()))
        .map(|t| t.name.clone())
        .collect()
}

pub(super) fn metadata(meta: &CheckpointMeta, optimizer: bool) -> HashMap<String, String> {
    let mut map = HashMap::new();
    // Hugging Face's loaders (transformers, diffusers) check this key: the tensors are laid out
    // as PyTorch's own state dict
    map.insert("format".to_string(), "pt".to_string());
    if optimizer {
        map.insert(META_KEY.to_string(), to_json(meta));
    } else {
        // the loss records of a mid-epoch checkpoint are resume state: the Adam file's alone
        let mut model_meta = meta.clone();
        if let Some(mid) = &mut model_meta.mid_epoch {
            mid.losses.clear();
        }
        map.insert(META_KEY.to_string(), to_json(&model_meta));
    }
    map.insert("config".to_string(), to_json(&meta.config));
    map.insert("epoch".to_string(), meta.epoch.to_string());
    map.insert("step".to_string(), meta.step.to_string());
    map.insert("seed".to_string(), meta.seed.to_string());
    if optimizer {
        map.insert("optimizer".to_string(), "adam".to_string());
    }
    map
}

/// JSON of a plain struct (string keys only), which cannot fail.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain structs serialise to JSON")
}

pub(super) fn check_len(
    path: &Path,
    what: &'static str,
    values: &[f32],
    layout: &Layout,
    config: &ModelConfig,
) -> Result<(), CheckpointError> {
    if values.len() == layout.total {
        return Ok(());
    }
    Err(CheckpointError::Length {
        path: path.to_path_buf(),
        what,
        got: values.len(),
        expected: layout.total,
        model: summary(config),
    })
}

/// The file's bytes: for each `(prefix, buffer)`, one tensor `<prefix><name>` per layout tensor.
pub(super) fn serialise(
    path: &Path,
    layout: &Layout,
    buffers: &[(&str, &[f32])],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let serialise_err = |source| CheckpointError::Serialise {
        path: path.to_path_buf(),
        source,
    };
    // Little-endian bytes of every buffer first; the views borrow them.
    let bytes: Vec<Vec<u8>> = buffers
        .iter()
        .map(|(_, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(buffers.len() * layout.tensors.len());
    for ((prefix, _), bytes) in buffers.iter().zip(&bytes) {
        for t in &layout.tensors {
            let data = &bytes[t.offset * 4..(t.offset + t.len()) * 4];
            let view = TensorView::new(Dtype::F32, t.shape.clone(), data).map_err(serialise_err)?;
            views.push((format!("{prefix}{}", t.name), view));
        }
    }
    safetensors::serialize(views, Some(meta)).map_err(serialise_err)
}

/// A parsed safetensors file: its header and the bytes after it.
pub(super) struct Parsed<'a> {
    header: Metadata,
    data: &'a [u8],
}

/// Checks the safetensors structure and reads the `"wgvae"` metadata.
pub(super) fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<(Parsed<'a>, CheckpointMeta), CheckpointError> {
    let (n, header) =
        SafeTensors::read_metadata(bytes).map_err(|source| CheckpointError::Format {
            path: path.to_path_buf(),
            source,
        })?;
    // read_metadata checked that 8 + n + the tensors' bytes is exactly the file's length.
    let data = &bytes[8 + n..];
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| CheckpointError::NoMetadata {
            path: path.to_path_buf(),
        })?;
    let meta: CheckpointMeta =
        serde_json::from_str(json).map_err(|source| CheckpointError::BadMetadata {
            path: path.to_path_buf(),
            source,
        })?;
    if meta.format_version != FORMAT_VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: meta.format_version,
        });
    }
    Ok((Parsed { header, data }, meta))
}

/// `Layout::new(config)` once the config is known to be valid and its sizes to fit in `usize`
/// (a corrupt config must give an error, not an overflow or a panic).
pub(super) fn checked_layout(path: &Path, config: &ModelConfig) -> Result<Layout, CheckpointError> {
    let invalid = |reason: String| CheckpointError::InvalidConfig {
        path: path.to_path_buf(),
        reason,
    };
    config.validate().map_err(invalid)?;
    // validate() bounds every size, so the arithmetic below cannot overflow; the model may
    // still be too large to address in bytes
    let floats: u128 = Arch::new(config)
        .param_layers()
        .map(|l| {
            let w: usize = l.weight_shape().iter().product();
            (w.div_ceil(ALIGN_FLOATS) + l.bias_len().div_ceil(ALIGN_FLOATS)) as u128
        })
        .sum::<u128>()
        * ALIGN_FLOATS as u128
        + ALIGN_FLOATS as u128;
    let fits = || Some(()).filter(|_| floats * 4 <= isize::MAX as u128);
    if fits().is_none() {
        return Err(invalid(format!(
            "the model ({}) is too large to address",
            summary(config)
        )));
    }
    Ok(Layout::new(config))
}

/// Checks that `file` holds exactly the tensors `<prefix><name>` of `layout` for each prefix,
/// F32 and with the layout's shapes, and copies each prefix's tensors into a flat buffer.
pub(super) fn gather(
    path: &Path,
    file: &Parsed,
    layout: &Layout,
    config: &ModelConfig,
    prefixes: &[&str],
) -> Result<Vec<Vec<f32>>, CheckpointError> {
    let stored = file.header.tensors();
    let mut problems = Vec::new();
    let mut wanted = BTreeSet::new();
    for prefix in prefixes {
        for t in &layout.tensors {
            let name = format!("{prefix}{}", t.name);
            match stored.get(&name) {
                None => problems.push(format!("missing tensor {name}")),
                Some(info) => {
                    if info.dtype != Dtype::F32 {
                        problems.push(format!("{name} has dtype {}, expected F32", info.dtype));
                    }
                    if info.shape != t.shape {
                        problems.push(format!(
                            "{name} has shape {:?}, expected {:?}",
                            info.shape, t.shape
                        ));
                    }
                }
            }
            wanted.insert(name);
        }
    }
    let mut unexpected: Vec<&String> = stored.keys().filter(|k| !wanted.contains(*k)).collect();
    unexpected.sort();
    problems.extend(
        unexpected
            .into_iter()
            .map(|k| format!("unexpected tensor {k}")),
    );
    if !problems.is_empty() {
        return Err(CheckpointError::Tensors {
            path: path.to_path_buf(),
            model: summary(config),
            problems,
        });
    }
    let mut out = Vec::with_capacity(prefixes.len());
    for prefix in prefixes {
        let mut flat = vec![0.0f32; layout.total];
        for t in &layout.tensors {
            let info = stored[&format!("{prefix}{}", t.name)];
            // Shape and dtype match, and read_metadata checked the offsets against the file.
            let bytes = &file.data[info.data_offsets.0..info.data_offsets.1];
            for (dst, src) in flat[t.range()].iter_mut().zip(bytes.chunks_exact(4)) {
                *dst = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
            }
        }
        out.push(flat);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_config_is_an_error_not_a_panic() {
        let c = ModelConfig {
            height: usize::MAX / 2,
            width: 3,
            ..ModelConfig::default()
        };
        let e = checked_layout(Path::new("x"), &c).unwrap_err();
        assert!(e.to_string().contains("image size"), "{e}");
    }
}
