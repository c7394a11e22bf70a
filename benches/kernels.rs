//! `cargo bench --bench kernels`: the same measurement as `wgvae bench kernels` (every linear
//! forward variant, validated against the CPU, then timed), for people who reach for cargo bench.

fn main() {
    let ctx = match wgvae::gpu::GpuContext::new(std::env::var("WGVAE_ADAPTER").ok().as_deref()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    match wgvae::bench::linear_forward(&ctx, 20) {
        Ok(rows) => wgvae::bench::print_table(&ctx, &rows),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
