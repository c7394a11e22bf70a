//! GPU faults become errors naming the kernel or program, never a panic or a hang: a binding
//! past its buffer, a shader that fails validation, a grid past the device's limit, a buffer
//! the device refuses outside any error scope, and a lost (destroyed) device.

mod common;

use common::{gpu, read, up};
use wgvae::error::GpuError;
use wgvae::gpu::buffers::{self, View};
use wgvae::gpu::{ops, restore, GpuContext};

/// A device of its own, for tests that leave it broken (the shared one must stay usable).
fn own_device() -> Option<GpuContext> {
    gpu()?;
    Some(GpuContext::new(std::env::var("WGVAE_ADAPTER").ok().as_deref()).expect("second device"))
}

#[test]
fn a_view_past_the_end_of_its_buffer_is_an_error_naming_the_kernel() {
    let Some(ctx) = gpu() else { return };
    let small = buffers::zeros(ctx, "small", 4);
    // The view claims more elements than the buffer holds: the shape checks believe it, the
    // device does not.
    let lying = View {
        buffer: small.clone(),
        offset: 0,
        len: 1000,
    };
    let x = up(ctx, &[1.0f32; 1000]);
    let e = restore::axpy(ctx, &lying, &x, 1.0, 0.0, 1000).unwrap_err();
    assert!(matches!(e, GpuError::Invalid { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("kernel axpy (restore.wgsl)") && !text.contains('\n'),
        "{text}"
    );
}

#[test]
fn a_shader_that_fails_validation_is_an_error_naming_it() {
    let Some(ctx) = gpu() else { return };
    let e = ctx
        .shader_module("broken.wgsl", "@compute @workgroup_size(1) fn main( {")
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("shader broken.wgsl") && !text.contains('\n'),
        "{text}"
    );
    // A type error that parses but does not validate.
    let e = ctx
        .shader_module(
            "mistyped.wgsl",
            "@compute @workgroup_size(1) fn main() { let a: u32 = 1.5; }",
        )
        .unwrap_err();
    assert!(e.to_string().contains("shader mistyped.wgsl"), "{e}");
}

#[test]
fn a_grid_past_the_device_limit_is_an_error_naming_the_program_and_the_device_recovers() {
    let Some(ctx) = gpu() else { return };
    let (x, y) = (up(ctx, &[1.0f32; 8]), up(ctx, &[2.0f32; 8]));
    let mut d = restore::axpy(ctx, &y, &x, 1.0, 1.0, 8).unwrap();
    let good = d.clone();
    d.groups = [
        ctx.device.limits().max_compute_workgroups_per_dimension + 1,
        1,
        1,
    ];
    let e = ops::run(ctx, &[&d]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("the program [axpy]"), "{text}");
    // The rejected submission ran nothing, and the device still works.
    ops::run(ctx, &[&good]).unwrap();
    assert_eq!(read(ctx, &y), vec![3.0; 8]);
}

#[test]
fn a_buffer_refused_outside_any_scope_is_reported_at_the_next_wait() {
    let Some(ctx) = own_device() else { return };
    let too_big = ctx.device.limits().max_buffer_size / 4 + 1;
    // Creating it is not checked: wgpu's default handler would panic here.
    let _huge = buffers::zeros(&ctx, "too big", too_big);
    let (x, y) = (up(&ctx, &[1.0f32; 8]), up(&ctx, &[2.0f32; 8]));
    let d = restore::axpy(&ctx, &y, &x, 1.0, 1.0, 8).unwrap();
    let e = ops::run(&ctx, &[&d]).unwrap_err().to_string();
    assert!(e.contains("too big") && !e.contains('\n'), "{e}");
    // Reported once: later work goes on.
    ops::run(&ctx, &[&d]).unwrap();
}

#[test]
fn a_destroyed_device_is_reported_lost_instead_of_hanging() {
    let Some(ctx) = own_device() else { return };
    let (x, y) = (up(&ctx, &[1.0f32; 8]), up(&ctx, &[2.0f32; 8]));
    let d = restore::axpy(&ctx, &y, &x, 1.0, 1.0, 8).unwrap();
    ops::run(&ctx, &[&d]).unwrap();
    ctx.device.destroy();
    let e = ops::run(&ctx, &[&d]).unwrap_err();
    assert!(matches!(e, GpuError::DeviceLost { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("lost during the program [axpy]") && text.contains("destroyed"),
        "{text}"
    );
    assert!(ctx.faults.is_lost());
    let e = buffers::read::<f32>(&ctx, &y).unwrap_err();
    assert!(matches!(e, GpuError::DeviceLost { .. }), "{e:?}");
}
