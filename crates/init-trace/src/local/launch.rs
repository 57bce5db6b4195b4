//! Starting a runtime process the way `posix_spawn` does — `clone(CLONE_VM | CLONE_VFORK)`
//! — with the few steps a sandbox needs between fork and exec.
//!
//! A plain `fork` copies the emulator's page tables and then makes the emulator pay a
//! copy-on-write fault for every page it touches until the child execs; both grow with
//! the emulator's heap (the TUI holds hundreds of thousands of samples), so the time to
//! start a sandbox would depend on how long the emulator had been running. The child here
//! borrows the parent's memory until `execve`, while the parent thread waits.
//!
//! Everything the child touches is prepared before the clone: it allocates nothing, takes
//! no lock and makes only async-signal-safe system calls. It reports back through a
//! close-on-exec pipe: the instant it is about to exec, or the step that failed and its
//! errno. It needs glibc 2.25 or later (2017), whose `clone` wrapper no longer writes a
//! cached pid into the shared thread's memory.
//!
//! The program is run with `execve`, not `execvp`: a bare name is looked up on the
//! sandbox's `PATH`, and a script without a `#!` line fails with "exec format error" as
//! it does on Lambda (`Runtime.InvalidEntrypoint`), instead of being handed to `/bin/sh`.

#![allow(unsafe_code)]

use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::isolation::{ChildSetup, TASK_ROOT_IN_SANDBOX_C};
use super::process::LaunchCommand;

/// The open ends the parent keeps.
#[derive(Debug)]
pub(crate) struct Launched {
    pub pid: i32,
    /// `CLOCK_MONOTONIC` in the parent just before the clone.
    pub spawn_ns: u64,
    /// `CLOCK_MONOTONIC` in the child just before `execve`, after every other step.
    pub exec_ns: u64,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The child's steps, in order; the one that fails is reported with its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Not a failure: the exec time, sent just before `execve`.
    ExecAt,
    Stdin,
    Stdout,
    Stderr,
    ProcessGroup,
    WorkingDirectory,
    Cgroup,
    Network,
    MountNamespace,
    ReadOnlyHost,
    TaskRoot,
    Layers,
    Accounts,
    Tmp,
    User,
    DeathSignal,
    Execve,
    ParentGone,
}

impl Step {
    const ALL: [Step; 18] = [
        Step::ExecAt,
        Step::Stdin,
        Step::Stdout,
        Step::Stderr,
        Step::ProcessGroup,
        Step::WorkingDirectory,
        Step::Cgroup,
        Step::Network,
        Step::MountNamespace,
        Step::ReadOnlyHost,
        Step::TaskRoot,
        Step::Layers,
        Step::Accounts,
        Step::Tmp,
        Step::User,
        Step::DeathSignal,
        Step::Execve,
        Step::ParentGone,
    ];

    fn code(self) -> u64 {
        Self::ALL.iter().position(|s| *s == self).expect("listed") as u64
    }

    fn from_code(code: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// What the sandbox could not do, for the error message.
    fn what(self) -> &'static str {
        match self {
            Step::ExecAt => "report the exec time",
            Step::Stdin => "redirect stdin",
            Step::Stdout => "redirect stdout",
            Step::Stderr => "redirect stderr",
            Step::ProcessGroup => "start its own process group",
            Step::WorkingDirectory => "enter the working directory",
            Step::Cgroup => "join its cgroup",
            Step::Network => "join its network namespace",
            Step::MountNamespace => "make its mount namespace",
            Step::ReadOnlyHost => "turn the host's mounts read-only",
            Step::TaskRoot => "bind the task root at /var/task",
            Step::Layers => "mount its layers at /opt",
            Step::Accounts => "bind the account files naming its user over /etc/passwd and /etc/group",
            Step::Tmp => "mount its /tmp",
            Step::User => "become the unprivileged sandbox user",
            Step::DeathSignal => "set its parent-death signal",
            Step::Execve => "execve",
            Step::ParentGone => "start before the emulator ended",
        }
    }
}

/// What the child reads; all of it lives in the parent's memory, which the child shares.
struct ChildArgs {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    cgroup_procs: *const *const libc::c_char,
    cgroup_procs_len: usize,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    report: RawFd,
    /// The emulator's pid, to notice it ended before the parent-death signal was armed.
    parent_pid: libc::pid_t,
    /// A network namespace to join, or -1.
    netns: RawFd,
    /// Lambda's filesystem view, when `private`: the task root to bind at `/var/task`,
    /// the tmpfs options for `/tmp`, and the user to become.
    private: bool,
    task_root: *const libc::c_char,
    tmp_options: *const libc::c_char,
    /// The layers at `/opt`, or null: one directory to bind, or the options of a
    /// read-only overlay of several.
    layers_bind: *const libc::c_char,
    layers_overlay: *const libc::c_char,
    /// The account files naming the sandbox user, to bind over `/etc/passwd` and
    /// `/etc/group`, or null.
    passwd: *const libc::c_char,
    group: *const libc::c_char,
    uid: libc::uid_t,
    gid: libc::gid_t,
}

/// `cap_user_header_t` of `capset(2)`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// One `cap_user_data_t` of `capset(2)` (version 3 takes two: capabilities 0–31, 32–63).
#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_DAC_READ_SEARCH: u32 = 2;

/// Becomes `uid`/`gid` with no supplementary groups and no capability but
/// `CAP_DAC_READ_SEARCH` (kept across exec as an ambient capability), and with
/// `no_new_privs`, so no set-uid program gives privileges back. Raw system calls: glibc's
/// wrappers would tell the emulator's other threads to change user too, and this child
/// shares the emulator's memory. Returns whether every step succeeded.
///
/// # Safety
/// Only called in the child.
unsafe fn become_sandbox_user(uid: libc::uid_t, gid: libc::gid_t) -> bool {
    // SAFETY: system calls on values and on local structs of the stated layout.
    unsafe {
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
            || libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
        {
            return false;
        }
        let header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let read_search = 1_u32 << CAP_DAC_READ_SEARCH;
        let data = [
            CapData {
                effective: read_search,
                permitted: read_search,
                inheritable: read_search,
            },
            CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            },
        ];
        libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) == 0
            && libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                libc::c_ulong::from(CAP_DAC_READ_SEARCH),
                0,
                0,
            ) == 0
            && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    }
}

fn c_string(bytes: &[u8], what: &str) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte: {:?}", String::from_utf8_lossy(bytes)),
        )
    })
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// A bare program name is looked up on the sandbox's own `PATH`, as `execvp` would: the
/// first entry where it is an executable file wins, and relative entries are taken from
/// the sandbox's working directory.
pub(crate) fn resolve_program(program: &Path, env: &[(String, String)], cwd: &Path) -> std::io::Result<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map_or("/bin:/usr/bin", |(_, v)| v.as_str());
    path.split(':')
        .map(|dir| cwd.join(if dir.is_empty() { "." } else { dir }).join(program))
        .find(|candidate| super::process::is_executable(candidate))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} was not found on the sandbox's PATH ({path})", program.display()),
            )
        })
}

/// Writes the decimal pid and a newline into `buffer` without allocating.
fn format_pid(pid: i32, buffer: &mut [u8; 16]) -> usize {
    let mut digits = [0_u8; 16];
    let mut n = pid.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        buffer[i] = digits[len - 1 - i];
    }
    buffer[len] = b'\n';
    len + 1
}

/// Sends one 16-byte record (step, value) to the parent.
///
/// # Safety
/// Only called in the child with a valid pipe descriptor.
unsafe fn report(fd: RawFd, step: Step, value: u64) {
    let mut record = [0_u8; 16];
    record[..8].copy_from_slice(&step.code().to_ne_bytes());
    record[8..].copy_from_slice(&value.to_ne_bytes());
    // SAFETY: the record is a local array of the stated length.
    unsafe { libc::write(fd, record.as_ptr().cast(), record.len()) };
}

/// Reports a failed step with errno and ends the child.
///
/// # Safety
/// Only called in the child.
unsafe fn fail(fd: RawFd, step: Step) -> ! {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // SAFETY: as the caller's contract.
    unsafe {
        report(fd, step, errno as u64);
        libc::_exit(127)
    }
}

/// Puts `from` on `to`, leaving it open across exec.
///
/// # Safety
/// Only called in the child.
unsafe fn redirect(from: RawFd, to: RawFd) -> bool {
    // SAFETY: plain descriptor system calls.
    unsafe {
        if from == to {
            // dup2 onto itself would keep close-on-exec set.
            libc::fcntl(to, libc::F_SETFD, 0) == 0
        } else {
            libc::dup2(from, to) == to
        }
    }
}

extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the parent's `ChildArgs`, which outlives the child's use of
    // it because the parent is suspended (CLONE_VFORK) until the child execs or exits.
    // Every call below is an async-signal-safe system call on prepared memory.
    unsafe {
        let args = &*arg.cast::<ChildArgs>();
        // Signals are blocked (the parent blocked them before the clone). Handlers are the
        // parent's code and must not run here on the shared memory, so every disposition
        // goes back to the default before anything is unblocked, as in a fresh process.
        // The raw system call, because glibc's wrapper refuses the two real-time signals it
        // keeps for itself, and an ignored one would stay ignored across exec. An all-zero
        // kernel sigaction is SIG_DFL with no flags and an empty mask on every architecture.
        let default_action = [0_u64; 4];
        for signal in 1..=64 {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                std::ptr::null_mut::<libc::c_void>(),
                8,
            );
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());

        if !redirect(args.stdin, 0) {
            fail(args.report, Step::Stdin);
        }
        if !redirect(args.stdout, 1) {
            fail(args.report, Step::Stdout);
        }
        if !redirect(args.stderr, 2) {
            fail(args.report, Step::Stderr);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(args.report, Step::ProcessGroup);
        }
        let mut text = [0_u8; 16];
        let len = format_pid(libc::getpid(), &mut text);
        for i in 0..args.cgroup_procs_len {
            let fd = libc::open(*args.cgroup_procs.add(i), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                fail(args.report, Step::Cgroup);
            }
            let written = libc::write(fd, text.as_ptr().cast(), len);
            libc::close(fd);
            if written < 0 {
                fail(args.report, Step::Cgroup);
            }
        }
        // Namespaces and mounts come after the cgroup join (the cgroup files are read-only
        // once the host is) and before the user change (they need root).
        if args.netns >= 0 && libc::setns(args.netns, libc::CLONE_NEWNET) != 0 {
            fail(args.report, Step::Network);
        }
        if args.private {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                fail(args.report, Step::MountNamespace);
            }
            if super::isolation::read_only_host() != 0 {
                fail(args.report, Step::ReadOnlyHost);
            }
            // A bind mount takes the read-only flag of the mount it comes from, and the
            // task root is bound before `/tmp` is covered, where test task roots live.
            if libc::mount(
                args.task_root,
                TASK_ROOT_IN_SANDBOX_C.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ) != 0
            {
                fail(args.report, Step::TaskRoot);
            }
            // Layers too, before `/tmp` is covered: an overlay without an upper directory
            // is read-only, and a bind is as read-only as the host now is.
            if !args.layers_bind.is_null()
                && libc::mount(
                    args.layers_bind,
                    c"/opt".as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ) != 0
            {
                fail(args.report, Step::Layers);
            }
            if !args.layers_overlay.is_null()
                && libc::mount(
                    c"overlay".as_ptr(),
                    c"/opt".as_ptr(),
                    c"overlay".as_ptr(),
                    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                    args.layers_overlay.cast(),
                ) != 0
            {
                fail(args.report, Step::Layers);
            }
            // The account files live in the host's temporary directory too.
            for (file, target) in [(args.passwd, c"/etc/passwd"), (args.group, c"/etc/group")] {
                if !file.is_null()
                    && libc::mount(file, target.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) != 0
                {
                    fail(args.report, Step::Accounts);
                }
            }
            if libc::mount(
                c"tmpfs".as_ptr(),
                c"/tmp".as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                args.tmp_options.cast(),
            ) != 0
            {
                fail(args.report, Step::Tmp);
            }
        }
        if libc::chdir(args.cwd) != 0 {
            fail(args.report, Step::WorkingDirectory);
        }
        // Changing user clears the parent-death signal, so it is armed afterwards.
        if args.private && !become_sandbox_user(args.uid, args.gid) {
            fail(args.report, Step::User);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
            fail(args.report, Step::DeathSignal);
        }
        // The signal only fires for a parent that dies after it is armed.
        if libc::getppid() != args.parent_pid {
            fail(args.report, Step::ParentGone);
        }
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now);
        report(
            args.report,
            Step::ExecAt,
            now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64,
        );
        libc::execve(args.program, args.argv, args.envp);
        fail(args.report, Step::Execve)
    }
}

/// Starts `launch` in its own process group, joined to the cgroups whose `cgroup.procs`
/// files are given, with a parent-death signal tied to the calling thread, and in the
/// namespaces and as the user `setup` asks for. With Lambda's filesystem view the
/// command's paths in the task root (program, arguments, environment, working
/// directory) are given to the runtime under `/var/task`, and `TMPDIR` is `/tmp`.
pub(crate) fn launch(
    launch: &LaunchCommand,
    cgroup_procs: &[PathBuf],
    setup: &ChildSetup,
) -> std::io::Result<Launched> {
    // The program is found on the host, where its path is still the host's.
    let mut program_path = resolve_program(&launch.program, &launch.env, &launch.cwd)?;
    let mut argv0 = launch.program.clone();
    let mut args = launch.args.clone();
    let mut env = launch.env.clone();
    let mut cwd = launch.cwd.clone();
    if let Some(view) = &setup.view {
        program_path = view.inside(&program_path);
        argv0 = view.inside(&argv0);
        args = args.iter().map(|a| view.inside_value(a)).collect();
        for (key, value) in &mut env {
            *value = if key == "TMPDIR" {
                "/tmp".to_owned()
            } else {
                view.inside_value(value)
            };
        }
        cwd = view.inside(&cwd);
    }
    let task_root = setup
        .view
        .as_ref()
        .map(super::isolation::ChildView::task_root_c)
        .transpose()?;
    let tmp_options = setup
        .view
        .as_ref()
        .map(|view| c_string(view.tmp_options().as_bytes(), "the tmpfs options"))
        .transpose()?;
    let layers = setup.view.as_ref().and_then(super::isolation::ChildView::layers_mount);
    let (layers_bind, layers_overlay) = match &layers {
        None => (None, None),
        Some(super::isolation::LayersMount::Bind(dir)) => {
            (Some(c_string(dir.as_os_str().as_bytes(), "a layer")?), None)
        }
        Some(super::isolation::LayersMount::Overlay(options)) => {
            (None, Some(c_string(options.as_bytes(), "the layers' overlay options")?))
        }
    };
    let accounts = setup.view.as_ref().and_then(|view| view.accounts.as_ref());
    let passwd = accounts
        .map(|files| c_string(files.passwd.as_os_str().as_bytes(), "the passwd file"))
        .transpose()?;
    let group = accounts
        .map(|files| c_string(files.group.as_os_str().as_bytes(), "the group file"))
        .transpose()?;
    let program = c_string(program_path.as_os_str().as_bytes(), "the program path")?;
    // argv[0] is the program as it was written, as a shell or execvp would pass it.
    let argv: Vec<CString> = std::iter::once(c_string(argv0.as_os_str().as_bytes(), "the program"))
        .chain(args.iter().map(|a| c_string(a.as_bytes(), "an argument")))
        .collect::<std::io::Result<_>>()?;
    let envp: Vec<CString> = env
        .iter()
        .map(|(k, v)| c_string(format!("{k}={v}").as_bytes(), "an environment variable"))
        .collect::<std::io::Result<_>>()?;
    let cwd = c_string(cwd.as_os_str().as_bytes(), "the working directory")?;
    let procs: Vec<CString> = cgroup_procs
        .iter()
        .map(|p| c_string(p.as_os_str().as_bytes(), "a cgroup path"))
        .collect::<std::io::Result<_>>()?;
    let null_terminated = |items: &[CString]| {
        items
            .iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect::<Vec<_>>()
    };
    let (argv_ptrs, envp_ptrs) = (null_terminated(&argv), null_terminated(&envp));
    let procs_ptrs: Vec<*const libc::c_char> = procs.iter().map(|c| c.as_ptr()).collect();

    let stdin = OwnedFd::from(std::fs::OpenOptions::new().read(true).open(OsStr::new("/dev/null"))?);
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let (report_read, report_write) = pipe()?;
    let mut args = ChildArgs {
        program: program.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: envp_ptrs.as_ptr(),
        cwd: cwd.as_ptr(),
        cgroup_procs: procs_ptrs.as_ptr(),
        cgroup_procs_len: procs_ptrs.len(),
        stdin: stdin.as_raw_fd(),
        stdout: stdout_write.as_raw_fd(),
        stderr: stderr_write.as_raw_fd(),
        report: report_write.as_raw_fd(),
        // SAFETY: getpid has no preconditions.
        parent_pid: unsafe { libc::getpid() },
        netns: setup.netns.unwrap_or(-1),
        private: setup.view.is_some(),
        task_root: task_root.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        tmp_options: tmp_options.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        layers_bind: layers_bind.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        layers_overlay: layers_overlay.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        passwd: passwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        group: group.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        uid: setup.view.as_ref().map_or(0, |v| v.user.uid),
        gid: setup.view.as_ref().map_or(0, |v| v.user.gid),
    };
    // The child runs on its own stack in the parent's memory; 64 KiB is far more than
    // its few frames need.
    let mut stack = vec![0_u128; 64 * 1024 / 16];
    // SAFETY: one past the end of the stack allocation, which is 16-byte aligned; stacks
    // grow down on every Linux architecture Rust supports except hppa.
    let stack_top = unsafe { stack.as_mut_ptr().add(stack.len()) }.cast::<libc::c_void>();

    let spawn_ns = crate::clock::monotonic_ns();
    // SAFETY: all signals are blocked around the clone so that no handler runs in the
    // child before it has reset them; the previous mask is restored right after.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&raw mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut previous);
        let pid = libc::clone(
            child,
            stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut args).cast(),
        );
        let clone_error = std::io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut());
        if pid < 0 {
            return Err(clone_error);
        }
        pid
    };
    drop(stack);
    drop((stdin, stdout_write, stderr_write, report_write));

    // The child has exec'd or exited by now; its records are in the pipe.
    let mut records = Vec::with_capacity(32);
    let exec_ns = std::fs::File::from(report_read)
        .read_to_end(&mut records)
        .and_then(|_| exec_time(&records, &program_path));
    match exec_ns {
        Ok(exec_ns) => Ok(Launched {
            pid,
            spawn_ns,
            exec_ns,
            stdout: stdout_read,
            stderr: stderr_read,
        }),
        Err(err) => {
            // The child failed and has exited, or is of no use: reap it before reporting.
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            Err(err)
        }
    }
}

/// What a [`run_bare`] process did.
#[derive(Debug, Clone)]
pub struct BareRun {
    /// `CLOCK_MONOTONIC` in the child just before `execve`, as a sandbox's INIT starts.
    pub exec_ns: u64,
    /// Everything it wrote on stdout.
    pub stdout: Vec<u8>,
    /// Its exit status, when it exited (not killed by a signal).
    pub exit_code: Option<i32>,
}

/// Starts `command` exactly as a sandbox's runtime is started (the same clone and exec
/// timestamp) but with no server, cgroup or namespace, and waits for it to exit: the
/// baseline `cargo xtask bench` compares the emulator's Init Duration with over the same
/// interval. Its stderr is read and discarded.
///
/// # Errors
/// When the process cannot be started, or its output or exit cannot be read.
pub fn run_bare(command: &LaunchCommand) -> std::io::Result<BareRun> {
    let launched = launch(command, &[], &ChildSetup::default())?;
    let Launched {
        pid,
        exec_ns,
        stdout,
        stderr,
        ..
    } = launched;
    // Stderr is drained beside stdout, so a child that writes much to it never blocks on
    // a full pipe (nor dies of SIGPIPE on a closed one).
    let drain = std::thread::spawn(move || std::io::copy(&mut std::fs::File::from(stderr), &mut std::io::sink()));
    let mut out = Vec::new();
    let read = std::fs::File::from(stdout).read_to_end(&mut out);
    let _ = drain.join();
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)
        .map_err(|err| std::io::Error::other(format!("cannot reap {}: {err}", command.program.display())))?;
    read?;
    Ok(BareRun {
        exec_ns,
        stdout: out,
        exit_code: match status {
            nix::sys::wait::WaitStatus::Exited(_, code) => Some(code),
            _ => None,
        },
    })
}

/// The exec time from the child's records, or the error of the step that failed.
fn exec_time(records: &[u8], program: &Path) -> std::io::Result<u64> {
    let mut exec_ns = None;
    for record in records.chunks_exact(16) {
        let code = u64::from_ne_bytes(record[..8].try_into().expect("8 bytes"));
        let value = u64::from_ne_bytes(record[8..].try_into().expect("8 bytes"));
        let step = Step::from_code(code);
        if step == Some(Step::ExecAt) {
            exec_ns = Some(value);
            continue;
        }
        let errno = std::io::Error::from_raw_os_error(i32::try_from(value).unwrap_or(0));
        let message = match step {
            Some(Step::Execve) => {
                let hint = if errno.raw_os_error() == Some(libc::ENOEXEC) {
                    " (a script needs a `#!` first line; Lambda fails it the same way, Runtime.InvalidEntrypoint)"
                } else {
                    ""
                };
                format!("cannot execute {}: {errno}{hint}", program.display())
            }
            _ => format!(
                "the sandbox could not {} (for {}): {errno}",
                step.map_or("start", Step::what),
                program.display()
            ),
        };
        return Err(std::io::Error::new(errno.kind(), message));
    }
    exec_ns.ok_or_else(|| {
        std::io::Error::other(format!(
            "the sandbox for {} ended before it could exec",
            program.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pids_without_allocating() {
        let mut buffer = [0_u8; 16];
        let len = format_pid(40_213, &mut buffer);
        assert_eq!(&buffer[..len], b"40213\n");
        let len = format_pid(7, &mut buffer);
        assert_eq!(&buffer[..len], b"7\n");
    }

    #[test]
    fn bare_names_are_found_on_the_sandbox_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = vec![("PATH".to_owned(), "/nonexistent:/bin:/usr/bin".to_owned())];
        let sh = resolve_program(Path::new("sh"), &env, dir.path()).expect("sh is on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        let err = resolve_program(Path::new("no-such-program-xyz"), &env, dir.path()).expect_err("missing");
        assert!(
            err.to_string()
                .contains("no-such-program-xyz was not found on the sandbox's PATH"),
            "{err}"
        );
        assert_eq!(
            resolve_program(Path::new("./bootstrap"), &env, dir.path()).expect("relative path kept"),
            Path::new("./bootstrap")
        );
        // A relative PATH entry is the sandbox's directory, not the emulator's.
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir");
        let tool = dir.path().join("bin/tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let env = vec![("PATH".to_owned(), "bin:/bin".to_owned())];
        assert_eq!(
            resolve_program(Path::new("tool"), &env, dir.path()).expect("found in ./bin"),
            dir.path().join("bin/tool")
        );
    }

    fn run(program: &str, args: &[&str], env: &[(&str, &str)], cwd: &Path) -> std::io::Result<(Launched, String)> {
        let command = LaunchCommand {
            program: PathBuf::from(program),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            cwd: cwd.to_path_buf(),
        };
        let mut launched = launch(&command, &[], &ChildSetup::default())?;
        let mut out = String::new();
        let stdout = std::mem::replace(&mut launched.stdout, OwnedFd::from(std::fs::File::open("/dev/null")?));
        std::fs::File::from(stdout).read_to_string(&mut out)?;
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(launched.pid), None).expect("reaped");
        assert!(matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)), "{status:?}");
        Ok((launched, out))
    }

    #[test]
    fn the_child_starts_clean_where_it_was_told_with_only_the_given_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (launched, out) = run(
            "sh",
            &[
                "-c",
                "pwd; echo \"argv0=$0\"; env | sort; grep -E '^Sig(Blk|Ign)' /proc/self/status; cut -d' ' -f5 /proc/$$/stat",
            ],
            &[("PATH", "/usr/bin:/bin"), ("ONLY", "this")],
            dir.path(),
        )
        .expect("sh runs");
        assert!(launched.exec_ns >= launched.spawn_ns);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            Path::new(lines[0]),
            dir.path().canonicalize().expect("canonical"),
            "{out}"
        );
        assert!(lines.contains(&"ONLY=this"), "{out}");
        // argv[0] as written, though the program was found on PATH.
        assert!(lines.contains(&"argv0=sh"), "{out}");
        assert!(
            !lines.iter().any(|l| l.starts_with("HOME=")),
            "environment leaked: {out}"
        );
        // No signal blocked or ignored, whatever the emulator itself blocks or ignores.
        assert!(lines.contains(&"SigBlk:\t0000000000000000"), "{out}");
        assert!(lines.contains(&"SigIgn:\t0000000000000000"), "{out}");
        // Its own process group.
        assert_eq!(
            lines.last().map(|l| l.trim()),
            Some(launched.pid.to_string().as_str()),
            "{out}"
        );
    }

    #[test]
    fn a_bare_run_reports_its_exec_time_and_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let before_ns = crate::clock::monotonic_ns();
        let command = LaunchCommand {
            program: PathBuf::from("sh"),
            args: vec!["-c".to_owned(), "echo out; echo err >&2; exit 3".to_owned()],
            env: vec![("PATH".to_owned(), "/usr/bin:/bin".to_owned())],
            cwd: dir.path().to_path_buf(),
        };
        let bare = run_bare(&command).expect("sh runs");
        assert!(bare.exec_ns >= before_ns && bare.exec_ns <= crate::clock::monotonic_ns());
        assert_eq!(bare.stdout, b"out\n");
        assert_eq!(bare.exit_code, Some(3));
    }

    #[test]
    fn a_failed_exec_names_the_program_and_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bogus = dir.path().join("bootstrap");
        std::fs::write(&bogus, [0x7f_u8, b'E', b'L', b'F', 0, 0, 0, 0]).expect("write");
        std::fs::set_permissions(&bogus, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let err = run(bogus.to_str().expect("utf-8"), &[], &[], dir.path()).expect_err("not an executable");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot execute {}", bogus.display())),
            "{text}"
        );
        let script = dir.path().join("script");
        std::fs::write(&script, "echo no shebang\n").expect("write");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let err = run(script.to_str().expect("utf-8"), &[], &[], dir.path()).expect_err("no #! line");
        assert!(err.to_string().contains("a script needs a `#!` first line"), "{err}");
        let err = run("sh", &[], &[], &dir.path().join("missing")).expect_err("no such directory");
        assert!(
            err.to_string().contains("could not enter the working directory"),
            "{err}"
        );
    }
}
