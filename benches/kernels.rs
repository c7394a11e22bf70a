//! `cargo bench --bench kernels`: the same measurement as `wgvae bench kernels` (the adapter's
//! peaks, every variant of the three linear products, every conv op and the element-wise
//! kernels, validated against the CPU, then timed), for people who reach for cargo bench.
//! `WGVAE_SWEEP=1` runs the linear products at every batch of the sweep instead.

fn main() {
    let ctx = match wgvae::gpu::GpuContext::new(std::env::var("WGVAE_ADAPTER").ok().as_deref()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let sweep = std::env::var("WGVAE_SWEEP").is_ok_and(|v| v == "1");
    match wgvae::bench::kernel_report(&ctx, 20, sweep) {
        Ok((peaks, rows)) => print!("{}", wgvae::bench::table(&ctx, &peaks, &rows)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
