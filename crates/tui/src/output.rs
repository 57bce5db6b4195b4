//! Standard output that survives a closed pipe.
//!
//! `println!` panics when the reader has gone (`coldfront run | head -1`), which killed a
//! run mid-measurement with exit 101. Every command prints through [`outln!`] instead: the
//! first write that finds the pipe closed marks stdout closed, later writes are dropped, a
//! measuring loop stops at its next cold start (everything measured is already in its
//! files), and `main` exits with [`crate::exit::BROKEN_PIPE`] without a message, as a
//! Unix tool killed by `SIGPIPE` would.

use std::io::{ErrorKind, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `args` and a newline to stdout, unless the reader has gone.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    write(format_args!("{args}\n"));
}

/// Writes `args` to stdout as is, unless the reader has gone.
pub(crate) fn write(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| stdout.flush());
    if let Err(err) = result {
        // Any other failure (a full disk behind a redirect) is just as final for stdout;
        // it is reported once rather than on every line.
        if err.kind() != ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to standard output ({err}); the rest of the output is dropped");
        }
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether stdout's reader has gone (or stdout failed otherwise).
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// `println!` for commands: see the module documentation.
macro_rules! outln {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

/// `print!` for commands: see the module documentation.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};
