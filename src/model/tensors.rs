//! The activation and gradient tensors of one batch, named and sized per sample (llm.c's
//! activation sizes): one spec from which the CPU allocates vectors and the GPU buffers. Each
//! tensor has its own buffer, since a dispatch may not read and write the same buffer.

use crate::config::ModelConfig;
use crate::model::arch::Arch;
pub use crate::model::op::ActId;
use crate::model::op::MAX_PSF;

/// One activation tensor of the spec: its name and its size per sample and per batch.
#[derive(Clone, Debug, PartialEq)]
pub struct ActInfo {
    pub name: String,
    /// Values per sample; a batch of `rows` holds `rows * per_sample + shared`.
    pub per_sample: usize,
    /// Values shared by the whole batch (the restoration's blur kernel).
    pub shared: usize,
}

impl ActInfo {
    /// Values held for a batch of `rows`.
    pub fn len(&self, rows: usize) -> usize {
        rows * self.per_sample + self.shared
    }
}

/// The tensors of restoration with a VAE prior (`restore::program`): the observation `obs` and
/// its per-pixel precision `w` (0 where unknown), the decoder's mean and pixel variance, the
/// fit's residual and its adjoint, Adam's moments for the latent code, the conjugate-gradient
/// state (`u`, `r`, `p`, `q`, per-row `rr`, `rr_new`, `pq`), and the blur kernel with its zero
/// bias.
#[derive(Clone, Debug, PartialEq)]
pub struct RestoreActs {
    pub obs: ActId,
    pub w: ActId,
    pub mean: ActId,
    pub var: ActId,
    pub pred: ActId,
    pub resid: ActId,
    pub back: ActId,
    pub z_m: ActId,
    pub z_v: ActId,
    pub u: ActId,
    pub r: ActId,
    pub p: ActId,
    pub q: ActId,
    pub rr: ActId,
    pub rr_new: ActId,
    pub pq: ActId,
    pub psf: ActId,
    pub psf_bias: ActId,
}

/// `enc[i]` and `dec[j]` are the outputs of the i-th and j-th layer with parameters of the
/// encoder and decoder (after the fused activation); `d_enc[i]`, `d_dec[j]` the loss
/// gradients with respect to the same layers' pre-activation outputs. The decoder's last
/// output is the model output (logits or means), its gradient `dout`.
#[derive(Clone, Debug, PartialEq)]
pub struct ActSpec {
    pub tensors: Vec<ActInfo>,
    pub x: ActId,
    /// The encoder's input of a denoising training step: x plus noise (`Op::Corrupt`).
    pub x_in: ActId,
    pub enc: Vec<ActId>,
    pub mu: ActId,
    pub logvar: ActId,
    pub eps: ActId,
    pub z: ActId,
    pub dec: Vec<ActId>,
    /// Per-element reconstruction loss and the Gaussian log-variance's per-element gradient.
    pub loss_elem: ActId,
    pub dlogvar_x_elem: ActId,
    pub kl_elem: ActId,
    /// Per-sample sums of `loss_elem`, `kl_elem` and `dlogvar_x_elem`.
    pub recon_rows: ActId,
    pub kl_rows: ActId,
    pub dlogvar_x_rows: ActId,
    pub dx: ActId,
    pub d_enc: Vec<ActId>,
    pub dmu: ActId,
    pub dlogvar: ActId,
    pub dz: ActId,
    pub d_dec: Vec<ActId>,
    pub restore: RestoreActs,
}

impl ActSpec {
    /// Every tensor that training, evaluation, sampling and restoration of `cfg`'s model
    /// (laid out as `arch`) read or write, each with its own id.
    pub fn new(cfg: &ModelConfig, arch: &Arch) -> Self {
        let mut tensors = Vec::new();
        let mut add_shared = |name: String, per_sample: usize, shared: usize| {
            tensors.push(ActInfo {
                name,
                per_sample,
                shared,
            });
            ActId(tensors.len() - 1)
        };
        let mut add = |name: String, per_sample: usize| add_shared(name, per_sample, 0);
        let d = cfg.input_dim();
        let l = cfg.latent;
        let enc_sizes: Vec<(String, usize)> = arch
            .encoder
            .iter()
            .filter(|l| l.has_params())
            .map(|l| (l.name.clone(), l.output.len()))
            .collect();
        let dec_sizes: Vec<(String, usize)> = arch
            .decoder
            .iter()
            .filter(|l| l.has_params())
            .map(|l| (l.name.clone(), l.output.len()))
            .collect();
        let x = add("x".into(), d);
        let enc = enc_sizes
            .iter()
            .map(|(n, s)| add(format!("enc.{n}"), *s))
            .collect();
        let mu = add("mu".into(), l);
        let logvar = add("logvar".into(), l);
        let eps = add("eps".into(), l);
        let z = add("z".into(), l);
        let dec = dec_sizes
            .iter()
            .map(|(n, s)| add(format!("dec.{n}"), *s))
            .collect();
        let loss_elem = add("loss_elem".into(), d);
        let dlogvar_x_elem = add("dlogvar_x_elem".into(), d);
        let kl_elem = add("kl_elem".into(), l);
        let recon_rows = add("recon_rows".into(), 1);
        let kl_rows = add("kl_rows".into(), 1);
        let dlogvar_x_rows = add("dlogvar_x_rows".into(), 1);
        let dx = add("dx".into(), d);
        let d_enc = enc_sizes
            .iter()
            .map(|(n, s)| add(format!("d_enc.{n}"), *s))
            .collect();
        let dmu = add("dmu".into(), l);
        let dlogvar = add("dlogvar".into(), l);
        let dz = add("dz".into(), l);
        let d_dec = dec_sizes
            .iter()
            .map(|(n, s)| add(format!("d_dec.{n}"), *s))
            .collect();
        let x_in = add("x_in".into(), d);
        let mut r = |name: &str, per_sample: usize| add(format!("restore.{name}"), per_sample);
        let restore = RestoreActs {
            obs: r("obs", d),
            w: r("w", d),
            mean: r("mean", d),
            var: r("var", d),
            pred: r("pred", d),
            resid: r("resid", d),
            back: r("back", d),
            z_m: r("z_m", l),
            z_v: r("z_v", l),
            u: r("u", d),
            r: r("r", d),
            p: r("p", d),
            q: r("q", d),
            rr: r("rr", 1),
            rr_new: r("rr_new", 1),
            pq: r("pq", 1),
            psf: add_shared("restore.psf".into(), 0, MAX_PSF * MAX_PSF),
            psf_bias: add_shared("restore.psf_bias".into(), 0, 1),
        };
        ActSpec {
            tensors,
            x,
            x_in,
            enc,
            mu,
            logvar,
            eps,
            z,
            dec,
            loss_elem,
            dlogvar_x_elem,
            kl_elem,
            recon_rows,
            kl_rows,
            dlogvar_x_rows,
            dx,
            d_enc,
            dmu,
            dlogvar,
            dz,
            d_dec,
            restore,
        }
    }

    /// The decoder's output: logits (Bernoulli) or means (Gaussian), one per pixel.
    pub fn out(&self) -> ActId {
        *self.dec.last().expect("the decoder has a layer")
    }

    /// The loss gradient with respect to [`ActSpec::out`].
    pub fn dout(&self) -> ActId {
        *self.d_dec.last().expect("the decoder has a layer")
    }

    /// The name and size of tensor `id`.
    pub fn info(&self, id: ActId) -> &ActInfo {
        &self.tensors[id.0]
    }

    /// The widest tensor per sample (what bounds the batch on an adapter).
    pub fn widest(&self) -> usize {
        self.tensors.iter().map(|t| t.per_sample).max().unwrap_or(1)
    }
}
