//! CpuVae: the reference model, making the calls of `gpu::vae::GpuVae` in the same order on
//! plain vectors. Used by the tests to check a whole GPU training step tensor by tensor.

use crate::config::{Likelihood, ModelConfig};
use crate::cpu::ops::{self, Act, AdamHyper};
use crate::layout::{LayerInfo, Layout, ModelLayers};

pub struct CpuVae {
    pub cfg: ModelConfig,
    pub layout: Layout,
    pub layers: ModelLayers,
    pub params: Vec<f32>,
    pub grads: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
}

/// Activations of one batch, named as in `gpu::vae::BatchBuffers`.
#[derive(Default)]
pub struct Activations {
    pub x: Vec<f32>,
    pub enc: Vec<Vec<f32>>,
    pub mu: Vec<f32>,
    pub logvar: Vec<f32>,
    pub eps: Vec<f32>,
    pub z: Vec<f32>,
    pub dec: Vec<Vec<f32>>,
    pub out: Vec<f32>,
    pub loss_elem: Vec<f32>,
    pub dout: Vec<f32>,
    pub dlogvar_x_elem: Vec<f32>,
    pub kl_elem: Vec<f32>,
    pub recon_rows: Vec<f32>,
    pub kl_rows: Vec<f32>,
    /// (recon, kl, recon + beta kl, rows), as `record_loss` writes it.
    pub record: [f32; 4],
}

impl CpuVae {
    pub fn new(cfg: &ModelConfig, params: Vec<f32>) -> Self {
        let layout = Layout::new(cfg);
        assert_eq!(
            params.len(),
            layout.total,
            "parameter vector does not match the layout"
        );
        let n = layout.total;
        CpuVae {
            cfg: cfg.clone(),
            layers: ModelLayers::new(cfg),
            layout,
            params,
            grads: vec![0.0; n],
            adam_m: vec![0.0; n],
            adam_v: vec![0.0; n],
        }
    }

    fn param(&self, name: &str) -> &[f32] {
        &self.params[self.layout.tensor(name).range()]
    }

    fn linear(&self, layer: &LayerInfo, x: &[f32], rows: usize, act: Act) -> Vec<f32> {
        let mut y = vec![0.0; rows * layer.outputs];
        ops::linear_forward(
            &mut y,
            x,
            self.param(&format!("{}.weight", layer.name)),
            self.param(&format!("{}.bias", layer.name)),
            rows,
            layer.inputs,
            layer.outputs,
            act,
        );
        y
    }

    /// Forward pass and loss on the batch `x` (rows x input_dim, values in [0, 1]) with the
    /// noise of (seed, step, stream).
    pub fn forward_loss(
        &self,
        x: &[f32],
        rows: usize,
        step: u32,
        seed: u64,
        stream: u32,
    ) -> Activations {
        let d = self.cfg.input_dim();
        let l = self.cfg.latent;
        let mut a = Activations {
            x: x.to_vec(),
            ..Default::default()
        };
        let mut input = a.x.clone();
        for layer in &self.layers.encoder {
            let h = self.linear(layer, &input, rows, Act::Relu);
            a.enc.push(h.clone());
            input = h;
        }
        a.mu = self.linear(&self.layers.mu, &input, rows, Act::None);
        a.logvar = self.linear(&self.layers.logvar, &input, rows, Act::None);
        a.z = vec![0.0; rows * l];
        a.eps = vec![0.0; rows * l];
        ops::reparam_forward(
            &mut a.z,
            &mut a.eps,
            &a.mu,
            &a.logvar,
            step,
            rows * l,
            seed,
            stream,
        );
        let mut input = a.z.clone();
        for layer in &self.layers.decoder {
            let h = self.linear(layer, &input, rows, Act::Relu);
            a.dec.push(h.clone());
            input = h;
        }
        a.out = self.linear(&self.layers.output, &input, rows, Act::None);
        let n = rows * d;
        a.loss_elem = vec![0.0; n];
        a.dout = vec![0.0; n];
        a.dlogvar_x_elem = vec![0.0; n];
        match self.cfg.likelihood {
            Likelihood::Bernoulli => {
                ops::bce_forward(&mut a.loss_elem, &mut a.dout, &a.out, &a.x, n, 1.0)
            }
            Likelihood::Gaussian => ops::gaussian_forward(
                &mut a.loss_elem,
                &mut a.dout,
                &mut a.dlogvar_x_elem,
                &a.out,
                &a.x,
                self.param("logvar_x"),
                n,
                1.0,
            ),
        }
        a.kl_elem = vec![0.0; rows * l];
        ops::kl_forward(&mut a.kl_elem, &a.mu, &a.logvar, rows * l);
        a.recon_rows = vec![0.0; rows];
        a.kl_rows = vec![0.0; rows];
        ops::sum_rows(&mut a.recon_rows, &a.loss_elem, rows, d);
        ops::sum_rows(&mut a.kl_rows, &a.kl_elem, rows, l);
        let mut record = [0.0; 4];
        ops::record_loss(
            &mut record,
            &a.recon_rows,
            &a.kl_rows,
            0,
            rows,
            self.cfg.beta,
        );
        a.record = record;
        a
    }

    /// Gradients of the summed loss into `self.grads`, same order as `GpuVae::backward`.
    pub fn backward(&mut self, a: &Activations, rows: usize) {
        let l = self.cfg.latent;
        if self.cfg.likelihood == Likelihood::Gaussian && self.cfg.learn_variance {
            let r = self.layout.tensor("logvar_x").range();
            ops::sum_rows(
                &mut self.grads[r],
                &a.dlogvar_x_elem,
                1,
                rows * self.cfg.input_dim(),
            );
        }
        let last = self.layers.decoder.len() - 1;
        let mut d_dec: Vec<Vec<f32>> = self
            .cfg
            .hidden
            .iter()
            .rev()
            .map(|&h| vec![0.0; rows * h])
            .collect();
        let mut dz = vec![0.0; rows * l];
        let output = self.layers.output.clone();
        self.layer_backward(
            &output,
            &a.dout,
            &a.dec[last],
            Some(&mut d_dec[last]),
            true,
            false,
            rows,
        );
        for j in (0..=last).rev() {
            let layer = self.layers.decoder[j].clone();
            let dy = d_dec[j].clone();
            if j == 0 {
                self.layer_backward(&layer, &dy, &a.z, Some(&mut dz), false, false, rows);
            } else {
                self.layer_backward(
                    &layer,
                    &dy,
                    &a.dec[j - 1],
                    Some(&mut d_dec[j - 1]),
                    true,
                    false,
                    rows,
                );
            }
        }
        let (mut dmu, mut dlogvar) = (vec![0.0; rows * l], vec![0.0; rows * l]);
        ops::reparam_backward(&mut dmu, &mut dlogvar, &dz, &a.eps, &a.logvar, rows * l);
        ops::kl_backward(
            &mut dmu,
            &mut dlogvar,
            &a.mu,
            &a.logvar,
            rows * l,
            self.cfg.beta,
        );
        let top = self.layers.encoder.len() - 1;
        let mut d_enc: Vec<Vec<f32>> = self
            .cfg
            .hidden
            .iter()
            .map(|&h| vec![0.0; rows * h])
            .collect();
        let (mu_layer, lv_layer) = (self.layers.mu.clone(), self.layers.logvar.clone());
        self.layer_backward(
            &mu_layer,
            &dmu,
            &a.enc[top],
            Some(&mut d_enc[top]),
            true,
            false,
            rows,
        );
        self.layer_backward(
            &lv_layer,
            &dlogvar,
            &a.enc[top],
            Some(&mut d_enc[top]),
            true,
            true,
            rows,
        );
        for i in (0..=top).rev() {
            let layer = self.layers.encoder[i].clone();
            let dy = d_enc[i].clone();
            if i == 0 {
                self.layer_backward(&layer, &dy, &a.x, None, true, false, rows);
            } else {
                self.layer_backward(
                    &layer,
                    &dy,
                    &a.enc[i - 1],
                    Some(&mut d_enc[i - 1]),
                    true,
                    false,
                    rows,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn layer_backward(
        &mut self,
        layer: &LayerInfo,
        dy: &[f32],
        input: &[f32],
        d_input: Option<&mut Vec<f32>>,
        mask_by_input: bool,
        accumulate_input: bool,
        rows: usize,
    ) {
        let (k, n) = (layer.inputs, layer.outputs);
        let wr = self
            .layout
            .tensor(&format!("{}.weight", layer.name))
            .range();
        let br = self.layout.tensor(&format!("{}.bias", layer.name)).range();
        ops::linear_backward_weight(&mut self.grads[wr.clone()], dy, input, rows, k, n, false);
        ops::linear_backward_bias(&mut self.grads[br], dy, rows, n, false);
        if let Some(dx) = d_input {
            let mask = mask_by_input.then_some(input);
            ops::linear_backward_input(
                dx,
                dy,
                &self.params[wr],
                mask,
                rows,
                k,
                n,
                accumulate_input,
            );
        }
    }

    /// Adam over the trainable parameters (all but a fixed Gaussian variance).
    pub fn adam(&mut self, step: u32, hp: &AdamHyper) {
        let n = match self.layout.get("logvar_x") {
            Some(t) if !self.cfg.learn_variance => t.offset,
            _ => self.layout.total,
        };
        ops::adam_step(
            &mut self.params,
            &self.grads,
            &mut self.adam_m,
            &mut self.adam_v,
            step,
            n,
            hp,
        );
    }

    /// One training step: forward, loss, backward, Adam. Returns the activations (with the
    /// loss record).
    pub fn train_step(
        &mut self,
        x: &[f32],
        rows: usize,
        step: u32,
        seed: u64,
        hp: &AdamHyper,
    ) -> Activations {
        let a = self.forward_loss(x, rows, step, seed, crate::gpu::vae::STREAM_TRAIN);
        self.backward(&a, rows);
        self.adam(step, hp);
        a
    }
}

/// Parameters initialised as torch.nn.Linear does: weights and biases uniform in
/// +-1/sqrt(fan_in); the Gaussian log-variance at its configured value.
pub fn init_params(cfg: &ModelConfig, seed: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let layout = Layout::new(cfg);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut params = vec![0.0f32; layout.total];
    for layer in ModelLayers::new(cfg).all() {
        let bound = 1.0 / (layer.inputs as f32).sqrt();
        for suffix in ["weight", "bias"] {
            let r = layout.tensor(&format!("{}.{suffix}", layer.name)).range();
            for p in &mut params[r] {
                *p = rng.random_range(-bound..bound);
            }
        }
    }
    if let Some(t) = layout.get("logvar_x") {
        params[t.offset] = cfg.gaussian_logvar;
    }
    params
}
