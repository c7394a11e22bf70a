//! Named tensors -> offsets in one flat parameter buffer (llm.c's one-buffer trick). Gradients
//! and Adam's m and v use the same layout, so Adam is one dispatch over everything.
//!
//! One `.weight` and one `.bias` per layer of [`Arch`] with parameters, in its order and with
//! its PyTorch names and shapes (see `arch.rs`), so checkpoints load into the PyTorch module
//! unchanged; the Gaussian likelihood adds `logvar_x` `[1]` last.

use crate::config::{Likelihood, ModelConfig};
use crate::model::arch::Arch;

/// Every tensor starts on a 256-byte boundary, the largest storage-offset alignment WebGPU
/// allows, so any tensor can be bound on its own on any adapter.
pub const ALIGN_FLOATS: usize = 64;

/// One named parameter tensor: its PyTorch name and shape and where it starts in the flat
/// buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// First element in the flat buffer.
    pub offset: usize,
}

impl TensorInfo {
    /// Elements in the tensor (its padding excluded).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// No elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's elements in the flat buffer.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Every parameter tensor of a model in buffer order, each aligned to [`ALIGN_FLOATS`].
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub tensors: Vec<TensorInfo>,
    /// Elements in the flat buffer, padding included.
    pub total: usize,
}

impl Layout {
    /// The layout of `cfg`'s model: each layer's weight then bias, `logvar_x` last when the
    /// likelihood is Gaussian.
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
        for l in Arch::new(cfg).param_layers() {
            push(format!("{}.weight", l.name), l.weight_shape());
            push(format!("{}.bias", l.name), vec![l.bias_len()]);
        }
        if cfg.likelihood == Likelihood::Gaussian {
            push("logvar_x".into(), vec![1]);
        }
        Layout {
            tensors,
            total: offset,
        }
    }

    /// The tensor `name`, or None.
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
