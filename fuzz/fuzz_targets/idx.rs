//! The IDX readers (raw or gzipped) on arbitrary bytes: an error or a dataset, never a panic
//! or an allocation the header alone asks for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = wgvae::data::mnist::parse_idx_images(data, "fuzz") {
        assert_eq!(set.images.len(), set.count * set.height * set.width);
    }
    let _ = wgvae::data::mnist::parse_idx_labels(data, "fuzz");
});
