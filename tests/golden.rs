//! An outside reference: one training step of a small MLP and a small conv VAE computed by
//! PyTorch (`tools/make-golden.py`, committed in `tests/data/golden-*.safetensors`), checked
//! against the CPU reference and the GPU without PyTorch installed. The fixture holds the
//! weights, the input digits, the noise eps (drawn by the script's own Philox, which must
//! equal ours), PyTorch's outputs, losses and every named gradient (float64, rounded once),
//! and the parameters after one `torch.optim.Adam` step.

mod common;

use common::{all_close, gpu};
use safetensors::SafeTensors;
use wgvae::config::ModelConfig;
use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use wgvae::cpu::ops::AdamHyper;
use wgvae::data::Dataset;
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::ops::LinearVariant;
use wgvae::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use wgvae::model::Model;
use wgvae::train::upload_dataset;

struct Golden {
    model: Model,
    file: Vec<u8>,
    seed: u64,
}

impl Golden {
    /// `file`: the fixture's bytes, compiled in so the test binary runs anywhere.
    fn load(file: &[u8]) -> Golden {
        let file = file.to_vec();
        let (_, meta) = SafeTensors::read_metadata(&file).unwrap();
        let meta = meta.metadata().clone().expect("fixture metadata");
        let cfg: ModelConfig = serde_json::from_str(&meta["config"]).unwrap();
        assert_eq!((&meta["step"][..], &meta["stream"][..]), ("0", "0"));
        Golden {
            model: Model::new(&cfg).unwrap(),
            seed: meta["seed"].parse().unwrap(),
            file,
        }
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        let st = SafeTensors::deserialize(&self.file).unwrap();
        st.tensor(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .data()
            .to_vec()
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        self.bytes(name)
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    /// The flat buffer of every layout tensor `<prefix><name>`.
    fn flat(&self, prefix: &str) -> Vec<f32> {
        let mut out = vec![0.0; self.model.layout.total];
        for t in &self.model.layout.tensors {
            out[t.range()].copy_from_slice(&self.f32s(&format!("{prefix}{}", t.name)));
        }
        out
    }

    fn batch(&self) -> Dataset {
        let cfg = &self.model.cfg;
        let images = self.bytes("input.x_u8");
        Dataset {
            count: images.len() / cfg.input_dim(),
            images,
            labels: None,
            height: cfg.height,
            width: cfg.width,
            channels: cfg.channels,
        }
    }
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// What a backend produced from the fixture's step.
struct StepResult {
    acts: Vec<(String, Vec<f32>)>,
    record: Vec<f32>,
    grads: Vec<f32>,
    params: Vec<f32>,
}

fn check(g: &Golden, got: &StepResult, backend: &str) {
    let model = &g.model;
    let rows = g.batch().count;
    let act = |name: &str| {
        &got.acts
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no activation {name}"))
            .1
    };
    let tag = |what: &str| format!("{backend} {:?}: {what}", model.cfg.arch);
    // the noise: the script's Philox and Box-Muller against ours
    all_close(&tag("eps"), act("eps"), &g.f32s("input.eps"), 1e-5, 1e-5);
    for (ours, theirs) in [
        ("mu", "out.mu"),
        ("logvar", "out.logvar"),
        ("z", "out.z"),
        (
            model.acts.info(model.acts.out()).name.as_str(),
            "out.logits",
        ),
    ] {
        let want = g.f32s(theirs);
        // f32 forward against PyTorch's float64: a few units in the last place per layer
        all_close(&tag(ours), act(ours), &want, 1e-5 * max_abs(&want), 1e-4);
    }
    let beta = model.cfg.beta;
    let (recon, kl) = (g.f32s("loss.recon")[0], g.f32s("loss.kl")[0]);
    let total = g.f32s("loss.total")[0];
    assert!(
        (total - (recon + beta * kl)).abs() <= 1e-4 * total,
        "fixture: total != recon + beta kl"
    );
    // recon sums 3136 terms; the KL of the untrained model is small, so absolute for it
    all_close(
        &tag("loss record (recon, kl, total, rows)"),
        &got.record,
        &[recon, kl, total, rows as f32],
        1e-5,
        1e-5,
    );
    let want_grads = g.flat("grad.");
    let want_after = g.flat("adam1.");
    let before = g.flat("");
    let lr = AdamHyper::default().lr;
    for t in &model.layout.tensors {
        let r = t.range();
        let want = &want_grads[r.clone()];
        let scale = max_abs(want);
        all_close(
            &tag(&format!("grad {}", t.name)),
            &got.grads[r.clone()],
            want,
            1e-4 * scale,
            1e-3,
        );
        // Adam's first step moves each parameter by lr g / (|g| + eps): lr times the sign,
        // which a gradient within rounding of zero may flip, so those only move by <= lr
        for i in r {
            let (p, w) = (got.params[i], want_after[i]);
            if want_grads[i].abs() > 1e-3 * scale {
                assert!(
                    (p - w).abs() <= 1e-7 + 1e-6 * w.abs(),
                    "{} after Adam [{}]: {p} vs {w}",
                    tag(&t.name),
                    i - t.offset
                );
            } else {
                assert!((p - before[i]).abs() <= lr * 1.0001, "{}", tag(&t.name));
            }
        }
    }
}

fn cpu_step(g: &Golden) -> StepResult {
    let model = &g.model;
    let set = g.batch();
    let program = model.train_step(set.count, &AdamHyper::default(), g.seed);
    let mut cpu = CpuModel::new(model, g.flat(""));
    let mut acts = CpuActs::new(model, set.count);
    let mut io = CpuIo {
        data: set.images.clone(),
        perm: (0..set.count as u32).collect(),
        state: [0, 0, 0, 0],
        history: vec![0.0; 4],
    };
    exec::run(&program, &mut cpu, &mut acts, &mut io);
    StepResult {
        acts: model
            .acts
            .tensors
            .iter()
            .zip(acts.tensors)
            .map(|(t, v)| (t.name.clone(), v))
            .collect(),
        record: io.history,
        grads: cpu.grads,
        params: cpu.params,
    }
}

fn gpu_step(g: &Golden) -> Option<StepResult> {
    let ctx = gpu()?;
    let model = &g.model;
    let set = g.batch();
    let rows = set.count;
    let gm = GpuModel::new(ctx, model, &g.flat(""), LinearVariant::Reg4x4).unwrap();
    let acts = GpuActs::new(ctx, model, rows).unwrap();
    let order: Vec<u32> = (0..rows as u32).collect();
    let io = StepIo {
        data: upload_dataset(ctx, &set).unwrap(),
        perm: View::whole(&buffers::upload(ctx, "perm", &order)),
        ..StepIo::at_step(ctx, 0, 1)
    };
    let program = model.train_step(rows, &AdamHyper::default(), g.seed);
    recorder::run(ctx, &program, &gm, &acts, &io).unwrap();
    let read = |v: &View| buffers::read::<f32>(ctx, v).unwrap();
    Some(StepResult {
        acts: model
            .acts
            .tensors
            .iter()
            .zip(&acts.tensors)
            .map(|(t, v)| (t.name.clone(), read(v)))
            .collect(),
        record: read(&io.history),
        grads: read(&gm.grads),
        params: read(&gm.params),
    })
}

#[test]
fn mlp_step_matches_pytorch_on_cpu_and_gpu() {
    let g = Golden::load(include_bytes!("data/golden-mlp.safetensors"));
    check(&g, &cpu_step(&g), "cpu");
    if let Some(got) = gpu_step(&g) {
        check(&g, &got, "gpu");
    }
}

#[test]
fn conv_step_matches_pytorch_on_cpu_and_gpu() {
    let g = Golden::load(include_bytes!("data/golden-conv.safetensors"));
    check(&g, &cpu_step(&g), "cpu");
    if let Some(got) = gpu_step(&g) {
        check(&g, &got, "gpu");
    }
}
