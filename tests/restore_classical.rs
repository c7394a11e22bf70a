//! The CPU metrics and classical baselines against scikit-image and scipy: the answers in
//! tests/data/metrics-fixture.json (written by tools/make-metrics-fixture.py; images stored as
//! integers k meaning the f32 k / 255, references computed in f64 from those f32 values).

use serde_json::Value;
use wgvae::restore::classical::{biharmonic_fill, gaussian_filter, median_filter, tv_denoise};
use wgvae::restore::metrics::{psnr, ssim};

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/metrics-fixture.json"
    );
    let text = std::fs::read_to_string(path).expect("read the metrics fixture");
    serde_json::from_str(&text).expect("parse the metrics fixture")
}

fn cases<'a>(doc: &'a Value, section: &str) -> &'a [Value] {
    let list = doc[section].as_array().expect(section);
    assert!(!list.is_empty(), "no {section} cases in the fixture");
    list
}

fn size(case: &Value) -> (usize, usize) {
    (
        case["height"].as_u64().unwrap() as usize,
        case["width"].as_u64().unwrap() as usize,
    )
}

/// Integers k as wgvae reads an 8-bit pixel: `k as f32 / 255`.
fn image(case: &Value, key: &str) -> Vec<f32> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|k| k.as_i64().unwrap() as f32 / 255.0)
        .collect()
}

fn floats(case: &Value, key: &str) -> Vec<f64> {
    let list = case[key].as_array().unwrap_or_else(|| panic!("{key}"));
    list.iter().map(|v| v.as_f64().unwrap()).collect()
}

/// Fails with the worst element, both values and the max error when any differ by more
/// than `tol`.
fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (worst, err) = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .enumerate()
        .fold(
            (0, 0.0),
            |best, (i, e)| if e > best.1 { (i, e) } else { best },
        );
    assert!(
        err <= tol,
        "{what}: worst at {worst}: got {}, want {}, max error {err:e} > {tol:e}",
        got[worst],
        want[worst]
    );
}

#[test]
fn psnr_and_ssim_match_scikit_image() {
    let doc = fixture();
    let mut clipped = 0;
    for case in cases(&doc, "ssim_psnr") {
        let name = case["name"].as_str().unwrap();
        let (h, w) = size(case);
        let (clean, restored) = (image(case, "clean"), image(case, "restored"));
        clipped += restored.iter().any(|&v| !(0.0..=1.0).contains(&v)) as usize;
        let (p, s) = (psnr(&clean, &restored), ssim(&clean, &restored, h, w));
        let (want_p, want_s) = (
            case["psnr"].as_f64().unwrap(),
            case["ssim"].as_f64().unwrap(),
        );
        // Both are computed in f64 from the same f32 inputs: what is left is summation order
        // and libm (1e-15 seen). 1e-8 still catches a window, crop or constant gone wrong,
        // which move SSIM by 1e-3 or more.
        assert!(
            (p - want_p).abs() < 1e-8,
            "{name}: psnr {p} vs skimage {want_p}"
        );
        assert!(
            (s - want_s).abs() < 1e-8,
            "{name}: ssim {s} vs skimage {want_s}"
        );
    }
    assert!(
        clipped > 0,
        "no case exercises the clipping of the restored image"
    );
}

#[test]
fn gaussian_and_median_filters_match_scipy() {
    let doc = fixture();
    for case in cases(&doc, "gaussian") {
        let (h, w) = size(case);
        let sigma = case["sigma"].as_f64().unwrap() as f32;
        let out = gaussian_filter(&image(case, "image"), h, w, sigma);
        // f64 inside, rounded to f32 once at the end: half an f32 ulp of values below 1
        assert_close(
            &out,
            &floats(case, "out"),
            1e-7,
            &format!("gaussian {h}x{w} {sigma}"),
        );
    }
    for case in cases(&doc, "median") {
        let (h, w) = size(case);
        let radius = case["radius"].as_u64().unwrap() as usize;
        let out = median_filter(&image(case, "image"), h, w, radius);
        // a median picks one input: exact up to the fixture's 10 printed digits
        assert_close(
            &out,
            &floats(case, "out"),
            1e-9,
            &format!("median {h}x{w} r{radius}"),
        );
    }
}

#[test]
fn tv_denoising_matches_scikit_image() {
    let doc = fixture();
    for case in cases(&doc, "tv") {
        let (h, w) = size(case);
        let weight = case["weight"].as_f64().unwrap() as f32;
        let iters = case["max_iter"].as_u64().unwrap() as usize;
        let out = tv_denoise(&image(case, "image"), h, w, weight, iters);
        // The dual field is f32 here, f64 in skimage: the cases differ by 8e-8 (f32 rounding),
        // with the energy test stopping on the same iteration. 1e-6 allows for other
        // rounding; stopping one iteration off, a wrong step or border shows as 1e-4 or more.
        let what = format!("tv {h}x{w} weight {weight}, {iters} iterations");
        assert_close(&out, &floats(case, "out"), 1e-6, &what);
    }
}

#[test]
fn biharmonic_fill_matches_scikit_image_away_from_the_border() {
    let doc = fixture();
    for case in cases(&doc, "biharmonic") {
        let (h, w) = size(case);
        let known: Vec<bool> = case["known"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_i64() == Some(1))
            .collect();
        assert!(known.iter().any(|k| !k), "no hole");
        let out = biharmonic_fill(&image(case, "image"), &known, h, w);
        // skimage solves directly; CG stops at a relative residual of 1e-7 and the values are
        // rounded to f32: 6e-8 seen, 1e-6 allowed.
        assert_close(
            &out,
            &floats(case, "out"),
            1e-6,
            &format!("biharmonic {h}x{w}"),
        );
    }
}
