//! The image loader (format guessed from the content, size limits set) on arbitrary bytes: an
//! error or a picture whose size matches its pixels, never a panic or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = wgvae::picture::Picture::from_bytes(data, Path::new("fuzz")) {
        assert_eq!(p.data.len(), p.channels * p.height * p.width);
    }
});
