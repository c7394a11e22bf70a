//! wgvae in the browser: the library's restoration and enhancement on the visitor's own GPU
//! through WebGPU, as an ES module that `tools/build-web.sh` writes to `web/pkg/`. The same
//! WGSL kernels and the same steps as `wgvae restore` and `wgvae enhance`; nothing leaves the
//! page.
//!
//! ```js
//! import init, { Restorer, enhance, builtinModels, suggestModel } from './pkg/wgvae_web.js';
//! await init();
//! const r = await Restorer.load('photo-rgb');  // or Restorer.fromBytes(safetensorsBytes)
//! const out = await r.restore(imageData.data, width, height, { noiseSigma: 'auto' });
//! ```
//!
//! Every function that touches the GPU returns a promise: a browser's thread must never
//! block, so the library's async forms are awaited here. Errors reject with an `Error` whose
//! message is the command line's one-line message.

mod device;
mod options;
mod restorer;

use wasm_bindgen::prelude::*;

use wgvae::enhance::apply_gpu_async;
use wgvae::picture::Picture;
use wgvae::restore::prior::{builtin_models, BuiltinModel};

pub use restorer::Restorer;

#[wasm_bindgen(typescript_custom_section)]
const OPTION_TYPES: &str = r#"
/** What `Restorer.restore` undoes: the command's flags in camelCase. */
export interface RestoreOptions {
  /** Gaussian noise's standard deviation (pixels being on [0, 1]), or 'auto' (estimated). */
  noiseSigma?: number | 'auto' | null;
  /** One byte per pixel, row by row; nonzero = missing. */
  mask?: Uint8Array | null;
  /** A Gaussian blur's sigma in pixels, its PSF sized from it. */
  blurSigma?: number | null;
  /** 'posterior' (the default), 'map', 'impute' or 'project'. */
  method?: string | null;
  /** Called with the windows done and the windows in all. */
  onProgress?: ((done: number, total: number) => void) | null;
}

/** What `enhance` adjusts: `wgvae enhance`'s flags in camelCase. */
export interface EnhanceOptions {
  brightness?: number | null;
  contrast?: number | null;
  saturation?: number | null;
  gamma?: number | null;
  /** true (1% and 99%), or [low, high] percentiles. */
  autoLevels?: boolean | [number, number] | null;
}
"#;

/// Installs a panic hook that prints the panic's message to the console (without it a panic
/// reads as "unreachable executed"). Runs once when the module is initialised.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("wgvae: {info}").into());
    }));
}

/// The built-in models: `[{ name, colour: 'grey' | 'colour', window }]`.
#[wasm_bindgen(js_name = builtinModels, unchecked_return_type = "Array<{name: string, colour: string, window: number}>")]
pub fn builtin_models_js() -> Result<JsValue, JsError> {
    let list = builtin_models().map_err(|e| JsError::new(&e.to_string()))?;
    let json = serde_json::to_string(&list).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("the model list is not JSON"))
}

/// The built-in model `wgvae restore` would choose for this picture when none is named, and
/// why: `{ name, reason }`.
#[wasm_bindgen(js_name = suggestModel, unchecked_return_type = "{name: string, reason: string}")]
pub fn suggest_model(
    #[wasm_bindgen(unchecked_param_type = "Uint8ClampedArray | Uint8Array")] rgba: &[u8],
    width: usize,
    height: usize,
) -> Result<JsValue, JsError> {
    let picture = Picture::from_rgba(width, height, rgba).map_err(|e| JsError::new(&e))?;
    let (model, why) = BuiltinModel::for_picture(&picture);
    let out = js_sys::Object::new();
    options::set(&out, "name", &model.name().into());
    options::set(&out, "reason", &why.into());
    Ok(out.into())
}

/// `rgba` (ImageData.data) enhanced on the GPU as `wgvae enhance` does it, with
/// `{ brightness, contrast, saturation, gamma, autoLevels }` (numbers as the command's flags
/// take them; `autoLevels` true, or `[low, high]` percentiles). Resolves to a new
/// `Uint8ClampedArray` of the same size, alpha kept; with no adjustment set, to a copy.
#[wasm_bindgen(unchecked_return_type = "Promise<Uint8ClampedArray>")]
pub fn enhance(
    #[wasm_bindgen(unchecked_param_type = "Uint8ClampedArray | Uint8Array")] rgba: Vec<u8>,
    width: usize,
    height: usize,
    #[wasm_bindgen(unchecked_param_type = "EnhanceOptions | null | undefined")] options: JsValue,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let picture = Picture::from_rgba(width, height, &rgba).map_err(error)?;
        let steps = options::adjustments(&options)?;
        let out = match steps.is_empty() {
            true => picture,
            false => {
                let ctx = device::shared().await.map_err(error)?;
                apply_gpu_async(&ctx, &picture, &steps)
                    .await
                    .map_err(error)?
            }
        };
        Ok(clamped(&out.to_rgba(Some(&rgba))))
    })
}

/// The adapter the page's work runs on, e.g. "swiftshader (webgpu)"; opens it if need be.
#[wasm_bindgen(js_name = adapterName, unchecked_return_type = "Promise<string>")]
pub fn adapter_name() -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let ctx = device::shared().await.map_err(error)?;
        Ok(device::describe(&ctx).into())
    })
}

/// A failure as the `Error` a promise rejects with, its message the command's.
fn error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Bytes as a new `Uint8ClampedArray` (what `ImageData` takes).
fn clamped(bytes: &[u8]) -> JsValue {
    js_sys::Uint8ClampedArray::from(bytes).into()
}
