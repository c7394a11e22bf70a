//! Named tensors -> offsets in one flat parameter buffer (llm.c's one-buffer trick). Gradients
//! and Adam's m and v use the same layout, so Adam is one dispatch over everything.
//!
//! Names follow pytorch/examples/vae so checkpoints load into its `VAE` module unchanged:
//! `fc1` (input -> hidden), `fc21` (mu head), `fc22` (logvar head), `fc3` (latent -> hidden),
//! `fc4` (hidden -> output), each with `.weight` `[out, in]` and `.bias` `[out]`. Deeper models
//! (`--hidden h1 h2 ...`) name the extra encoder layers `fc1_2`, `fc1_3`, ... (h1 -> h2, ...)
//! and the extra decoder layers `fc3_2`, `fc3_3`, ... (the mirror image, ending at h1); the
//! Gaussian likelihood adds `logvar_x` `[1]`.

use crate::config::{Likelihood, ModelConfig};

/// Every tensor starts on a 256-byte boundary, the largest storage-offset alignment WebGPU
/// allows, so any tensor can be bound on its own on any adapter.
pub const ALIGN_FLOATS: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// First element in the flat buffer.
    pub offset: usize,
}

impl TensorInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// A linear layer: names of its tensors and its sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    pub name: String,
    pub inputs: usize,
    pub outputs: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub tensors: Vec<TensorInfo>,
    /// Elements in the flat buffer, padding included.
    pub total: usize,
}

/// The layers of a model in forward order: encoder hidden layers, mu head, logvar head, decoder
/// hidden layers, output layer.
pub struct ModelLayers {
    pub encoder: Vec<LayerInfo>,
    pub mu: LayerInfo,
    pub logvar: LayerInfo,
    pub decoder: Vec<LayerInfo>,
    pub output: LayerInfo,
}

impl ModelLayers {
    pub fn new(cfg: &ModelConfig) -> Self {
        let layer = |name: String, inputs: usize, outputs: usize| LayerInfo {
            name,
            inputs,
            outputs,
        };
        let numbered = |base: &str, i: usize| {
            if i == 0 {
                base.to_string()
            } else {
                format!("{base}_{}", i + 1)
            }
        };
        let h = &cfg.hidden;
        let mut encoder = Vec::new();
        let mut prev = cfg.input_dim();
        for (i, &size) in h.iter().enumerate() {
            encoder.push(layer(numbered("fc1", i), prev, size));
            prev = size;
        }
        let last = *h.last().expect("at least one hidden layer");
        let mut decoder = Vec::new();
        let mut prev = cfg.latent;
        for (i, &size) in h.iter().rev().enumerate() {
            decoder.push(layer(numbered("fc3", i), prev, size));
            prev = size;
        }
        ModelLayers {
            encoder,
            mu: layer("fc21".into(), last, cfg.latent),
            logvar: layer("fc22".into(), last, cfg.latent),
            decoder,
            output: layer("fc4".into(), h[0], cfg.input_dim()),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &LayerInfo> {
        self.encoder
            .iter()
            .chain([&self.mu, &self.logvar])
            .chain(self.decoder.iter())
            .chain([&self.output])
    }
}

impl Layout {
    pub fn new(cfg: &ModelConfig) -> Self {
        let mut tensors = Vec::new();
        let mut offset = 0;
        let mut push = |name: String, shape: Vec<usize>| {
            let len: usize = shape.iter().product();
            tensors.push(TensorInfo {
                name,
                shape,
                offset,
            });
            offset += len.div_ceil(ALIGN_FLOATS) * ALIGN_FLOATS;
        };
        for l in ModelLayers::new(cfg).all() {
            push(format!("{}.weight", l.name), vec![l.outputs, l.inputs]);
            push(format!("{}.bias", l.name), vec![l.outputs]);
        }
        if cfg.likelihood == Likelihood::Gaussian {
            push("logvar_x".into(), vec![1]);
        }
        Layout {
            tensors,
            total: offset,
        }
    }

    pub fn get(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The tensor `name`; panics when the layout has no such tensor (a programming error).
    pub fn tensor(&self, name: &str) -> &TensorInfo {
        self.get(name)
            .unwrap_or_else(|| panic!("layout has no tensor {name}"))
    }

    /// Number of trainable values (padding excluded).
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().map(TensorInfo::len).sum()
    }
}
