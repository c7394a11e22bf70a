//! `cargo bench --bench kernels`: the same measurement as `wgvae bench kernels` (every variant
//! of the three linear products and every conv op, validated against the CPU, then timed), for people who
//! reach for cargo bench.

fn main() {
    let ctx = match wgvae::gpu::GpuContext::new(std::env::var("WGVAE_ADAPTER").ok().as_deref()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let rows = wgvae::bench::linear_ops(&ctx, 20).and_then(|mut rows| {
        rows.extend(wgvae::bench::conv_ops(&ctx, 20)?);
        Ok(rows)
    });
    match rows {
        Ok(rows) => wgvae::bench::print_table(&ctx, &rows),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
