//! Spawning a runtime process, watching it exit, and killing its whole tree.
//!
//! Each process gets its own process group (so one signal reaches every descendant), joins
//! its cgroups before `exec` (so nothing it does is charged elsewhere), and dies with its
//! parent thread (`PR_SET_PDEATHSIG`), so even a crashed emulator leaves no runtime
//! behind; [`launch`](super::launch) does those steps. A dedicated thread spawns it and
//! then blocks in `wait4`, which also yields the exit status and CPU times (its peak RSS
//! includes the emulator's own memory, so Max Memory Used comes from `VmHWM` instead: see
//! the teardown in `local/mod.rs`); because that thread lives until the process is
//! reaped, the parent-death signal never fires early. Its output pipes are read on the
//! async runtime, so a sandbox costs no reader threads.

#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use crate::clock::monotonic_ns;
use crate::sample::CapturedOutput;

/// What to execute.
#[derive(Debug, Clone)]
pub struct LaunchCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

/// How a process ended, as `wait4` reported it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitInfo {
    pub at_ns: u64,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub maxrss_kb: u64,
    pub user_ms: f64,
    pub system_ms: f64,
}

/// Output captured from a pipe, within a limit: the head (where `-X importtime` and
/// start-up messages are) and the tail (where a traceback is), with a count of what lay
/// between. A function that prints megabytes does not make every sample line megabytes.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
    limit: usize,
}

/// The most a capture keeps of the end of its output.
const TAIL_LIMIT_BYTES: usize = 64 * 1024;

impl Capture {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn tail_limit(&self) -> usize {
        (self.limit / 4).min(TAIL_LIMIT_BYTES)
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = (self.limit - self.tail_limit()).saturating_sub(self.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        let tail_limit = self.tail_limit();
        let rest = &rest[rest.len().saturating_sub(tail_limit)..];
        let overflow = (self.tail.len() + rest.len()).saturating_sub(tail_limit);
        self.tail.drain(..overflow);
        self.tail.extend(rest);
    }

    pub(crate) fn snapshot(&self) -> CapturedOutput {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > kept {
            text.push_str(&format!(
                "\n[coldfront: {} bytes of output not kept here]\n",
                self.total - kept
            ));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        CapturedOutput {
            text,
            total_bytes: self.total,
            truncated: self.total > kept,
        }
    }
}

/// The last few KiB the runtime wrote to stdout and stderr together, in arrival order,
/// with a running count: what Lambda's `LogType=Tail` returns is cut from it.
#[derive(Debug, Default)]
pub(crate) struct LogTail {
    recent: std::collections::VecDeque<u8>,
    total: u64,
}

/// How much output the per-invoke log tail keeps, and the most of an invocation's log Lambda returns
/// with `LogType=Tail`: the last 4 KB.
pub const LOG_TAIL_BYTES: usize = 4096;

impl LogTail {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let bytes = &bytes[bytes.len().saturating_sub(LOG_TAIL_BYTES)..];
        let overflow = (self.recent.len() + bytes.len()).saturating_sub(LOG_TAIL_BYTES);
        self.recent.drain(..overflow);
        self.recent.extend(bytes);
    }

    /// Bytes written so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// What was written after `mark` (a [`LogTail::total`]), as far as it is kept.
    pub(crate) fn since(&self, mark: u64) -> Vec<u8> {
        let wanted = usize::try_from(self.total.saturating_sub(mark)).unwrap_or(usize::MAX);
        let skip = self.recent.len().saturating_sub(wanted);
        self.recent.iter().skip(skip).copied().collect()
    }
}

/// A running runtime process.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub pid: i32,
    /// Just before the clone that starts it.
    pub spawn_ns: u64,
    /// In the child, just before `execve` (after it joined its cgroups): the moment the
    /// runtime process starts.
    pub exec_ns: u64,
    pub exit: oneshot::Receiver<ExitInfo>,
    pub stdout: Arc<Mutex<Capture>>,
    pub stderr: Arc<Mutex<Capture>>,
    /// Both streams' latest output, for per-invocation logs.
    pub log_tail: Arc<Mutex<LogTail>>,
    /// The tasks reading stdout and stderr until end of file.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Spawned {
    /// Waits (briefly) for the pipes to drain after the process is gone, so the last
    /// lines it wrote are kept.
    pub(crate) async fn finish_capture(mut self) -> (CapturedOutput, CapturedOutput) {
        // A descendant that escaped the kill could hold the pipe open forever; give the
        // readers two seconds and keep what they have by then.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        for reader in &mut self.readers {
            let _ = tokio::time::timeout_at(deadline, reader).await;
        }
        (
            self.stdout.lock().expect("capture lock").snapshot(),
            self.stderr.lock().expect("capture lock").snapshot(),
        )
    }
}

impl Drop for Spawned {
    /// A reader left running would hold its pipe (and buffer) for as long as anything
    /// still writes to it.
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// Reads a pipe on the async runtime until end of file. The runtime's own reactor watches
/// it, so a cold start needs no reader threads: creating two per sandbox used to preempt
/// the runtime right after its `exec`, inside the Init Duration.
async fn read_pipe(
    mut pipe: tokio::net::unix::pipe::Receiver,
    capture: Arc<Mutex<Capture>>,
    log_tail: Arc<Mutex<LogTail>>,
) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) => return,
            Ok(n) => {
                capture.lock().expect("capture lock").push(&buffer[..n]);
                log_tail.lock().expect("log tail lock").push(&buffer[..n]);
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Spawns the process on its own thread and returns once it is running.
pub(crate) async fn spawn(
    launch: LaunchCommand,
    cgroup_procs: Vec<PathBuf>,
    capture_limit: usize,
    spawner: Option<&Spawner>,
    setup: super::isolation::ChildSetup,
) -> std::io::Result<Spawned> {
    let stdout = Arc::new(Mutex::new(Capture::new(capture_limit)));
    let stderr = Arc::new(Mutex::new(Capture::new(capture_limit)));
    let (started_tx, started_rx) = oneshot::channel();
    let (exit_tx, exit_rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let launched = match super::launch::launch(&launch, &cgroup_procs, &setup) {
            Ok(launched) => launched,
            Err(err) => {
                let _ = started_tx.send(Err(err));
                return;
            }
        };
        let pid = launched.pid;
        let _ = started_tx.send(Ok(launched));
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: wait4 writes only into the two locals passed by pointer.
            let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
            if reaped == pid {
                break;
            }
            if reaped < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Someone else reaped it; report what is known.
            status = 0;
            break;
        }
        let at_ns = monotonic_ns();
        let to_ms = |tv: libc::timeval| tv.tv_sec as f64 * 1000.0 + tv.tv_usec as f64 / 1000.0;
        let info = ExitInfo {
            at_ns,
            code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            maxrss_kb: usage.ru_maxrss.max(0) as u64,
            user_ms: to_ms(usage.ru_utime),
            system_ms: to_ms(usage.ru_stime),
        };
        let _ = exit_tx.send(info);
    });
    match spawner {
        Some(spawner) => spawner.run(job)?,
        None => {
            std::thread::Builder::new()
                .name("coldfront-sandbox".to_owned())
                .spawn(job)?;
        }
    }
    let launched = started_rx
        .await
        .map_err(|_| std::io::Error::other("sandbox thread ended before spawning"))??;
    let pid = launched.pid;
    let log_tail = Arc::new(Mutex::new(LogTail::default()));
    let mut readers = Vec::with_capacity(2);
    for (pipe, capture) in [(launched.stdout, &stdout), (launched.stderr, &stderr)] {
        match tokio::net::unix::pipe::Receiver::from_owned_fd(pipe) {
            Ok(pipe) => readers.push(tokio::spawn(read_pipe(pipe, capture.clone(), log_tail.clone()))),
            Err(err) => {
                readers.iter().for_each(tokio::task::JoinHandle::abort);
                kill_group(pid);
                return Err(err);
            }
        }
    }
    Ok(Spawned {
        pid,
        spawn_ns: launched.spawn_ns,
        exec_ns: launched.exec_ns,
        exit: exit_rx,
        stdout,
        stderr,
        log_tail,
        readers,
    })
}

/// Work for a sandbox thread: start the runtime, then wait for it in `wait4`.
type Job = Box<dyn FnOnce() + Send>;

/// A long-lived thread that already sits in a sandbox's cgroups, so the runtimes it starts
/// are born there. Moving a task into a v1 cgroup waits for an RCU grace period — 10 to
/// 40 ms here — which a fresh process would pay on every cold start; the thread pays it
/// once. It runs one sandbox at a time, as its cgroup holds one sandbox at a time.
#[derive(Debug)]
pub(crate) struct Spawner {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spawner {
    /// Starts the thread and moves it into the cgroups whose v1 `tasks` files are given.
    pub(crate) fn start(tasks_files: Vec<PathBuf>) -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("coldfront-spawner".to_owned())
            .spawn(move || {
                let tid = nix::unistd::gettid().to_string();
                for file in &tasks_files {
                    if let Err(err) = std::fs::write(file, &tid) {
                        let _ = ready_tx.send(Err(std::io::Error::new(
                            err.kind(),
                            format!("cannot join {}: {err}", file.display()),
                        )));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(()));
                for job in queue {
                    job();
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("spawner thread ended early"))??;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn run(&self, job: Job) -> std::io::Result<()> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| std::io::Error::other("spawner thread is gone"))
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // Closing the queue ends the thread once its current sandbox has been reaped; its
        // exit takes it out of the cgroup, which can then be removed.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends SIGKILL to every process in the group.
pub(crate) fn kill_group(pgid: i32) {
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

fn stat_fields(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Every process in the group, zombies included.
pub(crate) fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let (_state, pgrp) = stat_fields(pid)?;
            (pgrp == pgid).then_some(pid)
        })
        .collect()
}

fn vm_hwm_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kb_in(&status, "VmHWM:")
}

/// The kB value of the `key` line of a `/proc/<pid>/status` text.
fn kb_in(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A process's `/proc/<pid>/status`, opened while it starts so that reading its peak at
/// the teardown, when every microsecond is waited for, skips the path lookup.
#[derive(Debug)]
pub(crate) struct StatusFile(std::fs::File);

impl StatusFile {
    pub(crate) fn open(pid: i32) -> std::io::Result<Self> {
        std::fs::File::open(format!("/proc/{pid}/status")).map(Self)
    }

    /// The process's `VmHWM` now, in kB; `None` once it has exited. The kernel writes the
    /// file afresh for each read from the start.
    pub(crate) fn vm_hwm_kb(&self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let mut status = Vec::with_capacity(4096);
        let mut chunk = [0_u8; 4096];
        loop {
            let n = self.0.read_at(&mut chunk, status.len() as u64).ok()?;
            if n == 0 {
                break;
            }
            status.extend_from_slice(&chunk[..n]);
        }
        kb_in(std::str::from_utf8(&status).ok()?, "VmHWM:")
    }
}

/// The sum of the peak RSS of the given processes, in kB. For a process tree it is an
/// upper bound of the tree's peak, exact for a single process.
pub(crate) fn peak_rss_kb(pids: &[i32]) -> u64 {
    pids.iter().copied().filter_map(vm_hwm_kb).sum()
}

/// Makes this process the reaper of its orphaned descendants. A runtime that daemonises a
/// helper (double fork, `setsid`) leaves an orphan; without this it would be re-parented to
/// PID 1, which in containers often never reaps, leaving zombies behind every sample.
pub(crate) fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integer arguments.
    let _ = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
}

/// Every process whose environment carries `marker` (`NAME=value`). Descendants inherit
/// the sandbox's environment, so this finds them even after they left the process group.
pub(crate) fn processes_with_env(marker: &str) -> Vec<i32> {
    let needle: Vec<u8> = marker.bytes().chain(std::iter::once(0)).collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split_inclusive(|&b| b == 0).any(|var| var == needle.as_slice()))
        })
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// Kills `pid` and, when it is (now) this process's child, reaps it so no zombie is left.
pub(crate) fn kill_and_reap(pid: i32) {
    let target = Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(target, Signal::SIGKILL);
    if parent_of(pid) == Some(std::process::id() as i32) {
        let _ = nix::sys::wait::waitpid(target, None);
    }
}

/// Whether `path` is a file this process may execute.
pub(crate) fn is_executable(path: &Path) -> bool {
    path.is_file() && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_capture_keeps_head_and_tail_within_its_limit() {
        let mut capture = Capture::new(40);
        // Tail limit 10, head 30: written in uneven pieces across both boundaries.
        let text: Vec<u8> = (0..100_u8).map(|i| b'a' + i % 26).collect();
        for piece in text.chunks(7) {
            capture.push(piece);
        }
        let snapshot = capture.snapshot();
        assert_eq!(snapshot.total_bytes, 100);
        assert!(snapshot.truncated);
        let head = String::from_utf8_lossy(&text[..30]).into_owned();
        let tail = String::from_utf8_lossy(&text[90..]).into_owned();
        assert_eq!(
            snapshot.text,
            format!("{head}\n[coldfront: 60 bytes of output not kept here]\n{tail}")
        );
        // Within the limit, output is kept whole and unmarked.
        let mut small = Capture::new(40);
        small.push(b"hello ");
        small.push(b"world");
        assert_eq!(small.snapshot().text, "hello world");
        assert!(!small.snapshot().truncated);
        let mut exact = Capture::new(40);
        exact.push(&text[..40]);
        assert_eq!(exact.snapshot().text.as_bytes(), &text[..40]);
    }
    use super::*;

    #[test]
    fn a_status_file_read_again_shows_the_peak_now() {
        let pid = std::process::id() as i32;
        let status = StatusFile::open(pid).expect("own status");
        assert!(status.vm_hwm_kb().is_some_and(|kb| kb > 0));
        let status_now = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let rss_before_kb = kb_in(&status_now, "VmRSS:").expect("VmRSS");
        // 64 MB more resident than now: the peak read again from the same open file must
        // be at least that, so the teardown never reports a stale peak.
        let grown: Vec<u8> = vec![1; 64 << 20];
        std::hint::black_box(&grown);
        let after_kb = status.vm_hwm_kb().expect("VmHWM");
        assert!(
            after_kb >= rss_before_kb + 60 * 1024,
            "{rss_before_kb} kB resident, then a peak of {after_kb} kB"
        );
        assert_eq!(
            kb_in("Name:\tx\nVmHWM:\t  1234 kB\nVmRSS:\t 1 kB\n", "VmHWM:"),
            Some(1234)
        );
        assert_eq!(kb_in("Name:\tzombie\nState:\tZ (zombie)\n", "VmHWM:"), None);
    }
}
