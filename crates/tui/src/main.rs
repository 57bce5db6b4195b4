//! `coldfront`: measure Lambda cold starts on an embedded emulator (and, later, CDN caching
//! and edge auth). The subcommands are thin front ends over the library crates.

mod cli;
mod commands;
mod summary;
mod ui;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes, documented in `--help`.
pub(crate) mod exit {
    /// Everything measured succeeded.
    pub const OK: u8 = 0;
    /// The run finished but some cold starts failed (init error, timeout, crash).
    pub const FUNCTION_FAILURES: u8 = 1;
    /// Bad usage, configuration or environment.
    pub const USAGE: u8 = 2;
    /// Interrupted with Ctrl-C; everything measured so far was kept.
    pub const INTERRUPTED: u8 = 130;

    /// The code for a run of cold starts: an interruption outranks failed samples.
    pub fn for_samples(interrupted: bool, samples: &[init_trace::sample::ColdStartSample]) -> u8 {
        if interrupted {
            INTERRUPTED
        } else if samples.iter().any(|s| !s.succeeded()) {
            FUNCTION_FAILURES
        } else {
            OK
        }
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COLDFRONT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();
    // Headless commands run on a current-thread runtime: the emulator's Runtime API
    // server, its output readers and the sandbox task then share one thread, so each
    // thing a runtime does costs one wake-up, not a hand-over between threads (about
    // 0.1 ms per cold start here; `cargo xtask bench` measures the emulator this way).
    // The UI keeps a multi-thread runtime and measures on a thread of its own.
    let mut builder = if cli.command.is_none() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(exit::USAGE)
        }
    }
}
