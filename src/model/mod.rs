//! One description of the model. [`arch`] turns a config into a list of layers; from it come
//! the flat parameter [`layout`] with PyTorch's names, the activation spec ([`tensors`]) and
//! the [`program`]s (forward, backward, decoder backward to z, encoder backward to x, train
//! step), each a list of ops that the CPU reference and the GPU recorder both execute.

pub mod arch;
pub mod init;
pub mod layout;
pub mod op;
pub mod program;
pub mod tensors;

use crate::config::ModelConfig;
use crate::model::op::Act;
use arch::Arch;
use layout::Layout;
use tensors::ActSpec;

/// A validated config with everything derived from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub cfg: ModelConfig,
    pub arch: Arch,
    pub layout: Layout,
    pub acts: ActSpec,
}

impl Model {
    /// Fails with a message naming the flag when `cfg` is not a buildable model.
    pub fn new(cfg: &ModelConfig) -> Result<Model, String> {
        cfg.validate()?;
        let arch = Arch::new(cfg);
        // the programs fold relu's backward into the next layer: hidden layers are relu or linear
        if let Some(l) = arch.param_layers().find(|l| l.act == Act::Sigmoid) {
            return Err(format!("layer {} may not end in a sigmoid", l.name));
        }
        Ok(Model {
            cfg: cfg.clone(),
            layout: Layout::new(cfg),
            acts: ActSpec::new(cfg, &arch),
            arch,
        })
    }

    /// Trainable values (padding excluded).
    pub fn parameter_count(&self) -> usize {
        self.layout.parameter_count()
    }
}
