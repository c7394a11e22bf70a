//! The linear-variant autotuner: its cache file (round trip, corrupt or unreadable files
//! ignored with a note), a cached choice reused without measuring, and a variant that fails
//! validation never chosen. The GPU cases share the one device, whose tuning settings are
//! global to it, so they take a lock.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use wgvae::config::ModelConfig;
use wgvae::gpu::autotune::{self, cache, Policy, Settings, ShapeClass, Source};
use wgvae::gpu::ops::LinearVariant;
use wgvae::model::Model;

static SETTINGS: Mutex<()> = Mutex::new(());

fn entry(variant: &str) -> cache::Entry {
    cache::Entry {
        variant: variant.into(),
        totals_us: BTreeMap::from([(variant.to_string(), 1234.5)]),
        pruned: vec!["tiled".into()],
        failed: Vec::new(),
        tuning_ms: 99.0,
    }
}

/// A small model: tuning it takes a fraction of a second on lavapipe.
fn small_model() -> Model {
    let cfg = ModelConfig {
        hidden: vec![32],
        latent: 4,
        ..ModelConfig::default()
    };
    Model::new(&cfg).unwrap()
}

#[test]
fn the_cache_round_trips_and_keeps_other_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join(cache::CACHE_FILE);
    assert!(cache::store(&path, "a", entry("reg8x8")).is_none());
    assert!(cache::store(&path, "b", entry("reg4x4")).is_none());
    let (file, note) = cache::load(&path);
    assert!(note.is_none(), "{note:?}");
    assert_eq!(file.entries.len(), 2);
    assert_eq!(file.entries["a"], entry("reg8x8"));
    assert_eq!(file.entries["b"], entry("reg4x4"));
}

#[test]
fn a_corrupt_or_unreadable_cache_is_ignored_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(cache::CACHE_FILE);
    // missing: empty, and nothing to say
    let (file, note) = cache::load(&path);
    assert!(file.entries.is_empty() && note.is_none());
    for garbage in [
        "{not json",
        "[1, 2]",
        "{\"format\": 99, \"entries\": {}}",
        "",
    ] {
        std::fs::write(&path, garbage).unwrap();
        let (file, note) = cache::load(&path);
        assert!(file.entries.is_empty(), "{garbage}");
        let note = note.unwrap_or_else(|| panic!("no note for {garbage:?}"));
        assert!(
            note.contains("ignoring") && note.contains("replaced"),
            "{note}"
        );
    }
    // a corrupt file is replaced by the next store
    assert!(cache::store(&path, "k", entry("tiled")).is_none());
    assert_eq!(cache::load(&path).0.entries["k"].variant, "tiled");
    // a folder where the file should be cannot be read
    let folder = dir.path().join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let (file, note) = cache::load(&folder);
    assert!(file.entries.is_empty());
    assert!(note.unwrap().contains("cannot read"));
}

#[test]
fn shape_classes_bucket_the_batch_and_count_equal_layers() {
    let model = Model::new(&ModelConfig::default()).unwrap();
    let class = ShapeClass::of(&model, 100);
    assert_eq!(class.key(), "b128 784x400 400x20*2 20x400 400x784");
    assert_eq!(ShapeClass::of(&model, 128), class);
    assert_eq!(ShapeClass::of(&model, 1).bucket, 1);
    assert_eq!(ShapeClass::of(&model, 4096).measured_rows(), 256);
}

#[test]
fn measuring_then_reusing_the_cache_and_corrupt_files() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let _lock = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(cache::CACHE_FILE);
    std::fs::write(&path, "{ corrupt").unwrap();
    let model = small_model();
    let measure = Settings {
        policy: Policy::Measure,
        cache: Some(path.clone()),
        corrupt: None,
    };
    ctx.tuning.set(measure.clone());
    let first = autotune::linear_variant(ctx, &model, 64, None).unwrap();
    let notes = ctx.tuning.take_notes();
    let Source::Measured(m) = &first.source else {
        panic!("not measured: {first:?}");
    };
    assert_eq!(m.totals[0].0, first.variant);
    assert!(m.failed.is_empty(), "{m:?}");
    assert!(
        notes.iter().any(|n| n.contains("corrupt autotune cache")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("measured in")), "{notes:?}");
    // the file now holds the choice under this adapter's key
    let key = autotune::cache_key(ctx, &ShapeClass::of(&model, 64));
    assert_eq!(
        cache::load(&path).0.entries[&key].variant,
        first.variant.name()
    );

    // a fresh process (memo cleared) recalls it from the file without measuring: plant
    // another variant there, which only a read of the file can return
    let planted = LinearVariant::ALL
        .into_iter()
        .find(|&v| v != first.variant)
        .unwrap();
    assert!(cache::store(&path, &key, entry(planted.name())).is_none());
    ctx.tuning.set(measure.clone());
    let again = autotune::linear_variant(ctx, &model, 33, None).unwrap();
    assert_eq!(again.source, Source::Cached);
    assert_eq!(again.variant, planted);
    assert!(ctx.tuning.take_notes().is_empty());

    // forced and off never look
    let forced = autotune::linear_variant(ctx, &model, 64, Some(LinearVariant::Reg4x4)).unwrap();
    assert_eq!(
        (forced.variant, forced.source),
        (LinearVariant::Reg4x4, Source::Forced)
    );
    ctx.tuning.set(Settings::default());
    let off = autotune::linear_variant(ctx, &model, 64, None).unwrap();
    assert_eq!(off.source, Source::Preferred);
    assert_eq!(
        off.variant,
        LinearVariant::preferred(&ctx.info, ctx.subgroups)
    );
}

#[test]
fn a_variant_failing_validation_is_never_chosen() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let _lock = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
    let class = ShapeClass::of(&small_model(), 16);
    for bad in LinearVariant::on(ctx.subgroups) {
        let m = autotune::measure(ctx, &class, Some(bad)).unwrap();
        assert!(
            m.failed
                .iter()
                .any(|(v, why)| *v == bad && why.contains("exceeds")),
            "{bad:?}: {m:?}"
        );
        assert!(m.totals.iter().all(|(v, _)| *v != bad), "{bad:?}: {m:?}");
        assert!(m.pruned.iter().all(|(v, _)| *v != bad), "{bad:?}: {m:?}");
    }
    // and through the settings hook, with no cache
    ctx.tuning.set(Settings {
        policy: Policy::Measure,
        cache: None,
        corrupt: Some(LinearVariant::preferred(&ctx.info, ctx.subgroups)),
    });
    let choice = autotune::linear_variant(ctx, &small_model(), 16, None).unwrap();
    assert_ne!(
        choice.variant,
        LinearVariant::preferred(&ctx.info, ctx.subgroups)
    );
    let notes = ctx.tuning.take_notes();
    assert!(
        notes.iter().any(|n| n.contains("failed validation")),
        "{notes:?}"
    );
    ctx.tuning.set(Settings::default());
}
