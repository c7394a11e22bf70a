//! Checkpoints byte for byte: every tensor a checkpoint stores is the flat parameter buffer's
//! range for that tensor, row-major, little-endian F32, with the layout's shape, read back with
//! the safetensors crate (not with wgvae's loader), for an MLP and a conv model whose every
//! element is distinct, so a transpose, a shifted range or a swapped tensor shows; Adam's file
//! likewise; and the golden fixture's parameters, in PyTorch's own layout, round-trip to the
//! very bytes PyTorch wrote.

use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use wgvae::checkpoint::{self, CheckpointMeta};
use wgvae::config::{ArchKind, Likelihood, ModelConfig};
use wgvae::model::Model;

/// Distinct values per element (and per buffer, via `base`), exactly representable; padding
/// between tensors is -1, which no tensor holds.
fn distinct(model: &Model, base: f32) -> Vec<f32> {
    let mut v = vec![-1.0f32; model.layout.total];
    for t in &model.layout.tensors {
        for i in t.range() {
            v[i] = base + i as f32 * 0.25;
        }
    }
    v
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Every tensor `<prefix><name>` of `file` is F32, shaped as the layout says, and holds exactly
/// the bytes of `values[range]`; the file holds nothing else.
fn check_file(file: &[u8], model: &Model, buffers: &[(&str, &[f32])]) {
    let st = SafeTensors::deserialize(file).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want_names: Vec<String> = buffers
        .iter()
        .flat_map(|(p, _)| {
            model
                .layout
                .tensors
                .iter()
                .map(move |t| format!("{p}{}", t.name))
        })
        .collect();
    want_names.sort();
    assert_eq!(names, want_names, "the stored tensors");
    for (prefix, values) in buffers {
        for t in &model.layout.tensors {
            let name = format!("{prefix}{}", t.name);
            let view = st.tensor(&name).unwrap();
            assert_eq!(view.dtype(), Dtype::F32, "{name}");
            assert_eq!(view.shape(), &t.shape[..], "{name}");
            assert!(
                view.data() == le_bytes(&values[t.range()]).as_slice(),
                "{name}: stored bytes differ from the layout range {:?} in row-major order",
                t.range()
            );
        }
    }
}

fn check_save(cfg: &ModelConfig) {
    let model = Model::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let meta = CheckpointMeta::new(cfg.clone(), 3, 42, 7);
    let params = distinct(&model, 1.0);
    let (m, v) = (distinct(&model, 1e5), distinct(&model, -1e5));
    checkpoint::save_training_state(&path, &meta, &params, &m, &v).unwrap();
    check_file(&std::fs::read(&path).unwrap(), &model, &[("", &params)]);
    let adam = std::fs::read(checkpoint::optimizer_path(&path)).unwrap();
    check_file(&adam, &model, &[("m.", &m), ("v.", &v)]);

    // and wgvae's loader puts every value back where it was (padding reads as zero)
    let pad_zero =
        |v: &[f32]| -> Vec<f32> { v.iter().map(|&x| if x == -1.0 { 0.0 } else { x }).collect() };
    let (got_meta, got) = checkpoint::load_model(&path, Some(cfg)).unwrap();
    assert_eq!(got_meta, meta);
    assert_eq!(got, pad_zero(&params));
    let state = checkpoint::load_optimizer_state(&path, &meta).unwrap();
    assert_eq!((state.m, state.v), (pad_zero(&m), pad_zero(&v)));
}

/// A 2-level MLP with a learned Gaussian variance: non-square weights ([7, 12], [5, 7], ...),
/// so a transposed write keeps the byte count but not the order.
#[test]
fn mlp_checkpoint_tensors_are_the_layout_ranges_row_major() {
    check_save(&ModelConfig {
        height: 3,
        width: 4,
        hidden: vec![7, 5],
        latent: 2,
        likelihood: Likelihood::Gaussian,
        learn_variance: true,
        ..ModelConfig::default()
    });
}

/// A 2-level RGB conv model: Conv2d [out, in, k, k] and ConvTranspose2d [in, out, k, k] weights
/// with in != out.
#[test]
fn conv_checkpoint_tensors_are_the_layout_ranges_row_major() {
    check_save(&ModelConfig {
        arch: ArchKind::Conv,
        height: 8,
        width: 4,
        channels: 3,
        conv_channels: vec![4, 2],
        hidden: vec![5],
        latent: 3,
        ..ModelConfig::conv_default()
    });
}

/// The golden fixture holds PyTorch's own parameters of a small conv VAE (`state_dict()` written
/// by safetensors.torch): saving them through wgvae's layout writes every tensor with PyTorch's
/// shape and the very bytes PyTorch wrote.
#[test]
fn golden_conv_parameters_round_trip_to_pytorchs_bytes() {
    let fixture: &[u8] = include_bytes!("data/golden-conv.safetensors");
    let golden = SafeTensors::deserialize(fixture).unwrap();
    let (_, header) = SafeTensors::read_metadata(fixture).unwrap();
    let cfg: ModelConfig =
        serde_json::from_str(&header.metadata().as_ref().unwrap()["config"]).unwrap();
    assert_eq!(cfg.arch, ArchKind::Conv);
    let model = Model::new(&cfg).unwrap();
    let mut params = vec![0.0f32; model.layout.total];
    for t in &model.layout.tensors {
        let view = golden.tensor(&t.name).unwrap();
        assert_eq!(view.shape(), &t.shape[..], "fixture {}", t.name);
        for (dst, b) in params[t.range()]
            .iter_mut()
            .zip(view.data().chunks_exact(4))
        {
            *dst = f32::from_le_bytes(b.try_into().unwrap());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.safetensors");
    checkpoint::save_model(&path, &CheckpointMeta::new(cfg.clone(), 0, 0, 0), &params).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let saved = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(saved.len(), model.layout.tensors.len());
    for t in &model.layout.tensors {
        let (a, b) = (
            saved.tensor(&t.name).unwrap(),
            golden.tensor(&t.name).unwrap(),
        );
        assert_eq!(a.dtype(), b.dtype(), "{}", t.name);
        assert_eq!(a.shape(), b.shape(), "{}", t.name);
        assert!(
            a.data() == b.data(),
            "{}: bytes differ from PyTorch's",
            t.name
        );
    }
    let (_, loaded) = checkpoint::load_model(&path, Some(&cfg)).unwrap();
    assert_eq!(loaded, params);
}
