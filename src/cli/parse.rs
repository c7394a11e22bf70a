//! The value parsers of the command line's flags. Flag values are checked here, while parsing,
//! so an impossible value is a usage error (exit 2, clap's one line naming the flag) before any
//! file is read or any adapter is opened.

use wgvae::enhance;

pub(super) fn whole_number(s: &str) -> Result<usize, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))
}

/// A count of at least 1.
pub(super) fn at_least_one(s: &str) -> Result<usize, String> {
    match whole_number(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

pub(super) fn at_least_one_u64(s: &str) -> Result<u64, String> {
    at_least_one(s).map(|n| n as u64)
}

/// A count in `lo..=hi`.
pub(super) fn in_range(lo: usize, hi: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s| match whole_number(s)? {
        n if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("must be in {lo}..={hi}")),
    }
}

/// A positive finite number (a rate, a noise level, a scale).
pub(super) fn positive(s: &str) -> Result<f32, String> {
    match parse_f32(s)? {
        v if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("must be positive and finite".into()),
    }
}

pub use wgvae::restore::request::NoiseSigma;

/// `auto`, or a positive finite number.
pub(super) fn sigma_or_auto(s: &str) -> Result<NoiseSigma, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(NoiseSigma::Auto);
    }
    positive(s)
        .map(NoiseSigma::Value)
        .map_err(|e| format!("{e} (or auto)"))
}

/// A finite number >= 0 (a weight).
pub(super) fn non_negative(s: &str) -> Result<f32, String> {
    match parse_f32(s)? {
        v if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("must be a finite number >= 0".into()),
    }
}

/// A fraction in [0, 1].
pub(super) fn fraction(s: &str) -> Result<f32, String> {
    match parse_f32(s)? {
        v if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err("must be a fraction in [0, 1]".into()),
    }
}

pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (r, c) = s
        .split_once('x')
        .ok_or_else(|| format!("expected ROWSxCOLS, got {s:?}"))?;
    let r: usize = r.parse().map_err(|_| format!("bad row count in {s:?}"))?;
    let c: usize = c
        .parse()
        .map_err(|_| format!("bad column count in {s:?}"))?;
    if r == 0 || c == 0 || r > 1024 || c > 1024 {
        return Err(format!("size must be between 1x1 and 1024x1024, got {s}"));
    }
    Ok((r, c))
}

pub fn parse_rect(s: &str) -> Result<[usize; 4], String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected X,Y,WIDTH,HEIGHT as whole numbers, got {s:?}"))?;
    match v[..] {
        [x, y, w, h] if w > 0 && h > 0 => Ok([x, y, w, h]),
        [_, _, _, _] => Err(format!("the rectangle {s:?} is empty")),
        _ => Err(format!("expected X,Y,WIDTH,HEIGHT, got {s:?}")),
    }
}

pub fn parse_motion(s: &str) -> Result<(usize, f32), String> {
    let (l, a) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LENGTH,ANGLE, got {s:?}"))?;
    let l: usize = l
        .trim()
        .parse()
        .map_err(|_| format!("bad length in {s:?}"))?;
    let a: f32 = a
        .trim()
        .parse()
        .map_err(|_| format!("bad angle in {s:?}"))?;
    if l == 0 || !a.is_finite() {
        return Err(format!(
            "the motion blur {s:?} needs a length >= 1 and a finite angle"
        ));
    }
    Ok((l, a))
}

pub(super) fn parse_f32(s: &str) -> Result<f32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

pub(super) fn parse_brightness(s: &str) -> Result<f32, String> {
    enhance::check_factor("--brightness", parse_f32(s)?).map_err(|e| e.to_string())
}

pub(super) fn parse_contrast(s: &str) -> Result<f32, String> {
    enhance::check_factor("--contrast", parse_f32(s)?).map_err(|e| e.to_string())
}

pub(super) fn parse_saturation(s: &str) -> Result<f32, String> {
    enhance::check_factor("--saturation", parse_f32(s)?).map_err(|e| e.to_string())
}

pub(super) fn parse_gamma(s: &str) -> Result<f32, String> {
    enhance::check_gamma(parse_f32(s)?).map_err(|e| e.to_string())
}

/// `LOW,HIGH` percentiles.
pub fn parse_levels(s: &str) -> Result<(f64, f64), String> {
    let (low, high) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LOW,HIGH percentiles such as 1,99, got {s:?}"))?;
    let number = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("expected LOW,HIGH percentiles such as 1,99, got {s:?}"))
    };
    enhance::check_levels(number(low)?, number(high)?).map_err(|e| e.to_string())
}
