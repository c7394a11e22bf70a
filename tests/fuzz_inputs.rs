//! The fuzz targets' checks (fuzz/fuzz_targets/) run in the ordinary suite on every input
//! committed for them: the corpus (fuzz/corpus/<target>/, where an input that once crashed a
//! reader is kept too). Each reader gives an error or a result consistent with
//! itself, never a panic. No GPU and no fuzzer needed.

use std::path::{Path, PathBuf};

use wgvae::checkpoint::load_model_bytes;
use wgvae::data::mnist::{parse_idx_images, parse_idx_labels};
use wgvae::model::layout::Layout;
use wgvae::picture::Picture;
use wgvae::restore::mask::mask_from_bytes;

/// Every committed input of `target`, with its path; fails when there are none (a renamed
/// folder must not turn the test into one that checks nothing).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no committed inputs for the {target} target"
    );
    out
}

#[test]
fn idx_inputs() {
    let mut parsed = 0;
    for (path, data) in inputs("idx") {
        if let Ok(set) = parse_idx_images(&data, "fuzz") {
            assert_eq!(
                set.images.len(),
                set.count * set.height * set.width,
                "{path:?}"
            );
            parsed += 1;
        }
        parsed += parse_idx_labels(&data, "fuzz").is_ok() as usize;
    }
    assert!(parsed >= 4, "the seeds (raw and gzipped) parse: {parsed}");
}

#[test]
fn checkpoint_inputs() {
    let mut loaded = 0;
    for (path, data) in inputs("checkpoint") {
        if let Ok((meta, params)) = load_model_bytes(&path, &data, None) {
            assert_eq!(params.len(), Layout::new(&meta.config).total, "{path:?}");
            loaded += 1;
        }
    }
    assert!(loaded >= 2, "the seed checkpoints load: {loaded}");
}

#[test]
fn image_inputs() {
    let mut decoded = 0;
    for (path, data) in inputs("image") {
        if let Ok(p) = Picture::from_bytes(&data, &path) {
            assert_eq!(p.data.len(), p.channels * p.height * p.width, "{path:?}");
            decoded += 1;
        }
    }
    assert!(decoded >= 7, "the seed PNGs and JPEGs decode: {decoded}");
}

#[test]
fn mask_inputs() {
    let mut read = 0;
    for (path, data) in inputs("mask") {
        let [h, w, file @ ..] = &data[..] else {
            continue;
        };
        let (h, w) = (*h as usize, *w as usize);
        if let Ok(missing) = mask_from_bytes(file, &path, h, w) {
            assert_eq!(missing.len(), h * w, "{path:?}");
            read += 1;
        }
    }
    assert!(read >= 2, "the seed masks of the right size read: {read}");
}
