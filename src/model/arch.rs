//! The architecture as a list of layers, built from a [`ModelConfig`]. Everything else (the
//! parameter layout, the activation buffers, the programs) is derived from this list.
//!
//! An activation is part of the layer it follows (`act`), because the kernels fuse it into the
//! layer's forward and fold relu's backward into the next layer's input gradient. Flatten and
//! reshape move no data in NCHW order: they change the shape the next layer sees and own no
//! buffer.

use crate::config::{ArchKind, ModelConfig};
use crate::model::op::Act;
use crate::shape::ConvGeom;

/// Per-sample shape of a tensor, NCHW without the batch: channels x height x width. A flat
/// vector of n features is n x 1 x 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Shape {
    /// A vector of `features` values: `features x 1 x 1`.
    pub fn flat(features: usize) -> Shape {
        Shape {
            channels: features,
            height: 1,
            width: 1,
        }
    }

    /// An image of `channels` planes of `height x width`.
    pub fn image(channels: usize, height: usize, width: usize) -> Shape {
        Shape {
            channels,
            height,
            width,
        }
    }

    /// Values per sample.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// No values per sample (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A plain vector (height and width 1), as a linear layer takes.
    pub fn is_flat(&self) -> bool {
        self.height == 1 && self.width == 1
    }
}

/// A square convolution's hyper-parameters; channels come from the layer's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
}

/// Every conv layer of the conv arch: k4 s2 p1, halving (or doubling) height and width.
pub const HALVING: ConvSpec = ConvSpec {
    kernel: 4,
    stride: 2,
    pad: 1,
};

/// What a layer computes, with the PyTorch module it matches tensor for tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// `torch.nn.Linear`: weight `[out, in]`, bias `[out]`; the input must be flat.
    Linear,
    /// `torch.nn.Conv2d`: weight `[out_ch, in_ch, k, k]`, bias `[out_ch]`.
    Conv2d(ConvSpec),
    /// `torch.nn.ConvTranspose2d`: weight `[in_ch, out_ch, k, k]`, bias `[out_ch]`.
    ConvTranspose2d(ConvSpec),
    /// C x H x W -> C*H*W features (NCHW order, as `torch.flatten(x, 1)`).
    Flatten,
    /// features -> the output shape (as `x.view(-1, C, H, W)`).
    Reshape,
}

/// One layer of the architecture: its kind, its fused activation and the per-sample shapes it
/// maps between.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The PyTorch module name of its tensors (`fc1`, `conv2`, ...); empty without parameters.
    pub name: String,
    pub kind: LayerKind,
    /// Applied to the output; fused into the layer's kernel.
    pub act: Act,
    pub input: Shape,
    pub output: Shape,
}

impl Layer {
    /// Whether the layer owns a weight and a bias (flatten and reshape own none).
    pub fn has_params(&self) -> bool {
        !matches!(self.kind, LayerKind::Flatten | LayerKind::Reshape)
    }

    /// The weight's shape as PyTorch stores it.
    pub fn weight_shape(&self) -> Vec<usize> {
        let (i, o) = (self.input, self.output);
        match self.kind {
            LayerKind::Linear => vec![o.len(), i.len()],
            LayerKind::Conv2d(c) => vec![o.channels, i.channels, c.kernel, c.kernel],
            LayerKind::ConvTranspose2d(c) => vec![i.channels, o.channels, c.kernel, c.kernel],
            LayerKind::Flatten | LayerKind::Reshape => Vec::new(),
        }
    }

    /// Bias values: one per output feature of a linear layer, one per output channel of a conv.
    pub fn bias_len(&self) -> usize {
        match self.kind {
            LayerKind::Linear => self.output.len(),
            _ => self.output.channels,
        }
    }

    /// PyTorch's fan-in for its default initialisation: weight dimension 1 times the kernel
    /// area (so `out_ch k k` for a transposed convolution, as `torch.nn.init` computes it).
    pub fn fan_in(&self) -> usize {
        let w = self.weight_shape();
        w[1..].iter().product()
    }

    /// The convolution geometry of this layer over `batch` samples.
    pub fn conv_geom(&self, batch: usize) -> Option<ConvGeom> {
        let (spec, transposed) = match self.kind {
            LayerKind::Conv2d(c) => (c, false),
            LayerKind::ConvTranspose2d(c) => (c, true),
            _ => return None,
        };
        Some(ConvGeom {
            batch,
            in_ch: self.input.channels,
            out_ch: self.output.channels,
            in_h: self.input.height,
            in_w: self.input.width,
            kernel: spec.kernel,
            stride: spec.stride,
            pad: spec.pad,
            transposed,
        })
    }
}

/// The whole model: encoder (image to features), the two heads (features to mu and to
/// logvar), decoder (z to the decoder's output: logits or means, one value per pixel).
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    pub input: Shape,
    pub encoder: Vec<Layer>,
    pub mu: Layer,
    pub logvar: Layer,
    pub decoder: Vec<Layer>,
}

/// Builds a chain layer by layer, tracking the current shape.
struct Chain {
    shape: Shape,
    layers: Vec<Layer>,
}

impl Chain {
    fn new(shape: Shape) -> Self {
        Chain {
            shape,
            layers: Vec::new(),
        }
    }

    fn push(&mut self, name: String, kind: LayerKind, output: Shape, act: Act) {
        self.layers.push(Layer {
            name,
            kind,
            act,
            input: self.shape,
            output,
        });
        self.shape = output;
    }

    fn linear(&mut self, name: String, outputs: usize, act: Act) {
        self.push(name, LayerKind::Linear, Shape::flat(outputs), act);
    }

    fn conv(&mut self, name: String, out_ch: usize, act: Act) {
        let s = self.shape;
        let out = Shape::image(out_ch, s.height / 2, s.width / 2);
        self.push(name, LayerKind::Conv2d(HALVING), out, act);
    }

    fn deconv(&mut self, name: String, out_ch: usize, act: Act) {
        let s = self.shape;
        let out = Shape::image(out_ch, s.height * 2, s.width * 2);
        self.push(name, LayerKind::ConvTranspose2d(HALVING), out, act);
    }

    fn flatten(&mut self) {
        let out = Shape::flat(self.shape.len());
        self.push(String::new(), LayerKind::Flatten, out, Act::None);
    }

    fn reshape(&mut self, to: Shape) {
        self.push(String::new(), LayerKind::Reshape, to, Act::None);
    }
}

/// `base`, then `base_2`, `base_3`, ... (the naming of deeper models' extra layers).
fn numbered(base: &str, i: usize) -> String {
    if i == 0 {
        base.to_string()
    } else {
        format!("{base}_{}", i + 1)
    }
}

impl Arch {
    /// The layers of `cfg` (which the caller has validated).
    ///
    /// MLP: `fc1` (input -> h1), `fc1_2` (h1 -> h2) ..., heads `fc21`/`fc22`, then `fc3`
    /// (latent -> h_last), `fc3_2` ... back to h1, and `fc4` (h1 -> pixels): for the default
    /// config exactly pytorch/examples/vae's modules.
    ///
    /// Conv: `conv1` ... `convN` (k4 s2 p1, relu), flatten, the same dense layers and heads,
    /// `fc3` ..., `fc4` (h1 -> the last conv's C*H*W, relu), reshape, then `deconv1` ...
    /// `deconvN` (k4 s2 p1) mirroring the convolutions back to the image's channels.
    pub fn new(cfg: &ModelConfig) -> Arch {
        let input = Shape::image(cfg.channels, cfg.height, cfg.width);
        let relu = Act::Relu;
        let mut enc = Chain::new(input);
        if cfg.arch == ArchKind::Conv {
            for (i, &c) in cfg.conv_channels.iter().enumerate() {
                enc.conv(format!("conv{}", i + 1), c, relu);
            }
        }
        if !enc.shape.is_flat() {
            enc.flatten();
        }
        let conv_top = match enc.layers.last() {
            Some(l) if l.kind == LayerKind::Flatten => Some(l.input),
            _ => None,
        };
        for (i, &h) in cfg.hidden.iter().enumerate() {
            enc.linear(numbered("fc1", i), h, relu);
        }
        let features = enc.shape;
        let head = |name: &str| Layer {
            name: name.to_string(),
            kind: LayerKind::Linear,
            act: Act::None,
            input: features,
            output: Shape::flat(cfg.latent),
        };
        let mut dec = Chain::new(Shape::flat(cfg.latent));
        for (i, &h) in cfg.hidden.iter().rev().enumerate() {
            dec.linear(numbered("fc3", i), h, relu);
        }
        match conv_top {
            Some(top) => {
                dec.linear("fc4".into(), top.len(), relu);
                dec.reshape(top);
                let n = cfg.conv_channels.len();
                for i in 0..n {
                    let (out, act) = if i + 1 == n {
                        (cfg.channels, Act::None)
                    } else {
                        (cfg.conv_channels[n - 2 - i], relu)
                    };
                    dec.deconv(format!("deconv{}", i + 1), out, act);
                }
            }
            None => dec.linear("fc4".into(), input.len(), Act::None),
        }
        Arch {
            input,
            encoder: enc.layers,
            mu: head("fc21"),
            logvar: head("fc22"),
            decoder: dec.layers,
        }
    }

    /// Layers with parameters in layout order: encoder, mu head, logvar head, decoder.
    pub fn param_layers(&self) -> impl Iterator<Item = &Layer> {
        self.encoder
            .iter()
            .chain([&self.mu, &self.logvar])
            .chain(self.decoder.iter())
            .filter(|l| l.has_params())
    }
}
