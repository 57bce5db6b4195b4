//! `coldfront`: measure Lambda cold starts on an embedded emulator (and, later, CDN caching
//! and edge auth). The subcommands are thin front ends over the library crates.

// clap turns the binary's doc comments into `--help`, where "[default: …]" and "<time>"
// are help text, not rustdoc links or HTML; the library crates are held to both lints.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod cli;
mod commands;
mod edge_rows;
mod output;
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
    /// Stopped by SIGTERM; everything measured so far was kept and reported.
    pub const TERMINATED: u8 = 143;
    /// Stopped by SIGHUP (the terminal went away); everything measured so far was kept.
    pub const HANGUP: u8 = 129;

    static STOPPED_BY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(INTERRUPTED);

    /// Records which signal stopped the run, for [`for_samples`].
    pub fn stopped_by(code: u8) {
        STOPPED_BY.store(code, std::sync::atomic::Ordering::Relaxed);
    }
    /// Standard output's reader went away (`coldfront run | head`): the command stopped
    /// quietly, keeping everything measured, with the status a process killed by
    /// `SIGPIPE` reports (128 + 13).
    pub const BROKEN_PIPE: u8 = 141;

    /// The code for a run of cold starts: an interruption outranks failed samples, and a
    /// cold start the stop cut short is not a failure.
    pub fn for_samples(interrupted: bool, samples: &[init_trace::sample::ColdStartSample]) -> u8 {
        if interrupted {
            STOPPED_BY.load(std::sync::atomic::Ordering::Relaxed)
        } else if samples.iter().any(init_trace::sample::ColdStartSample::failed) {
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
    let result = runtime.block_on(commands::dispatch(cli));
    if output::closed() {
        return ExitCode::from(exit::BROKEN_PIPE);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            ExitCode::from(exit::USAGE)
        }
    }
}

/// An error and its causes on one line each, leaving out a cause whose text the message
/// before it already contains (`thiserror` messages often embed their source).
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut shown: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || shown.iter().any(|earlier| earlier.contains(&text)) {
            continue;
        }
        if shown.is_empty() {
            out.push_str(&text);
        } else {
            out.push_str("\n  caused by: ");
            out.push_str(&text);
        }
        shown.push(text);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let err = anyhow::Error::new(io)
            .context("cannot read t.csv: No such file or directory (os error 2)")
            .context("while loading the trace");
        assert_eq!(
            super::error_chain(&err),
            "while loading the trace\n  caused by: cannot read t.csv: No such file or directory (os error 2)"
        );
    }
}
