//! Thin entry point: parse, run, print the error chain on one line, set the exit code (0 success,
//! 1 bad data or a run-time failure, 2 wrong usage; README "Errors and exit codes").

use std::process::ExitCode;

mod cli;

use clap::{CommandFactory, Parser};
use cli::args::{Cli, Command};
use cli::commands;
use wgvae::error::{chain_line, UsageError};
use wgvae::gpu::context::DeviceOptions;
use wgvae::gpu::GpuContext;
use wgvae::train::TrainError;

fn main() -> ExitCode {
    die_quietly_on_closed_pipe();
    quiet_wayland_probe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(TrainError::Interrupted { signal, note }) =
                e.chain().find_map(|c| c.downcast_ref::<TrainError>())
            {
                // not an error: the run stopped where it was asked to, with 128 + the signal as
                // a shell reports for a process a signal ended
                eprintln!("{note}");
                return ExitCode::from((128 + signal) as u8);
            }
            eprintln!("error: {}", chain_line(e.chain()));
            exit_code(&e)
        }
    }
}

/// 2 for wrong usage (a [`UsageError`] anywhere in the chain; clap exits 2 for its own), 1 for
/// everything else.
fn exit_code(e: &anyhow::Error) -> ExitCode {
    if e.chain().any(|c| c.is::<UsageError>()) {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // the overwrite policy, before any work (the adapter included)
    cli::output::preflight(&cli.command)?;
    let wanted = cli.gpu.adapter.as_deref();
    let options = DeviceOptions {
        subgroups: !cli.gpu.no_subgroups,
    };
    match cli.command {
        Command::Info(a) => return Ok(cli::report::info(wanted, options, a.json)?),
        Command::Inspect(a) => return Ok(cli::report::inspect(&a.model, a.json)?),
        Command::Completions(a) => {
            clap_complete::generate(
                a.shell,
                &mut Cli::command(),
                "wgvae",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        // degrading and estimating noise run on the CPU: no device needed
        Command::Degrade(a) => return cli::restore::degrade(a),
        Command::EstimateNoise(a) => return cli::restore::estimate_noise(a),
        Command::Compare(a) => return cli::restore::compare(a),
        Command::Serve(a) => {
            return cli::serve::serve(GpuContext::with_options(wanted, options)?, a)
        }
        _ => {}
    }
    if matches!(cli.command, Command::Train(_)) {
        stop_training_cleanly_on_signals();
    }
    let ctx = GpuContext::with_options(wanted, options)?;
    ctx.tuning.set(wgvae::gpu::autotune::Settings::from_flags(
        cli.gpu.no_autotune,
    ));
    // stderr, so that stdout stays the command's output (and pure JSON with --json)
    eprintln!("adapter {}", ctx.describe());
    let done = match cli.command {
        Command::Info(_)
        | Command::Inspect(_)
        | Command::Degrade(_)
        | Command::EstimateNoise(_)
        | Command::Compare(_)
        | Command::Serve(_)
        | Command::Completions(_) => {
            unreachable!("handled above")
        }
        Command::Restore(a) => cli::restore::restore(&ctx, a),
        Command::EvalRestore(a) => cli::restore::eval_restore(&ctx, a),
        Command::Train(a) => commands::train(&ctx, a),
        Command::Eval(a) => commands::eval(&ctx, a),
        Command::Sample(a) => commands::sample(&ctx, a),
        Command::Bench(a) => commands::bench(&ctx, a),
        Command::Enhance(a) => commands::enhance(&ctx, a),
    };
    // what the autotuner did for commands that do not report it themselves (train does)
    for note in ctx.tuning.take_notes() {
        eprintln!("note: {note}");
    }
    done
}

/// The first SIGINT or SIGTERM of a training run asks it to stop: it finishes the steps in
/// flight, checkpoints and ends with [`TrainError::Interrupted`]; a second ends it at once
/// (interrupt.rs). The note says so at once, as the checkpoint may take a moment.
fn stop_training_cleanly_on_signals() {
    cli::interrupt::install(|signal| {
        eprintln!(
            "\nnote: {}: finishing the steps in flight and writing a checkpoint (send it again to \
             stop at once)",
            wgvae::train::signal_name(signal)
        );
    });
}

/// Rust ignores SIGPIPE, so once a reader such as `head -1` has gone, the next `println!`
/// fails with EPIPE and panics. Restore the default disposition instead: the process ends
/// silently at that write, as `cat` and `grep` do (the shell sees status 141). Chosen over
/// routing every print through a writer that maps BrokenPipe to an exit, which would touch
/// each command's output code; `libc` was already in the dependency tree (wgpu, clap).
/// Windows has no SIGPIPE.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Mesa's Vulkan drivers probe for a Wayland display while the instance is created; without
/// XDG_RUNTIME_DIR libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set", which reads
/// like one of ours. wgvae never presents to a window, so where it is unset point it at the temp
/// directory. Runs first in main, before any other thread exists.
fn quiet_wayland_probe() {
    if cfg!(target_os = "linux") && std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}
