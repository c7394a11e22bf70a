//! Checkpoint files: round trips, the exact PyTorch names and shapes, and every way loading can
//! fail (no GPU needed).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use wgvae::checkpoint::{
    load_model, load_optimizer_state, optimizer_path, save_model, save_training_state,
    CheckpointError, CheckpointMeta, TrainingData,
};
use wgvae::config::{Likelihood, ModelConfig};
use wgvae::model::layout::Layout;

/// Distinct, non-trivial values in every tensor (including negative zero and subnormals, which a
/// lossy path would change), zero in the padding.
fn params(layout: &Layout, salt: u32) -> Vec<f32> {
    let mut p = vec![0.0f32; layout.total];
    for t in &layout.tensors {
        for (i, v) in p[t.range()].iter_mut().enumerate() {
            let bits = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(salt.wrapping_mul(97))
                .rotate_left(7);
            *v = f32::from_bits(bits);
            if !v.is_finite() {
                *v = (i as f32 - 1000.5) * 1e-3;
            }
        }
        p[t.offset] = -0.0;
    }
    p
}

fn meta(config: ModelConfig) -> CheckpointMeta {
    CheckpointMeta::new(config, 3, 1407, 42)
}

fn deep_gaussian() -> ModelConfig {
    ModelConfig {
        hidden: vec![512, 256],
        latent: 16,
        likelihood: Likelihood::Gaussian,
        beta: 0.5,
        learn_variance: true,
        gaussian_logvar: -2.25,
        ..ModelConfig::default()
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Writes a safetensors file with the given F32 tensors (zeros) and metadata, bypassing wgvae.
fn write_raw(path: &Path, tensors: &[(&str, Vec<usize>)], meta: HashMap<String, String>) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, shape)| vec![0u8; shape.iter().product::<usize>() * 4])
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape), b)| {
            (
                name.to_string(),
                TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

/// The metadata wgvae writes for `m`, read back from a real checkpoint.
fn wgvae_metadata(dir: &Path, m: &CheckpointMeta) -> HashMap<String, String> {
    let p = dir.join("ref.safetensors");
    save_model(&p, m, &vec![0.0; Layout::new(&m.config).total]).unwrap();
    let bytes = fs::read(&p).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    header.metadata().clone().unwrap()
}

/// The default layout's tensors with one change applied.
fn default_tensors(
    edit: impl FnOnce(&mut Vec<(&'static str, Vec<usize>)>),
) -> Vec<(&'static str, Vec<usize>)> {
    let mut t = vec![
        ("fc1.weight", vec![400, 784]),
        ("fc1.bias", vec![400]),
        ("fc21.weight", vec![20, 400]),
        ("fc21.bias", vec![20]),
        ("fc22.weight", vec![20, 400]),
        ("fc22.bias", vec![20]),
        ("fc3.weight", vec![400, 20]),
        ("fc3.bias", vec![400]),
        ("fc4.weight", vec![784, 400]),
        ("fc4.bias", vec![784]),
    ];
    edit(&mut t);
    t
}

#[test]
fn round_trip_is_bit_exact_for_default_and_deep_gaussian() {
    let dir = tempfile::tempdir().unwrap();
    for (i, config) in [ModelConfig::default(), deep_gaussian()]
        .into_iter()
        .enumerate()
    {
        let layout = Layout::new(&config);
        let p = params(&layout, i as u32 + 1);
        let m = meta(config.clone());
        let path = dir.path().join(format!("m{i}.safetensors"));
        save_model(&path, &m, &p).unwrap();

        let (m2, p2) = load_model(&path, Some(&config)).unwrap();
        assert_eq!(m2, m);
        assert_eq!(m2.format_version, 1);
        assert_eq!(m2.normalisation, "u8/255");
        assert_eq!(p2.len(), layout.total);
        assert_eq!(bits(&p2), bits(&p), "config {i}: parameters changed");

        // Without an expected config the stored one is used.
        let (m3, p3) = load_model(&path, None).unwrap();
        assert_eq!(m3.config, config);
        assert_eq!(bits(&p3), bits(&p));
    }
}

#[test]
fn padding_is_not_stored_and_loads_as_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModelConfig::default();
    let layout = Layout::new(&config);
    let mut p = params(&layout, 9);
    let clean = p.clone();
    // Dirty every padding gap.
    let mut used = vec![false; layout.total];
    for t in &layout.tensors {
        used[t.range()].iter_mut().for_each(|u| *u = true);
    }
    let gaps = used.iter().filter(|u| !**u).count();
    assert!(gaps > 0, "the default layout has padding");
    for (v, u) in p.iter_mut().zip(&used) {
        if !u {
            *v = 7.0;
        }
    }
    let path = dir.path().join("m.safetensors");
    save_model(&path, &meta(config), &p).unwrap();
    let (_, loaded) = load_model(&path, None).unwrap();
    assert_eq!(bits(&loaded), bits(&clean));
}

#[test]
fn file_holds_exactly_the_pytorch_names_shapes_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModelConfig::default();
    let layout = Layout::new(&config);
    let p = params(&layout, 5);
    let m = meta(config.clone());
    let path = dir.path().join("m.safetensors");
    save_model(&path, &m, &p).unwrap();

    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let found: BTreeMap<String, (Dtype, Vec<usize>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec())))
        .collect();
    let want: BTreeMap<String, (Dtype, Vec<usize>)> = default_tensors(|_| {})
        .into_iter()
        .map(|(n, s)| (n.to_string(), (Dtype::F32, s)))
        .collect();
    assert_eq!(found, want);

    // Values are little-endian f32 in row-major order, as PyTorch reads them.
    let w = st.tensor("fc4.weight").unwrap();
    let t = layout.tensor("fc4.weight");
    let first: Vec<f32> = w.data()[..16]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(bits(&first), bits(&p[t.offset..t.offset + 4]));

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let md = header.metadata().clone().unwrap();
    let stored: CheckpointMeta = serde_json::from_str(&md["wgvae"]).unwrap();
    assert_eq!(stored, m);
    assert_eq!(md["epoch"], "3");
    assert_eq!(md["step"], "1407");
    assert_eq!(md["seed"], "42");
    let flat_config: ModelConfig = serde_json::from_str(&md["config"]).unwrap();
    assert_eq!(flat_config, config);
    // Hugging Face's loaders check this key
    assert_eq!(md["format"], "pt");
}

/// Files from before `"format": "pt"` and the optional `data` field load as they did; the
/// field, when written, round-trips.
#[test]
fn optional_metadata_is_optional() {
    let dir = tempfile::tempdir().unwrap();
    let m = meta(ModelConfig::default());
    let mut md = wgvae_metadata(dir.path(), &m);
    md.remove("format");
    let mut old: serde_json::Value = serde_json::from_str(&md["wgvae"]).unwrap();
    assert!(
        old.get("data").is_none(),
        "no data field when none was recorded"
    );
    old.as_object_mut().unwrap().remove("pixel_var_scale");
    md.insert("wgvae".to_string(), old.to_string());
    let path = dir.path().join("old.safetensors");
    write_raw(&path, &default_tensors(|_| {}), md);
    let (loaded, _) = load_model(&path, None).unwrap();
    assert_eq!(loaded, m);
    assert_eq!(loaded.data, None);

    let with_data = CheckpointMeta {
        data: Some(TrainingData {
            source: "data/photos".to_string(),
            train_count: 10_000,
            test_count: 2000,
            patch: Some(16),
            augment: true,
            corrupt_noise: Some(0.235),
        }),
        ..m
    };
    let path = dir.path().join("new.safetensors");
    save_model(
        &path,
        &with_data,
        &vec![0.0; Layout::new(&with_data.config).total],
    )
    .unwrap();
    assert_eq!(load_model(&path, None).unwrap().0, with_data);
    // data records written before --corrupt-noise load as clean training
    let old_data: TrainingData =
        serde_json::from_str(r#"{"source": "x", "train_count": 3, "test_count": 1}"#).unwrap();
    assert_eq!((old_data.corrupt_noise, old_data.augment), (None, false));
}

#[test]
fn deep_model_uses_numbered_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = deep_gaussian();
    let path = dir.path().join("deep.safetensors");
    save_model(
        &path,
        &meta(config.clone()),
        &params(&Layout::new(&config), 2),
    )
    .unwrap();
    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let shape = |n: &str| st.tensor(n).unwrap().shape().to_vec();
    assert_eq!(shape("fc1.weight"), vec![512, 784]);
    assert_eq!(shape("fc1_2.weight"), vec![256, 512]);
    assert_eq!(shape("fc21.weight"), vec![16, 256]);
    assert_eq!(shape("fc3.weight"), vec![256, 16]);
    assert_eq!(shape("fc3_2.weight"), vec![512, 256]);
    assert_eq!(shape("fc4.weight"), vec![784, 512]);
    assert_eq!(shape("logvar_x"), vec![1]);
    assert_eq!(st.len(), 2 * 7 + 1);
}

#[test]
fn truncated_and_garbage_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModelConfig::default();
    let path = dir.path().join("m.safetensors");
    save_model(
        &path,
        &meta(config.clone()),
        &params(&Layout::new(&config), 3),
    )
    .unwrap();
    let full = fs::read(&path).unwrap();

    for cut in [0, 5, 8, 100, full.len() / 2, full.len() - 1] {
        let p = dir.path().join(format!("cut{cut}.safetensors"));
        fs::write(&p, &full[..cut]).unwrap();
        let e = load_model(&p, None).unwrap_err();
        assert!(
            matches!(e, CheckpointError::Format { .. }),
            "cut {cut}: {e:?}"
        );
        assert!(
            e.to_string().contains(&format!("cut{cut}.safetensors")),
            "{e}"
        );
    }

    // One byte too many is corrupt too.
    let mut long = full.clone();
    long.push(0);
    let p = dir.path().join("long.safetensors");
    fs::write(&p, &long).unwrap();
    assert!(matches!(
        load_model(&p, None),
        Err(CheckpointError::Format { .. })
    ));

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut headers = vec![garbage.clone()];
    // A plausible header length followed by junk.
    let mut h = 64u64.to_le_bytes().to_vec();
    h.extend_from_slice(&garbage[..200]);
    headers.push(h);
    // A huge header length.
    headers.push(u64::MAX.to_le_bytes().to_vec());
    for (i, g) in headers.iter().enumerate() {
        let p = dir.path().join(format!("garbage{i}.safetensors"));
        fs::write(&p, g).unwrap();
        let e = load_model(&p, None).unwrap_err();
        assert!(
            matches!(e, CheckpointError::Format { .. }),
            "garbage {i}: {e:?}"
        );
        assert!(
            e.to_string().contains(&format!("garbage{i}.safetensors")),
            "{e}"
        );
    }

    let e = load_model(&dir.path().join("absent.safetensors"), None).unwrap_err();
    assert!(matches!(e, CheckpointError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("absent.safetensors"), "{e}");
}

#[test]
fn valid_safetensors_without_or_with_bad_wgvae_metadata_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("foreign.safetensors");
    write_raw(&p, &default_tensors(|_| {}), HashMap::new());
    let e = load_model(&p, None).unwrap_err();
    assert!(matches!(e, CheckpointError::NoMetadata { .. }), "{e:?}");
    assert!(e.to_string().contains("foreign.safetensors"), "{e}");

    let mut md = HashMap::new();
    md.insert("wgvae".to_string(), "{\"config\": 3}".to_string());
    write_raw(&p, &default_tensors(|_| {}), md);
    let e = load_model(&p, None).unwrap_err();
    assert!(matches!(e, CheckpointError::BadMetadata { .. }), "{e:?}");

    let mut m = meta(ModelConfig::default());
    m.format_version = 2;
    let mut md = HashMap::new();
    md.insert("wgvae".to_string(), serde_json::to_string(&m).unwrap());
    write_raw(&p, &default_tensors(|_| {}), md);
    let e = load_model(&p, None).unwrap_err();
    assert!(
        matches!(e, CheckpointError::Version { found: 2, .. }),
        "{e:?}"
    );

    // A stored config that would overflow the layout is an error, not a panic.
    let mut m = meta(ModelConfig::default());
    m.config.height = usize::MAX / 4;
    let mut md = HashMap::new();
    md.insert("wgvae".to_string(), serde_json::to_string(&m).unwrap());
    write_raw(&p, &default_tensors(|_| {}), md);
    let e = load_model(&p, None).unwrap_err();
    assert!(matches!(e, CheckpointError::InvalidConfig { .. }), "{e:?}");
}

#[test]
fn wrong_shape_missing_dtype_and_unexpected_tensors_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    let md = wgvae_metadata(dir.path(), &meta(ModelConfig::default()));
    let p = dir.path().join("bad.safetensors");

    // Wrong shape alone.
    write_raw(&p, &default_tensors(|t| t[0].1 = vec![10, 784]), md.clone());
    let e = load_model(&p, Some(&ModelConfig::default())).unwrap_err();
    let s = e.to_string();
    assert!(matches!(e, CheckpointError::Tensors { .. }), "{e:?}");
    assert!(s.contains("bad.safetensors"), "{s}");
    assert!(
        s.contains("fc1.weight has shape [10, 784], expected [400, 784]"),
        "{s}"
    );

    // Missing tensor alone.
    write_raw(
        &p,
        &default_tensors(|t| t.retain(|(n, _)| *n != "fc21.bias")),
        md.clone(),
    );
    let s = load_model(&p, None).unwrap_err().to_string();
    assert!(s.contains("missing tensor fc21.bias"), "{s}");
    assert!(!s.contains("fc1.weight"), "only the problem is listed: {s}");

    // Everything at once, each reported.
    write_raw(
        &p,
        &default_tensors(|t| {
            t[0].1 = vec![10, 784];
            t.retain(|(n, _)| *n != "fc21.bias");
            t.push(("foo", vec![3]));
        }),
        md.clone(),
    );
    let e = load_model(&p, None).unwrap_err();
    let CheckpointError::Tensors { problems, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        problems,
        &vec![
            "fc1.weight has shape [10, 784], expected [400, 784]".to_string(),
            "missing tensor fc21.bias".to_string(),
            "unexpected tensor foo".to_string(),
        ]
    );
    let s = e.to_string();
    assert!(!s.contains('\n'), "one line: {s}");

    // A tensor of another dtype.
    let tensors = default_tensors(|_| {});
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(n, s)| {
            let size = if *n == "fc3.bias" { 2 } else { 4 };
            vec![0u8; s.iter().product::<usize>() * size]
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s), b)| {
            let dtype = if *n == "fc3.bias" {
                Dtype::F16
            } else {
                Dtype::F32
            };
            (n.to_string(), TensorView::new(dtype, s.clone(), b).unwrap())
        })
        .collect();
    fs::write(&p, safetensors::serialize(views, Some(md)).unwrap()).unwrap();
    let s = load_model(&p, None).unwrap_err().to_string();
    assert!(s.contains("fc3.bias has dtype F16, expected F32"), "{s}");
}

#[test]
fn config_mismatch_names_each_differing_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModelConfig::default();
    let path = dir.path().join("m.safetensors");
    save_model(
        &path,
        &meta(config.clone()),
        &params(&Layout::new(&config), 4),
    )
    .unwrap();

    let asked = ModelConfig {
        hidden: vec![512],
        ..config.clone()
    };
    let e = load_model(&path, Some(&asked)).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("was trained with hidden [400], this run asks for hidden [512]"),
        "{s}"
    );
    assert!(s.contains("m.safetensors"), "{s}");
    let CheckpointError::ConfigMismatch { fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(fields, &vec!["hidden".to_string()]);

    let asked = ModelConfig {
        latent: 32,
        likelihood: Likelihood::Gaussian,
        beta: 0.25,
        ..config.clone()
    };
    let e = load_model(&path, Some(&asked)).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains(
            "was trained with latent 20 likelihood bernoulli beta 1.0, \
             this run asks for latent 32 likelihood gaussian beta 0.25"
        ),
        "{s}"
    );
    let CheckpointError::ConfigMismatch { fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(fields, &vec!["latent", "likelihood", "beta"]);
}

/// Saves Adam's moments beside the checkpoint at `model` as a training run does (the pair
/// through [`save_training_state`]), keeping the model's own parameters.
fn save_adam(
    model: &Path,
    meta: &CheckpointMeta,
    m: &[f32],
    v: &[f32],
) -> Result<(), CheckpointError> {
    let params = load_model(model, None)
        .map(|(_, p)| p)
        .unwrap_or_else(|_| vec![0.0; m.len()]);
    save_training_state(model, meta, &params, m, v)
}

/// The moments `--resume` would read beside `model`.
fn load_adam(model: &Path, meta: &CheckpointMeta) -> Result<(Vec<f32>, Vec<f32>), CheckpointError> {
    load_optimizer_state(model, meta).map(|s| (s.m, s.v))
}

#[test]
fn optimizer_state_round_trips_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = deep_gaussian();
    let layout = Layout::new(&config);
    let model = dir.path().join("m.safetensors");
    let m = meta(config.clone());
    let (adam_m, adam_v) = (params(&layout, 11), params(&layout, 12));
    save_model(&model, &m, &params(&layout, 10)).unwrap();
    save_adam(&model, &m, &adam_m, &adam_v).unwrap();

    let opt = optimizer_path(&model);
    assert_eq!(opt, dir.path().join("m.adam.safetensors"));
    assert!(opt.is_file());
    let (m2, v2) = load_adam(&model, &m).unwrap();
    assert_eq!(bits(&m2), bits(&adam_m));
    assert_eq!(bits(&v2), bits(&adam_v));

    // Names: m.<name> and v.<name> for every layout tensor, nothing else.
    let bytes = fs::read(&opt).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want: Vec<String> = layout
        .tensors
        .iter()
        .flat_map(|t| [format!("m.{}", t.name), format!("v.{}", t.name)])
        .collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(
        st.tensor("v.fc1_2.weight").unwrap().shape(),
        &[256usize, 512][..]
    );

    // A model saved later than its optimizer state (a crash between the two saves).
    let later = CheckpointMeta {
        step: m.step + 1,
        ..m.clone()
    };
    let e = load_adam(&model, &later).unwrap_err();
    assert!(
        matches!(
            e,
            CheckpointError::StepMismatch {
                found: 1407,
                expected: 1408,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("m.adam.safetensors"), "{e}");

    // Another config.
    let other = CheckpointMeta {
        config: ModelConfig {
            latent: 8,
            ..config.clone()
        },
        ..m.clone()
    };
    let e = load_adam(&model, &other).unwrap_err();
    assert!(e.to_string().contains("latent 16"), "{e}");
    assert!(matches!(e, CheckpointError::ConfigMismatch { .. }), "{e:?}");

    // Wrong buffer lengths are refused before anything is written.
    let before = fs::read(&opt).unwrap();
    let e = save_adam(&model, &m, &adam_m[1..], &adam_v).unwrap_err();
    assert!(matches!(e, CheckpointError::Length { .. }), "{e:?}");
    assert_eq!(fs::read(&opt).unwrap(), before);

    // Missing state file.
    fs::remove_file(&opt).unwrap();
    assert!(matches!(
        load_adam(&model, &m),
        Err(CheckpointError::Read { .. })
    ));
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn saves_are_atomic_and_failures_keep_the_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = ModelConfig::default();
    let layout = Layout::new(&config);
    let path = dir.path().join("m.safetensors");
    let m = meta(config.clone());
    let old = params(&layout, 20);
    save_model(&path, &m, &old).unwrap();
    save_adam(&path, &m, &old, &old).unwrap();
    // Overwriting works and leaves no temporary file.
    let new = params(&layout, 21);
    save_model(&path, &m, &new).unwrap();
    assert_eq!(
        dir_names(dir.path()),
        vec!["m.adam.safetensors", "m.safetensors"]
    );
    assert_eq!(bits(&load_model(&path, None).unwrap().1), bits(&new));
    let good = fs::read(&path).unwrap();

    // A missing folder on the way is created (every output follows that policy)...
    let nested = dir.path().join("new-dir").join("m.safetensors");
    save_model(&nested, &m, &new).unwrap();
    assert_eq!(bits(&load_model(&nested, None).unwrap().1), bits(&new));
    fs::remove_dir_all(dir.path().join("new-dir")).unwrap();
    // ...but where a file stands in the folder's way: an error naming it, nothing created.
    fs::write(dir.path().join("a-file"), b"x").unwrap();
    let blocked = dir.path().join("a-file").join("m.safetensors");
    let e = save_model(&blocked, &m, &new).unwrap_err();
    assert!(matches!(e, CheckpointError::Write { .. }), "{e:?}");
    assert!(e.to_string().contains("a-file"), "{e}");
    fs::remove_file(dir.path().join("a-file")).unwrap();

    // The temporary file cannot be created (a directory is in its way): the old checkpoint is
    // intact.
    let blocker = dir
        .path()
        .join(format!("m.safetensors.tmp-{}", std::process::id()));
    fs::create_dir(&blocker).unwrap();
    let e = save_model(&path, &m, &params(&layout, 22)).unwrap_err();
    assert!(matches!(e, CheckpointError::Write { .. }), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), good);
    assert_eq!(bits(&load_model(&path, None).unwrap().1), bits(&new));
    fs::remove_dir(&blocker).unwrap();

    // The rename fails (the target is a non-empty directory): the temporary file is removed.
    let sub = dir.path().join("sub");
    let target = sub.join("m.safetensors");
    fs::create_dir_all(target.join("inner")).unwrap();
    let e = save_model(&target, &m, &new).unwrap_err();
    assert!(matches!(e, CheckpointError::Write { .. }), "{e:?}");
    assert_eq!(dir_names(&sub), vec!["m.safetensors"]);

    // A wrong-length buffer is refused without touching the file.
    let e = save_model(&path, &m, &new[..new.len() - 1]).unwrap_err();
    assert!(matches!(e, CheckpointError::Length { .. }), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), good);

    assert_eq!(
        dir_names(dir.path()),
        vec!["m.adam.safetensors", "m.safetensors", "sub"]
    );
}

#[test]
fn non_finite_parameters_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.safetensors");
    let cfg = ModelConfig::default();
    let layout = wgvae::model::layout::Layout::new(&cfg);
    let mut params = vec![0.25f32; layout.total];
    params[layout.tensor("fc21.bias").offset + 3] = f32::NAN;
    params[layout.tensor("fc4.weight").offset] = f32::INFINITY;
    let meta = CheckpointMeta::new(cfg.clone(), 1, 10, 1);
    save_model(&path, &meta, &params).unwrap();
    let err = load_model(&path, None).unwrap_err().to_string();
    assert!(
        err.contains("NaN or infinite") && err.contains("fc21.bias") && err.contains("fc4.weight"),
        "{err}"
    );
    assert!(!err.contains("fc1.weight"), "{err}");
}

/// `save_training_state` commits on the model's rename: a run killed after it and before the
/// Adam state's rename leaves the new state under the pending name, and `--resume` takes it;
/// killed before it, the old pair is whole. Simulated by putting the files where each crash
/// would leave them.
#[test]
fn a_crash_between_the_two_files_of_a_save_still_resumes() {
    use wgvae::checkpoint::{load_optimizer_state, pending_optimizer_path, save_training_state};
    let dir = tempfile::tempdir().unwrap();
    let config = deep_gaussian();
    let layout = Layout::new(&config);
    let model = dir.path().join("m.safetensors");
    let at = |step| CheckpointMeta {
        step,
        ..meta(config.clone())
    };
    let (m10, v10) = (params(&layout, 11), params(&layout, 12));
    let (m20, v20) = (params(&layout, 21), params(&layout, 22));
    save_training_state(&model, &at(10), &params(&layout, 10), &m10, &v10).unwrap();
    let state = optimizer_path(&model);
    let pending = pending_optimizer_path(&model);
    assert!(!pending.exists(), "a finished save leaves no pending state");
    let old_state = fs::read(&state).unwrap();
    save_training_state(&model, &at(20), &params(&layout, 20), &m20, &v20).unwrap();

    // killed after the model's rename: new model, old state in place, new state pending
    fs::rename(&state, &pending).unwrap();
    fs::write(&state, &old_state).unwrap();
    let (meta20, _) = load_model(&model, None).unwrap();
    assert_eq!(meta20.step, 20);
    let got = load_optimizer_state(&model, &meta20).unwrap();
    assert_eq!(bits(&got.m), bits(&m20));
    assert_eq!(bits(&got.v), bits(&v20));

    // killed before it: old model and state, a new state pending that is not theirs
    save_model(&model, &at(10), &params(&layout, 10)).unwrap();
    let (meta10, _) = load_model(&model, None).unwrap();
    let got = load_optimizer_state(&model, &meta10).unwrap();
    assert_eq!(bits(&got.m), bits(&m10));

    // neither file at the model's step: refused, naming the step
    fs::remove_file(&pending).unwrap();
    let e = load_adam(&model, &at(30)).unwrap_err().to_string();
    assert!(e.contains("30"), "{e}");
}
