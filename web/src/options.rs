//! The option objects the JavaScript API takes (`{ noiseSigma: 0.1, mask: null }`), read into
//! the library's own settings with the command's checks and messages. Fields are named like the
//! command's flags in camelCase; a field that is absent, `undefined` or `null` is not given.

use wasm_bindgen::prelude::*;

use wgvae::enhance::{Adjustments, EnhanceError, Step, DEFAULT_LEVELS};
use wgvae::restore::methods::Method;
use wgvae::restore::request::{DamageSpec, NoiseSigma, AUTO_BLUR_SIZE};

/// What `restore`'s options ask for beyond the damage.
pub struct RestoreChoices {
    pub damage: DamageSpec,
    pub method: Method,
    /// Called with (windows done, windows in all) as the work goes on.
    pub on_progress: Option<js_sys::Function>,
}

/// `restore`'s options: `noiseSigma` (a number or 'auto'), `mask` (bytes, one per pixel,
/// nonzero = missing), `blurSigma`, `method` and `onProgress`.
pub fn restore_choices(options: &JsValue) -> Result<RestoreChoices, JsValue> {
    let noise_sigma = match field(options, "noiseSigma")? {
        None => None,
        Some(v) => Some(noise_sigma(&v)?),
    };
    let mask = match field(options, "mask")? {
        None => None,
        Some(v) if v.is_object() => Some(
            js_sys::Uint8Array::new(&v)
                .to_vec()
                .into_iter()
                .map(|m| m != 0)
                .collect(),
        ),
        Some(_) => return Err(usage("mask must be a Uint8Array of width x height bytes")),
    };
    let blur_sigma = match number(options, "blurSigma")? {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some((s as f32, AUTO_BLUR_SIZE)),
        Some(s) => return Err(usage(&format!("blurSigma must be positive, not {s}"))),
    };
    let method = match field(options, "method")? {
        None => Method::Posterior,
        Some(v) => {
            let name = v.as_string().unwrap_or_default();
            Method::from_name(&name).ok_or_else(|| {
                usage(&format!(
                    "method {name:?}: one of posterior, map, impute, project"
                ))
            })?
        }
    };
    let on_progress = match field(options, "onProgress")? {
        None => None,
        Some(f) => Some(
            f.dyn_into::<js_sys::Function>()
                .map_err(|_| usage("onProgress must be a function"))?,
        ),
    };
    Ok(RestoreChoices {
        damage: DamageSpec {
            noise_sigma,
            mask,
            blur_sigma,
            ..DamageSpec::default()
        },
        method,
        on_progress,
    })
}

/// `enhance`'s options as the steps `wgvae enhance` runs; none when nothing is set.
pub fn adjustments(options: &JsValue) -> Result<Vec<Step>, JsValue> {
    let auto_levels = match field(options, "autoLevels")? {
        None => None,
        Some(v) if v.as_bool() == Some(false) => None,
        Some(v) if v.as_bool() == Some(true) => Some(DEFAULT_LEVELS),
        Some(v) if js_sys::Array::is_array(&v) => {
            let pair = js_sys::Array::from(&v);
            match (pair.length(), pair.get(0).as_f64(), pair.get(1).as_f64()) {
                (2, Some(low), Some(high)) => Some((low, high)),
                _ => return Err(usage("autoLevels must be true, false or [low, high]")),
            }
        }
        Some(_) => return Err(usage("autoLevels must be true, false or [low, high]")),
    };
    let factor = |name| number(options, name).map(|v| v.map(|v| v as f32));
    let adjustments = Adjustments {
        auto_levels,
        brightness: factor("brightness")?,
        contrast: factor("contrast")?,
        saturation: factor("saturation")?,
        gamma: factor("gamma")?,
    };
    match adjustments.steps() {
        Ok(steps) => Ok(steps),
        Err(EnhanceError::NothingToDo) => Ok(Vec::new()),
        Err(e) => Err(usage(&e.to_string())),
    }
}

/// A noise level: a positive number, or 'auto'.
fn noise_sigma(value: &JsValue) -> Result<NoiseSigma, JsValue> {
    let text = match (value.as_f64(), value.as_string()) {
        (Some(v), _) => v.to_string(),
        (None, Some(s)) => s,
        (None, None) => String::new(),
    };
    text.parse()
        .map_err(|why| usage(&format!("noiseSigma {why}")))
}

/// The field `name` of `options`, or None when it (or `options` itself) is absent.
fn field(options: &JsValue, name: &str) -> Result<Option<JsValue>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() {
        return Err(usage("options must be an object"));
    }
    let v = js_sys::Reflect::get(options, &name.into())?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

/// The numeric field `name`, refusing anything but a number.
fn number(options: &JsValue, name: &str) -> Result<Option<f64>, JsValue> {
    match field(options, name)? {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| usage(&format!("{name} must be a number"))),
    }
}

/// Sets `obj[name] = value`.
pub fn set(obj: &js_sys::Object, name: &str, value: &JsValue) {
    // an own data property of a plain object: cannot fail
    let _ = js_sys::Reflect::set(obj, &name.into(), value);
}

/// A usage error as the `Error` a promise rejects with.
fn usage(message: &str) -> JsValue {
    JsError::new(message).into()
}
