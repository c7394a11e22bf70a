//! The model checkpoint loader on arbitrary bytes: an error or parameters that fit the layout
//! the stored config describes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.safetensors");
    if let Ok((meta, params)) = wgvae::checkpoint::load_model_bytes(path, data, None) {
        let layout = wgvae::model::layout::Layout::new(&meta.config);
        assert_eq!(params.len(), layout.total);
    }
});
