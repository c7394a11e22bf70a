//! `train --lr-schedule cosine`: Adam's lr of step s is lr (1 + cos(pi s / T)) / 2, formed by
//! the kernel from the step state; the constant schedule is today's update bit for bit.

mod common;

use common::{all_close, gpu, random, read, state, up};
use wgvae::config::ModelConfig;
use wgvae::cpu::exec::{self, CpuActs, CpuIo, CpuModel};
use wgvae::cpu::ops::{adam_step, AdamHyper};
use wgvae::data::{embedded, Split};
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::ops::{self, LinearVariant};
use wgvae::gpu::recorder::{self, GpuActs, GpuModel, StepIo};
use wgvae::model::init::init_params;
use wgvae::model::Model;
use wgvae::train::upload_dataset;

fn cosine(t: u32) -> AdamHyper {
    AdamHyper {
        lr: 1e-2,
        cosine_steps: t,
        ..AdamHyper::default()
    }
}

#[test]
fn cosine_lr_known_values() {
    let hp = cosine(100);
    assert_eq!(hp.lr_at(0), 1e-2, "full lr at the first step");
    assert!((hp.lr_at(50) - 5e-3).abs() < 1e-9, "{}", hp.lr_at(50));
    assert!((hp.lr_at(25) - 1e-2 * (0.5 + 0.5 * 0.5f32.sqrt())).abs() < 1e-8);
    assert_eq!(hp.lr_at(100), 0.0, "0 at the run's end");
    assert_eq!(hp.lr_at(1000), 0.0, "and after it");
    assert!(
        (1..100).all(|s| hp.lr_at(s) < hp.lr_at(s - 1)),
        "decreasing"
    );
    let constant = AdamHyper::default();
    assert!([0, 1, 99, u32::MAX]
        .iter()
        .all(|&s| constant.lr_at(s).to_bits() == 1e-3f32.to_bits()));
}

/// The kernel (both variants: n = 37 scalar, 64 vec4) against the CPU at steps across the
/// schedule: GPU cos errs by up to 2^-11 absolute (Vulkan), a relative 1e-3 of the step's lr.
#[test]
fn cosine_adam_kernel_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    for n in [37, 64] {
        for step in [0u32, 7, 50, 99, 100, 140] {
            let hp = cosine(100);
            let g = random(n, -1.0, 1.0, step as u64);
            let mut p = random(n, -1.0, 1.0, 1 + n as u64);
            let (mut m, mut v) = (random(n, -0.1, 0.1, 2), random(n, 1e-4, 1e-2, 3));
            let (pv, mv, vv) = (up(ctx, &p), up(ctx, &m), up(ctx, &v));
            let st = state(ctx, step, 0, 0);
            adam_step(&mut p, &g, &mut m, &mut v, step, n, &hp);
            let d = ops::adam_step(ctx, &pv, &up(ctx, &g), &mv, &vv, &st, n, &hp).unwrap();
            ops::run(ctx, &[&d]).unwrap();
            all_close(
                &format!("params n {n} step {step}"),
                &read(ctx, &pv),
                &p,
                2e-6,
                1e-5,
            );
        }
    }
}

/// Five steps replayed from one recording in one submit follow the schedule step by step, as
/// five CPU steps do (the lr comes from the step state, not from the recording).
#[test]
fn replayed_steps_follow_the_schedule() {
    let Some(ctx) = gpu() else { return };
    let cfg = ModelConfig {
        hidden: vec![16],
        latent: 3,
        ..ModelConfig::default()
    };
    let model = Model::new(&cfg).unwrap();
    let set = embedded::embedded(Split::Train).take(40);
    let (rows, steps, seed) = (8, 5, 11u64);
    let hp = AdamHyper {
        lr: 5e-3,
        cosine_steps: 6,
        ..AdamHyper::default()
    };
    let program = model.train_step_corrupt(rows, &hp, seed, 0.1);
    let params = init_params(&model, 2);
    let perm: Vec<u32> = (0..set.count as u32).rev().collect();

    let mut cpu = CpuModel::new(&model, params.clone());
    let mut acts = CpuActs::new(&model, rows);
    let mut io = CpuIo {
        data: set.images.clone(),
        perm: perm.clone(),
        state: [0; 4],
        history: vec![0.0; 4 * steps],
    };
    for _ in 0..steps {
        exec::run(&program, &mut cpu, &mut acts, &mut io);
    }

    let gm = GpuModel::new(ctx, &model, &params, LinearVariant::Reg4x4).unwrap();
    let ga = GpuActs::new(ctx, &model, rows).unwrap();
    let gio = StepIo {
        data: upload_dataset(ctx, &set).unwrap(),
        perm: View::whole(&buffers::upload(ctx, "perm", &perm)),
        ..StepIo::at_step(ctx, 0, steps)
    };
    let recorded = recorder::record(ctx, &program, &gm, &ga, &gio).unwrap();
    ctx.wait_for(recorder::submit_program(ctx, &recorded, steps))
        .unwrap();
    let got: Vec<f32> = buffers::read(ctx, &gm.params).unwrap();
    // five Adam steps of at most lr each; rounding of the two backends' gradients as in
    // train_entry.rs
    all_close("params after 5 cosine steps", &got, &cpu.params, 2e-6, 1e-4);
    // and the schedule mattered: a constant lr ends elsewhere
    let mut flat = CpuModel::new(&model, params);
    let mut io = CpuIo {
        state: [0; 4],
        history: vec![0.0; 4 * steps],
        ..io
    };
    let constant = model.train_step_corrupt(
        rows,
        &AdamHyper {
            cosine_steps: 0,
            ..hp
        },
        seed,
        0.1,
    );
    for _ in 0..steps {
        exec::run(&constant, &mut flat, &mut acts, &mut io);
    }
    let moved = flat
        .params
        .iter()
        .zip(&cpu.params)
        .filter(|(a, b)| (*a - *b).abs() > 1e-4)
        .count();
    assert!(
        moved > flat.params.len() / 10,
        "only {moved} parameters differ from a constant lr"
    );
}
