//! Why a cold start failed, in the words a reader acts on: the exception type and
//! message, the traceback's last frame (where the user's code raised), and for a runtime
//! that exited without reporting, the last thing it wrote.
//!
//! The runtime's own report (`/runtime/init/error`, `/invocation/{id}/error`) comes first;
//! a runtime that died without one is read from its output, where CPython prints the
//! traceback of an uncaught exception (`sys.exit("message")` prints just the message).

use serde::{Deserialize, Serialize};

use crate::sample::{ColdStartSample, FunctionError, InitStatus};

/// The cause of one failed cold start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureCause {
    /// The exception type (`RuntimeError`, `Runtime.ImportModuleError`, `Runtime.ExitError`).
    pub error_type: String,
    /// Its message.
    pub message: String,
    /// The traceback's last frame outside the import machinery:
    /// `handler.py:3 in <module>: import no_such_module_xyz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<String>,
    /// The last frame in the task root, when the last frame is in a library
    /// (`handler.py:4 in <module>: CONFIG = load()` for an error raised inside `json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_root_frame: Option<String>,
    /// For a runtime that exited without a traceback, its last line of output
    /// (`sys.exit("message")` prints only the message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_output: Option<String>,
}

impl FailureCause {
    /// One line: `Type: message`.
    pub fn headline(&self) -> String {
        if self.message.is_empty() {
            self.error_type.clone()
        } else {
            format!("{}: {}", self.error_type, self.message)
        }
    }

    /// Where it was raised, one line each: `at FRAME`, `from FRAME` (the task root's),
    /// `last output: LINE`.
    pub fn whereabouts(&self) -> Vec<String> {
        [
            ("at", &self.last_frame),
            ("from", &self.task_root_frame),
            ("last output:", &self.last_output),
        ]
        .into_iter()
        .filter_map(|(label, line)| line.as_ref().map(|line| format!("{label} {line}")))
        .collect()
    }
}

/// A frame of a Python traceback: `  File "path", line N, in name` and its code line, as
/// its path and `file:line in name: code`.
fn frame(header: &str, code: Option<&str>) -> Option<(String, String)> {
    let rest = header.trim_start().strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    if path.starts_with("<frozen ") {
        return None;
    }
    let rest = rest.trim_start_matches(',').trim();
    let line = rest.strip_prefix("line ")?.split(',').next()?.trim();
    let function = rest.split_once(", in ").map_or("", |(_, f)| f.trim());
    let file = path.rsplit('/').next().unwrap_or(path);
    let mut text = format!("{file}:{line} in {function}");
    if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty() && !c.starts_with('^')) {
        text.push_str(": ");
        text.push_str(code);
    }
    Some((path.to_owned(), text))
}

/// The frames of a runtime-reported `stackTrace` (one frame per entry).
fn reported_frames(stack: &[String]) -> Vec<(String, String)> {
    stack
        .iter()
        .filter_map(|entry| {
            let mut lines = entry.lines();
            frame(lines.next()?, lines.next())
        })
        .collect()
}

/// A traceback found in output: its frames and its exception line.
struct Traceback {
    frames: Vec<(String, String)>,
    exception: Option<(String, String)>,
}

/// Where the runtime saw its task root: where it is on the host, or `/var/task` for a
/// sandbox with Lambda's filesystem view.
fn task_roots(sample: &ColdStartSample) -> Vec<&std::path::Path> {
    let mut roots = vec![sample.task_root.as_path()];
    if sample.sandbox.filesystem.is_applied() {
        roots.push(std::path::Path::new(crate::local::TASK_ROOT_IN_SANDBOX));
    }
    roots.retain(|root| !root.as_os_str().is_empty());
    roots
}

/// The last frame, and the last in a task root (`roots`) when that is another one.
fn where_raised(frames: &[(String, String)], roots: &[&std::path::Path]) -> (Option<String>, Option<String>) {
    let in_task_root = |path: &std::path::Path| roots.iter().any(|root| path.starts_with(root));
    let last = frames.last().map(|(_, text)| text.clone());
    let in_root = frames
        .iter()
        .rev()
        .find(|(path, _)| in_task_root(std::path::Path::new(path)))
        .map(|(_, text)| text.clone())
        .filter(|text| Some(text) != last.as_ref());
    (last, in_root)
}

/// The last Python traceback in `text` (lines split on `\n` and `\r`, which AWS's runtime
/// uses inside one log record).
fn last_traceback(text: &str) -> Option<Traceback> {
    let lines: Vec<&str> = text.split(['\n', '\r']).collect();
    let start = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("Traceback (most recent call last)"))?;
    let mut frames = Vec::new();
    let mut exception = None;
    let mut i = start + 1;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("File \"") {
            let code = lines.get(i + 1).filter(|l| l.starts_with("    ")).copied();
            frames.extend(frame(line, code));
        } else if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with("import time:") {
            let (kind, message) = line.split_once(": ").unwrap_or((line, ""));
            if !kind.contains(' ') {
                exception = Some((kind.trim().to_owned(), message.trim().to_owned()));
            }
            break;
        }
        i += 1;
    }
    Some(Traceback { frames, exception })
}

/// The last line a runtime wrote that is not coldfront's instrumentation.
fn last_output_line(text: &str) -> Option<String> {
    text.split(['\n', '\r'])
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("import time:") && !l.starts_with("coldfront-"))
        .map(|l| l.chars().take(300).collect())
}

/// The error a failed cold start ended with: INIT's, else the first failed invoke's.
fn first_error(sample: &ColdStartSample) -> Option<&FunctionError> {
    if sample.init.status == InitStatus::Success {
        sample.invokes.iter().find_map(|i| i.error.as_ref())
    } else {
        sample.init.error.as_ref()
    }
}

/// Why `sample` failed, or `None` when nothing says (a timeout, a stop).
pub fn failure_cause(sample: &ColdStartSample) -> Option<FailureCause> {
    let error = first_error(sample)?;
    let (last_frame, task_root_frame) = where_raised(&reported_frames(&error.stack_trace), &task_roots(sample));
    let mut cause = FailureCause {
        error_type: error.error_type.clone(),
        message: error.error_message.clone(),
        last_frame,
        task_root_frame,
        last_output: None,
    };
    if cause.last_frame.is_some() {
        return Some(cause);
    }
    let traceback = last_traceback(&sample.stderr.text).or_else(|| last_traceback(&sample.stdout.text));
    match traceback {
        Some(traceback) => {
            (cause.last_frame, cause.task_root_frame) = where_raised(&traceback.frames, &task_roots(sample));
            // A runtime that exited on an uncaught exception reported nothing itself; the
            // exception is the cause, the exit its consequence.
            if error.error_type == "Runtime.ExitError"
                && let Some((kind, message)) = traceback.exception
            {
                cause.message = format!("{message} ({})", error.error_message);
                cause.error_type = kind;
            }
        }
        None if error.error_type == "Runtime.ExitError" => {
            cause.last_output = last_output_line(&sample.stderr.text).or_else(|| last_output_line(&sample.stdout.text));
        }
        None => {}
    }
    Some(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_stack_gives_the_users_frame_not_the_import_machinery() {
        let stack = vec![
            "  File \"/opt/rt/bootstrap.py\", line 822, in _load_handler\n    __import__(dotted)\n".to_owned(),
            "  File \"/var/task/handler.py\", line 3, in <module>\n    import no_such_module_xyz  # noqa: F401\n    ^^^^^^^^^^\n"
                .to_owned(),
            "  File \"<frozen importlib._bootstrap>\", line 1204, in _gcd_import\n".to_owned(),
        ];
        let frames = reported_frames(&stack);
        assert_eq!(
            where_raised(&frames, &[std::path::Path::new("/var/task")]),
            (
                Some("handler.py:3 in <module>: import no_such_module_xyz  # noqa: F401".to_owned()),
                None
            )
        );
    }

    #[test]
    fn an_uncaught_exception_in_output_is_the_cause_of_an_exit() {
        let text = "import time:   1 |   1 | x\nINFO starting\nTraceback (most recent call last):\n  File \"/var/task/handler.py\", line 9, in <module>\n    connect()\n  File \"/var/task/db.py\", line 4, in connect\n    raise ConnectionError(\"db: refused\")\nConnectionError: db: refused\n";
        let traceback = last_traceback(text).expect("found");
        assert_eq!(
            where_raised(&traceback.frames, &[std::path::Path::new("/var/task")])
                .0
                .as_deref(),
            Some("db.py:4 in connect: raise ConnectionError(\"db: refused\")")
        );
        assert_eq!(
            traceback.exception,
            Some(("ConnectionError".to_owned(), "db: refused".to_owned()))
        );
        // AWS's runtime writes one record per error with `\r` between its lines.
        let aws = "[ERROR] Runtime.ImportModuleError: Unable to import module 'handler': No module named 'x'\rTraceback (most recent call last):\r  File \"/var/task/handler.py\", line 1, in <module>\r    import x\n";
        assert_eq!(
            last_traceback(aws)
                .and_then(|t| t.frames.last().cloned())
                .map(|f| f.1)
                .as_deref(),
            Some("handler.py:1 in <module>: import x")
        );
        // Raised in a library: the task root's last frame is named too.
        let frames = vec![
            (
                "/var/task/handler.py".to_owned(),
                "handler.py:4 in <module>: CONFIG = load()".to_owned(),
            ),
            (
                "/usr/lib/python3.11/json/decoder.py".to_owned(),
                "decoder.py:353 in raw_decode".to_owned(),
            ),
        ];
        assert_eq!(
            where_raised(&frames, &[std::path::Path::new("/var/task")]).1.as_deref(),
            Some("handler.py:4 in <module>: CONFIG = load()")
        );
        assert_eq!(
            last_output_line("config missing: /var/task/app.toml\ncoldfront-mark: x 1\n").as_deref(),
            Some("config missing: /var/task/app.toml")
        );
    }
}
