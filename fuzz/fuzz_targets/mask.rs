//! The `--mask` loader on arbitrary bytes. The first two bytes are the image's height and
//! width (so sizes that match and sizes that do not are both reached), the rest the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let [h, w, file @ ..] = data else { return };
    let (h, w) = (*h as usize, *w as usize);
    if let Ok(missing) = wgvae::restore::mask::mask_from_bytes(file, Path::new("fuzz"), h, w) {
        assert_eq!(missing.len(), h * w);
    }
});
