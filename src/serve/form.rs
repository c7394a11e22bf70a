//! A `multipart/form-data` request's parts: the picture, an optional mask, and options named
//! like the command's flags with underscores. Only built-in models can be named: no path ever
//! comes from a request.

use axum::extract::Multipart;
use axum::http::StatusCode;

use crate::enhance::{Adjustments, Step};
use crate::restore::methods::Method;
use crate::restore::prior::BuiltinModel;
use crate::restore::request::{DamageSpec, NoiseSigma, AUTO_BLUR_SIZE};
use crate::restore::MethodOptions;
use crate::serve::error::ApiError;

/// What a restore or enhance request sent.
#[derive(Debug, Default)]
pub struct Form {
    /// The picture's bytes (PNG or JPEG).
    pub image: Vec<u8>,
    /// The mask's bytes, an image whose white pixels are missing.
    pub mask: Option<Vec<u8>>,
    /// The other parts, by name, as text.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Reads every part; the picture is required.
    pub async fn read(mut multipart: Multipart) -> Result<Form, ApiError> {
        let mut form = Form::default();
        let mut image = None;
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
            match name.as_str() {
                "image" => image = Some(bytes),
                "mask" => form.mask = Some(bytes),
                _ => {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| ApiError::bad_field(format!("{name}: not text")))?;
                    form.fields.push((name, text.trim().to_string()));
                }
            }
        }
        form.image = image.ok_or_else(|| ApiError::bad_field("no part named image"))?;
        Ok(form)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.value(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::bad_field(format!("{name} must be {what}, not {v:?}")))
            })
            .transpose()
    }

    fn positive(&self, name: &str) -> Result<Option<f32>, ApiError> {
        match self.parsed::<f32>(name, "a positive number")? {
            Some(v) if !(v.is_finite() && v > 0.0) => Err(ApiError::bad_field(format!(
                "{name} must be positive and finite, not {v}"
            ))),
            v => Ok(v),
        }
    }

    /// Fails on a part this endpoint does not take.
    fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self
            .fields
            .iter()
            .find(|(n, _)| !known.contains(&n.as_str()))
        {
            Some((n, _)) => Err(ApiError::bad_field(format!(
                "unknown field {n:?}; this endpoint takes image, {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// A restore request's damage (the mask, read against the picture later), model and
    /// method with its knobs.
    pub fn restore_settings(&self) -> Result<RestoreSettings, ApiError> {
        self.only(&[
            "mask",
            "noise_sigma",
            "blur_sigma",
            "blur_size",
            "model",
            "method",
            "steps",
            "window_step",
        ])?;
        let noise_sigma = match self.value("noise_sigma").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.parse::<NoiseSigma>()
                    .map_err(|e| ApiError::bad_field(format!("noise_sigma {v:?}: {e}")))?,
            ),
        };
        let blur_size = self
            .parsed::<usize>("blur_size", "a whole number")?
            .unwrap_or(AUTO_BLUR_SIZE);
        let damage = DamageSpec {
            noise_sigma,
            blur_sigma: self.positive("blur_sigma")?.map(|s| (s, blur_size)),
            ..DamageSpec::default()
        };
        let model = match self.value("model").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(BuiltinModel::from_name(v).ok_or_else(|| {
                ApiError::bad_field(format!(
                    "model {v:?}: the server restores with its built-in models only (digits, \
                     photo-grey, photo-rgb)"
                ))
            })?),
        };
        let method = match self.value("method").filter(|v| !v.is_empty()) {
            None => Method::Posterior,
            Some(v) => Method::from_name(v).ok_or_else(|| {
                ApiError::bad_field(format!(
                    "method {v:?}: one of posterior, map, impute, project"
                ))
            })?,
        };
        let knobs = MethodOptions {
            steps: self.parsed("steps", "a whole number")?,
            window_step: self.parsed("window_step", "a whole number")?,
            ..MethodOptions::default()
        };
        Ok(RestoreSettings {
            damage,
            model,
            method,
            knobs,
        })
    }

    /// An enhance request's adjustments, checked, as the kernels' steps.
    pub fn enhance_steps(&self) -> Result<Vec<Step>, ApiError> {
        self.only(&[
            "brightness",
            "contrast",
            "saturation",
            "gamma",
            "auto_levels",
        ])?;
        let auto_levels = match self.value("auto_levels") {
            None | Some("" | "false" | "0" | "off") => false,
            Some("true" | "1" | "on") => true,
            Some(v) => {
                return Err(ApiError::bad_field(format!(
                    "auto_levels must be true or false, not {v:?}"
                )))
            }
        };
        let adjustments = Adjustments {
            auto_levels: auto_levels.then_some(crate::enhance::DEFAULT_LEVELS),
            brightness: self.parsed("brightness", "a number")?,
            contrast: self.parsed("contrast", "a number")?,
            saturation: self.parsed("saturation", "a number")?,
            gamma: self.parsed("gamma", "a number")?,
        };
        adjustments
            .steps()
            .map_err(|e| ApiError::bad_field(e.to_string()))
    }
}

/// What a restore request asks for, before the picture is read.
#[derive(Debug)]
pub struct RestoreSettings {
    pub damage: DamageSpec,
    pub model: Option<BuiltinModel>,
    pub method: Method,
    pub knobs: MethodOptions,
}

/// A multipart error as the API's: 413 past the body limit, else 400.
fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, format!("the request's form: {}", e.body_text()))
}
