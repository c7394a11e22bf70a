//! Programs: the model's computations written once, as lists of [`Op`]s over named tensors.
//! The CPU reference runs a list op by op (`cpu::exec`); the GPU records the same list as
//! dispatches (`gpu::recorder`). Neither backend has its own forward or backward chain, so the
//! two cannot drift: a test that compares them compares one program on two backends.
//!
//! Besides the tensors an op names, some read the batch's step state (step, cursor, slot): the
//! gather, the reparameterisation's noise key, Adam's bias correction and the loss record. The
//! state lives with the backend and `Op::Advance` moves it on, so a recorded step can replay.

use crate::config::Likelihood;
use crate::model::arch::Layer;
use crate::model::op::{Act, AdamHyper};
pub use crate::model::op::{Buf, Op, T};
use crate::model::tensors::ActId;
use crate::model::Model;

/// Random stream ids (the third Philox counter word) per use, so uses never share noise; this
/// one is the training steps' eps.
pub const STREAM_TRAIN: u32 = 0;
/// The evaluation batches' eps.
pub const STREAM_EVAL: u32 = 1;
/// The prior samples' eps.
pub const STREAM_SAMPLE: u32 = 2;
/// Restoration's draws around the MAP codes.
pub const STREAM_RESTORE: u32 = 3;
/// The denoising VAE's input noise (`Op::Corrupt`), apart from z's eps of `STREAM_TRAIN`.
pub const STREAM_CORRUPT: u32 = 4;

/// Whether a backward pass also forms the gradients of the layers' parameters (training) or
/// only propagates to the input (restoration's decoder backward to z, encoder backward to x).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamGrads {
    Yes,
    No,
}

impl Model {
    /// Activation `id` for a batch of `rows`.
    pub fn act(&self, id: ActId, rows: usize) -> T {
        T {
            buf: Buf::Act(id),
            offset: 0,
            len: self.acts.info(id).len(rows),
        }
    }

    /// Parameter tensor `name` in the flat parameter buffer; panics if the layout lacks it.
    pub fn param(&self, name: &str) -> T {
        let t = self.layout.tensor(name);
        T {
            buf: Buf::Params,
            offset: t.offset,
            len: t.len(),
        }
    }

    /// The gradient of parameter tensor `name`, at the same offset in the gradient buffer.
    pub fn grad(&self, name: &str) -> T {
        T {
            buf: Buf::Grads,
            ..self.param(name)
        }
    }

    fn weight(&self, layer: &Layer) -> T {
        self.param(&format!("{}.weight", layer.name))
    }

    /// One layer's forward from `x` into `y`.
    fn layer_forward(&self, layer: &Layer, y: T, x: T, rows: usize) -> Op {
        let b = self.param(&format!("{}.bias", layer.name));
        let w = self.weight(layer);
        match layer.conv_geom(rows) {
            Some(g) => Op::Conv {
                y,
                x,
                w,
                b,
                g,
                act: layer.act,
            },
            None => Op::Linear {
                y,
                x,
                w,
                b,
                m: rows,
                k: layer.input.len(),
                n: layer.output.len(),
                act: layer.act,
            },
        }
    }

    /// The parameter gradients of `layer` from `dy` (its pre-activation gradient) and `x`.
    fn layer_param_grads(&self, layer: &Layer, dy: T, x: T, rows: usize, ops: &mut Vec<Op>) {
        let dw = self.grad(&format!("{}.weight", layer.name));
        let db = self.grad(&format!("{}.bias", layer.name));
        match layer.conv_geom(rows) {
            Some(g) => {
                ops.push(Op::ConvBackWeight { dw, dy, x, g });
                ops.push(Op::ConvBackBias { db, dy, g });
            }
            None => {
                let (m, k, n) = (rows, layer.input.len(), layer.output.len());
                ops.push(Op::LinearBackWeightBias {
                    dw,
                    db,
                    dy,
                    x,
                    m,
                    k,
                    n,
                });
            }
        }
    }

    /// dx (+)= the input gradient of `layer` from `dy`, masked by relu'(mask).
    fn layer_input_grad(
        &self,
        layer: &Layer,
        dx: T,
        dy: T,
        mask: Option<T>,
        accumulate: bool,
        rows: usize,
    ) -> Op {
        let w = self.weight(layer);
        match layer.conv_geom(rows) {
            Some(g) => Op::ConvBackInput {
                dx,
                dy,
                w,
                mask,
                g,
                accumulate,
            },
            None => Op::LinearBackInput {
                dx,
                dy,
                w,
                mask,
                m: rows,
                k: layer.input.len(),
                n: layer.output.len(),
                accumulate,
            },
        }
    }

    /// Forward through `layers` (flatten and reshape skipped) from `input`, writing `outs`.
    fn chain_forward(&self, layers: &[Layer], input: T, outs: &[ActId], rows: usize) -> Vec<Op> {
        let mut x = input;
        layers
            .iter()
            .filter(|l| l.has_params())
            .zip(outs)
            .map(|(layer, &out)| {
                let y = self.act(out, rows);
                let op = self.layer_forward(layer, y, x, rows);
                x = y;
                op
            })
            .collect()
    }

    /// Backward through `layers` from the gradient already in `d_outs.last()`, down to
    /// `d_input` (the gradient of the chain's input, not masked: no chain starts at a relu).
    #[allow(clippy::too_many_arguments)]
    fn chain_backward(
        &self,
        layers: &[Layer],
        input: T,
        outs: &[ActId],
        d_outs: &[ActId],
        d_input: Option<T>,
        grads: ParamGrads,
        rows: usize,
        ops: &mut Vec<Op>,
    ) {
        let layers: Vec<&Layer> = layers.iter().filter(|l| l.has_params()).collect();
        for i in (0..layers.len()).rev() {
            let dy = self.act(d_outs[i], rows);
            let x = if i == 0 {
                input
            } else {
                self.act(outs[i - 1], rows)
            };
            if grads == ParamGrads::Yes {
                self.layer_param_grads(layers[i], dy, x, rows, ops);
            }
            let (dx, mask) = if i == 0 {
                match d_input {
                    Some(dx) => (dx, None),
                    None => continue,
                }
            } else {
                (self.act(d_outs[i - 1], rows), relu_mask(layers[i - 1], x))
            };
            ops.push(self.layer_input_grad(layers[i], dx, dy, mask, false, rows));
        }
    }

    /// x -> encoder -> (mu, logvar).
    pub fn encode(&self, rows: usize) -> Vec<Op> {
        self.encode_from(rows, self.acts.x)
    }

    /// `input` (x, or the corrupted x_in of a denoising step) -> encoder -> (mu, logvar).
    fn encode_from(&self, rows: usize, input: ActId) -> Vec<Op> {
        let a = &self.acts;
        let mut ops = self.chain_forward(&self.arch.encoder, self.act(input, rows), &a.enc, rows);
        let top = self.encoder_top(rows, input);
        ops.push(self.layer_forward(&self.arch.mu, self.act(a.mu, rows), top, rows));
        ops.push(self.layer_forward(&self.arch.logvar, self.act(a.logvar, rows), top, rows));
        ops
    }

    /// The encoder's output (the heads' input) when it reads `input`.
    fn encoder_top(&self, rows: usize, input: ActId) -> T {
        self.act(*self.acts.enc.last().unwrap_or(&input), rows)
    }

    /// `from` (z, or mu for reconstructions, or eps for prior samples) -> decoder -> out, with
    /// `out_act` on the output layer instead of the model's own (None: logits or means).
    pub fn decode(&self, rows: usize, from: ActId, out_act: Act) -> Vec<Op> {
        let a = &self.acts;
        let mut ops = self.chain_forward(&self.arch.decoder, self.act(from, rows), &a.dec, rows);
        if let Some(Op::Linear { act, .. } | Op::Conv { act, .. }) = ops.last_mut() {
            *act = out_act;
        }
        ops
    }

    /// Gather a batch at the state's cursor, the forward pass and the loss, ending with the
    /// loss record at the state's slot. Leaves every activation the backward pass needs.
    pub fn forward_loss(&self, rows: usize, seed: u64, stream: u32) -> Vec<Op> {
        self.forward_loss_corrupt(rows, seed, stream, 0.0)
    }

    /// `forward_loss` whose encoder reads x corrupted by `Op::Corrupt` (noise up to
    /// `corrupt_noise`) while the loss still compares with the clean x; 0 gives `forward_loss`.
    pub fn forward_loss_corrupt(
        &self,
        rows: usize,
        seed: u64,
        stream: u32,
        corrupt_noise: f32,
    ) -> Vec<Op> {
        let a = &self.acts;
        let (d, l) = (self.cfg.input_dim(), self.cfg.latent);
        let t = |id| self.act(id, rows);
        let mut ops = vec![Op::Gather {
            out: t(a.x),
            rows,
            dim: d,
        }];
        let input = self.encoder_input(corrupt_noise);
        if input != a.x {
            ops.push(Op::Corrupt {
                dst: t(input),
                src: t(a.x),
                rows,
                dim: d,
                max_sigma: corrupt_noise,
                seed,
                stream: STREAM_CORRUPT,
            });
        }
        ops.extend(self.encode_from(rows, input));
        // the KL terms read the same mu and logvar as the reparameterisation: one pass
        ops.push(Op::ReparamKlForward {
            z: t(a.z),
            eps: t(a.eps),
            kl: t(a.kl_elem),
            mu: t(a.mu),
            logvar: t(a.logvar),
            n: rows * l,
            seed,
            stream,
        });
        ops.extend(self.decode(rows, a.z, Act::None));
        ops.push(self.likelihood(rows));
        ops.push(Op::SumRows {
            dst: t(a.recon_rows),
            src: t(a.loss_elem),
            rows,
            cols: d,
        });
        ops.push(Op::SumRows {
            dst: t(a.kl_rows),
            src: t(a.kl_elem),
            rows,
            cols: l,
        });
        ops.push(Op::RecordLoss {
            recon_rows: t(a.recon_rows),
            kl_rows: t(a.kl_rows),
            rows,
            beta: self.cfg.beta,
        });
        ops
    }

    /// The per-element reconstruction loss of `out` against `x` and its gradient into `dout`.
    fn likelihood(&self, rows: usize) -> Op {
        let a = &self.acts;
        let t = |id| self.act(id, rows);
        let n = rows * self.cfg.input_dim();
        match self.cfg.likelihood {
            Likelihood::Bernoulli => Op::BceForward {
                loss: t(a.loss_elem),
                grad: t(a.dout()),
                logits: t(a.out()),
                x: t(a.x),
                n,
                scale: 1.0,
            },
            Likelihood::Gaussian => Op::GaussianForward {
                loss: t(a.loss_elem),
                dmean: t(a.dout()),
                dlogvar_elem: t(a.dlogvar_x_elem),
                mean: t(a.out()),
                x: t(a.x),
                logvar_x: self.param("logvar_x"),
                n,
                scale: 1.0,
            },
        }
    }

    /// The tensor the encoder reads: x, or x_in when training corrupts its input.
    fn encoder_input(&self, corrupt_noise: f32) -> ActId {
        if corrupt_noise > 0.0 {
            self.acts.x_in
        } else {
            self.acts.x
        }
    }

    /// Gradients of the summed loss (recon + beta KL over the batch, as pytorch/examples/vae
    /// back-propagates it) into the gradient buffer, every tensor overwritten.
    pub fn backward(&self, rows: usize) -> Vec<Op> {
        self.backward_from(rows, self.acts.x)
    }

    /// `backward` for an encoder that read `input`.
    fn backward_from(&self, rows: usize, input: ActId) -> Vec<Op> {
        let a = &self.acts;
        let t = |id| self.act(id, rows);
        let mut ops = Vec::new();
        if self.cfg.likelihood == Likelihood::Gaussian && self.cfg.learn_variance {
            // per sample, then over the batch: two short reductions rather than one long one
            // (a driver may cap a shader's loop length)
            ops.push(Op::SumRows {
                dst: t(a.dlogvar_x_rows),
                src: t(a.dlogvar_x_elem),
                rows,
                cols: self.cfg.input_dim(),
            });
            ops.push(Op::SumRows {
                dst: self.grad("logvar_x"),
                src: t(a.dlogvar_x_rows),
                rows: 1,
                cols: rows,
            });
        }
        self.chain_backward(
            &self.arch.decoder,
            t(a.z),
            &a.dec,
            &a.d_dec,
            Some(t(a.dz)),
            ParamGrads::Yes,
            rows,
            &mut ops,
        );
        let l = self.cfg.latent;
        // the KL gradient adds onto the reparameterisation's in the same pass
        ops.push(Op::ReparamKlBackward {
            dmu: t(a.dmu),
            dlogvar: t(a.dlogvar),
            dz: t(a.dz),
            eps: t(a.eps),
            mu: t(a.mu),
            logvar: t(a.logvar),
            n: rows * l,
            scale: self.cfg.beta,
        });
        self.heads_and_encoder_backward(rows, input, None, ParamGrads::Yes, &mut ops);
        ops
    }

    /// From dmu and dlogvar through both heads (the second accumulates into the encoder's top
    /// gradient) and the encoder, down to `d_input` when given.
    fn heads_and_encoder_backward(
        &self,
        rows: usize,
        input: ActId,
        d_input: Option<T>,
        grads: ParamGrads,
        ops: &mut Vec<Op>,
    ) {
        let a = &self.acts;
        let t = |id| self.act(id, rows);
        let top = self.encoder_top(rows, input);
        let last = self.arch.encoder.iter().rfind(|l| l.has_params());
        // the gradient of the heads' input: the encoder's top (masked by its relu), or x
        let (d_top, mask) = match (a.d_enc.last(), last) {
            (Some(&d), Some(layer)) => (Some(t(d)), relu_mask(layer, top)),
            _ => (d_input, None),
        };
        for (head, dy, accumulate) in [
            (&self.arch.mu, t(a.dmu), false),
            (&self.arch.logvar, t(a.dlogvar), true),
        ] {
            if grads == ParamGrads::Yes {
                self.layer_param_grads(head, dy, top, rows, ops);
            }
            if let Some(dx) = d_top {
                ops.push(self.layer_input_grad(head, dx, dy, mask, accumulate, rows));
            }
        }
        if !a.d_enc.is_empty() {
            self.chain_backward(
                &self.arch.encoder,
                t(input),
                &a.enc,
                &a.d_enc,
                d_input,
                grads,
                rows,
                ops,
            );
        }
    }

    /// Restoration's "decoder backward to z": from the gradient the caller left in `dout`
    /// to `dz`, through the activations of the last `decode` from z; no parameter gradients.
    pub fn decoder_backward_to_z(&self, rows: usize) -> Vec<Op> {
        let a = &self.acts;
        let mut ops = Vec::new();
        self.chain_backward(
            &self.arch.decoder,
            self.act(a.z, rows),
            &a.dec,
            &a.d_dec,
            Some(self.act(a.dz, rows)),
            ParamGrads::No,
            rows,
            &mut ops,
        );
        ops
    }

    /// Restoration's "encoder backward to x": from the gradients the caller left in `dmu` and
    /// `dlogvar` to `dx`, through the activations of the last `encode`; no parameter gradients.
    pub fn encoder_backward_to_x(&self, rows: usize) -> Vec<Op> {
        let mut ops = Vec::new();
        let dx = self.act(self.acts.dx, rows);
        let x = self.acts.x;
        self.heads_and_encoder_backward(rows, x, Some(dx), ParamGrads::No, &mut ops);
        ops
    }

    /// Number of parameters Adam updates: all but a fixed Gaussian variance (the last tensor).
    pub fn trainable_len(&self) -> usize {
        match self.layout.get("logvar_x") {
            Some(t) if !self.cfg.learn_variance => t.offset,
            _ => self.layout.total,
        }
    }

    /// One whole training step on `rows` images gathered at the state's cursor.
    pub fn train_step(&self, rows: usize, hp: &AdamHyper, seed: u64) -> Vec<Op> {
        self.train_step_corrupt(rows, hp, seed, 0.0)
    }

    /// A denoising training step (Im et al. 2017): the encoder reads x plus Gaussian noise of
    /// a per-sample level uniform in [0, `corrupt_noise`], the decoder is scored against the
    /// clean x. With 0 it is exactly `train_step`.
    pub fn train_step_corrupt(
        &self,
        rows: usize,
        hp: &AdamHyper,
        seed: u64,
        corrupt_noise: f32,
    ) -> Vec<Op> {
        let mut ops = self.forward_loss_corrupt(rows, seed, STREAM_TRAIN, corrupt_noise);
        ops.extend(self.backward_from(rows, self.encoder_input(corrupt_noise)));
        ops.push(Op::Adam {
            n: self.trainable_len(),
            hp: *hp,
        });
        ops.push(Op::Advance { batch: rows });
        ops
    }

    /// One evaluation batch: the same forward pass and loss record, no backward, no update.
    pub fn eval_step(&self, rows: usize, seed: u64) -> Vec<Op> {
        let mut ops = self.forward_loss(rows, seed, STREAM_EVAL);
        ops.push(Op::Advance { batch: rows });
        ops
    }

    /// `rows` decoded prior samples: eps ~ N(0, I) drawn by the reparameterisation kernel
    /// (whose z is ignored), decoded with `out_act`.
    pub fn prior_samples(&self, rows: usize, seed: u64, out_act: Act) -> Vec<Op> {
        let a = &self.acts;
        let t = |id| self.act(id, rows);
        let mut ops = vec![Op::ReparamForward {
            z: t(a.z),
            eps: t(a.eps),
            mu: t(a.mu),
            logvar: t(a.logvar),
            n: rows * self.cfg.latent,
            seed,
            stream: STREAM_SAMPLE,
        }];
        ops.extend(self.decode(rows, a.eps, out_act));
        ops
    }

    /// Each image in `x` encoded to its posterior mean and decoded with `out_act`.
    pub fn reconstruct(&self, rows: usize, out_act: Act) -> Vec<Op> {
        let mut ops = self.encode(rows);
        ops.extend(self.decode(rows, self.acts.mu, out_act));
        ops
    }
}

/// The relu mask of the gradient flowing into `producer`'s output `y`: relu'(y) when the
/// producer applies relu, none when it applies nothing.
fn relu_mask(producer: &Layer, y: T) -> Option<T> {
    match producer.act {
        Act::Relu => Some(y),
        Act::None => None,
        Act::Sigmoid => unreachable!("Model::new refuses hidden sigmoid layers"),
    }
}
