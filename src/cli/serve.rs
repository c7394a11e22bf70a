//! `wgvae serve`: the flags as the library's `ServeOptions`, the address and a warning on
//! stderr, then the server until Ctrl-C.

use std::time::Duration;

use anyhow::Result;

use wgvae::gpu::GpuContext;
use wgvae::serve::{ServeOptions, Server};

use crate::cli::args::ServeArgs;

pub fn serve(ctx: GpuContext, a: ServeArgs) -> Result<()> {
    let options = ServeOptions {
        host: a.host,
        port: a.port,
        max_body: (a.max_body_mib * 1024 * 1024) as usize,
        queue: a.queue as usize,
        timeout: Duration::from_secs(a.timeout),
    };
    let adapter = ctx.describe();
    let server = Server::start(Box::new(ctx), &options)?;
    eprintln!("adapter {adapter}");
    if !a.host.is_loopback() {
        eprintln!(
            "warning: listening on {} reaches beyond this machine, and the API has no \
             authentication: anyone who can reach the port can use this GPU",
            a.host
        );
    }
    if !wgvae::serve::has_browser_build() {
        eprintln!(
            "note: this wgvae was built without the browser build (tools/build-web.sh), so the \
             page restores on this server's GPU only"
        );
    }
    // stdout, for scripts that start the server on port 0 and read where it went
    println!("serving http://{}/ (Ctrl-C stops)", server.addr());
    server.run_until_signal();
    Ok(())
}
