//! `Restorer`: a model on the page's device, restoring canvas pixels as `wgvae restore`
//! restores a file.

use std::path::Path;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use wgvae::picture::Picture;
use wgvae::restore::prior::{BuiltinModel, ModelSource};
use wgvae::restore::{MethodOptions, Prior, RestoreOptions, RestoreProgress};

use crate::{clamped, device, error, options};

/// A trained VAE ready to restore pictures on this page's GPU. It holds the model only: each
/// restoration takes the page's device afresh, so a lost device is replaced under it.
#[wasm_bindgen]
pub struct Restorer {
    prior: Rc<Prior>,
}

#[wasm_bindgen]
impl Restorer {
    /// A built-in model by name: `digits`, `photo-grey` or `photo-rgb`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Restorer>")]
    pub fn load(name: String) -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            let model = BuiltinModel::from_name(&name).ok_or_else(|| {
                let names: Vec<&str> = BuiltinModel::ALL.iter().map(|m| m.name()).collect();
                error(format!(
                    "no built-in model is called {name:?}; built in: {}",
                    names.join(", ")
                ))
            })?;
            let prior = Prior::from_source(&ModelSource::Builtin(model)).map_err(error)?;
            Restorer::on_device(prior).await
        })
    }

    /// A checkpoint the user trained (`wgvae train`'s `.safetensors`), as bytes; `name` is
    /// what messages call it.
    #[wasm_bindgen(js_name = fromBytes, unchecked_return_type = "Promise<Restorer>")]
    pub fn from_bytes(bytes: Vec<u8>, name: Option<String>) -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            let name = name.unwrap_or_else(|| "model.safetensors".to_string());
            let prior = Prior::from_bytes(Path::new(&name), &bytes).map_err(error)?;
            Restorer::on_device(prior).await
        })
    }

    /// Where the model came from: "built-in models/photo-rgb.safetensors" or the name given.
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> String {
        self.prior.name.display().to_string()
    }

    /// The side of the model's square window, in pixels.
    #[wasm_bindgen(getter, js_name = windowSize)]
    pub fn window_size(&self) -> usize {
        self.prior.model.cfg.height
    }

    /// The model's channels: 1 (grey) or 3 (colour).
    #[wasm_bindgen(getter)]
    pub fn channels(&self) -> usize {
        self.prior.model.cfg.channels
    }

    /// `rgba` (ImageData.data of a `width` x `height` picture) restored from the damage
    /// `options` describe, as `wgvae restore` restores the same picture with the same flags:
    /// `noiseSigma` (a positive standard deviation, pixels being on [0, 1], or 'auto'), `mask` (a Uint8Array of width x height,
    /// nonzero = missing), `blurSigma`, `method` ('posterior', the default, 'map', 'impute',
    /// 'project') and `onProgress(done, total)` in windows. Nothing described means noise of
    /// an estimated level. Resolves to a new Uint8ClampedArray, alpha kept.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8ClampedArray>")]
    pub fn restore(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8ClampedArray | Uint8Array")] rgba: Vec<u8>,
        width: usize,
        height: usize,
        #[wasm_bindgen(unchecked_param_type = "RestoreOptions | null | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        let prior = self.prior.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let picture = Picture::from_rgba(width, height, &rgba).map_err(error)?;
            let choices = options::restore_choices(&options)?;
            let (damage, _) = choices.damage.restoring(&picture).map_err(error)?;
            let settings = RestoreOptions {
                method: choices.method,
                knobs: MethodOptions::default(),
            };
            let ctx = device::shared().await.map_err(error)?;
            let restorer = wgvae::restore::Restorer::borrowing(&ctx, &prior);
            let (mut done, mut total) = (0usize, 0usize);
            let report = |f: &Option<js_sys::Function>, done: usize, total: usize| {
                if let Some(f) = f {
                    // a callback that throws does not stop the restoration
                    let _ = f.call2(&JsValue::NULL, &done.into(), &total.into());
                }
            };
            let restored = restorer
                .restore_all_async(&[(&picture, &damage)], &settings, |p| {
                    match p {
                        RestoreProgress::Started { windows } => total = windows,
                        RestoreProgress::Windows(n) => done += n,
                    }
                    report(&choices.on_progress, done, total);
                })
                .await
                .map_err(error)?
                .remove(0);
            Ok(clamped(&restored.to_rgba(Some(&rgba))))
        })
    }

    /// `rgba` enhanced on the page's device, as the module's `enhance` does.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8ClampedArray>")]
    pub fn enhance(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8ClampedArray | Uint8Array")] rgba: Vec<u8>,
        width: usize,
        height: usize,
        #[wasm_bindgen(unchecked_param_type = "EnhanceOptions | null | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        crate::enhance(rgba, width, height, options)
    }
}

impl Restorer {
    /// A restorer of `prior`, as the value a promise resolves to, once the page's device is
    /// open (so that a browser without WebGPU fails at loading, not at the first restoration).
    async fn on_device(prior: Prior) -> Result<JsValue, JsValue> {
        device::shared().await.map_err(error)?;
        Ok(Restorer {
            prior: Rc::new(prior),
        }
        .into())
    }
}
