//! Lambda's view of the machine for each sandbox: its own mounts and its own network.
//!
//! **Filesystem.** On Lambda the function's code is read-only at `/var/task`, `/tmp` is the
//! only writable place (its size is the function's ephemeral storage) and the code does
//! not run as root (docs/sources.md, "Lambda execution environment"). The runtime here
//! gets a mount namespace of its own, made in the child between clone and exec
//! (`launch`): every mount of the host turned read-only (one `mount_setattr` over the
//! whole tree, which also stops mount events from reaching the host), the task root
//! bound at `/var/task`, a fresh tmpfs of the ephemeral size on `/tmp`, and then an
//! unprivileged user. That user keeps one capability, `CAP_DAC_READ_SEARCH`, so the
//! interpreter and task roots under root-only directories (a pyenv under `/root`, a
//! `0700` temporary directory) stay readable without copying them; it grants no write
//! access, and `no_new_privs` keeps set-uid programs from giving any back.
//!
//! **Runtime API.** On the host's loopback any local process could answer for the
//! function. Each sandbox's Runtime API and X-Ray listeners are instead bound inside a
//! network namespace of its own (loopback only), which the runtime joins before exec: no
//! process outside it can connect. The namespace is made, with its sockets, on a thread
//! kept for that, so no emulator thread ever changes namespace; the sockets are then
//! served from the emulator's own runtime like any other.
//!
//! Both need root. Where the kernel refuses, the emulator says why once and records in
//! every sample which view the sandbox ran in.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sample::Isolation;

/// Where the task root appears inside the sandbox, as on Lambda.
pub const TASK_ROOT_IN_SANDBOX: &str = "/var/task";
/// The same, for the child's `mount`.
pub(crate) const TASK_ROOT_IN_SANDBOX_C: &std::ffi::CStr = c"/var/task";

/// The user and group a sandbox's runtime runs as in Lambda's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxUser {
    /// The user id (never 0).
    pub uid: u32,
    /// The group id (never 0).
    pub gid: u32,
}

impl Default for SandboxUser {
    /// An id of coldfront's own, outside the ranges distributions give to system and
    /// login accounts, so the runtime shares its user with no host process (it could
    /// otherwise signal or trace them). Lambda does not document its sandbox user's id.
    fn default() -> Self {
        Self {
            uid: 64_993,
            gid: 64_993,
        }
    }
}

/// What the machine allows, found once per emulator when the first sandbox starts.
#[derive(Debug, Clone)]
pub(crate) struct IsolationSupport {
    /// Lambda's filesystem view, or why it cannot be had here.
    pub filesystem: Result<(), String>,
    /// The Runtime API inside a network namespace, or why not.
    pub network: Result<(), String>,
}

impl IsolationSupport {
    /// Tries each mechanism the way a sandbox will use it, on a thread that is thrown
    /// away afterwards, so the emulator's own threads keep the host's namespaces.
    pub(crate) fn probe(want_filesystem: bool, want_network: bool, user: SandboxUser) -> Self {
        let filesystem = if want_filesystem {
            probe_filesystem().and_then(|()| user_is_mapped(user))
        } else {
            Ok(())
        };
        let network = if want_network {
            std::thread::Builder::new()
                .name("coldfront-netns-probe".to_owned())
                .spawn(|| make_sandbox_net().map(drop))
                .map_err(|err| format!("cannot start a thread: {err}"))
                .and_then(|thread| thread.join().map_err(|_| "the probe thread panicked".to_owned()))
                .and_then(|made| made.map_err(|err| err.to_string()))
        } else {
            Ok(())
        };
        Self { filesystem, network }
    }

    /// The sample's record for a sandbox: `wanted` is the emulator's option.
    pub(crate) fn filesystem_record(&self, wanted: bool) -> Isolation {
        record(wanted, &self.filesystem)
    }

    /// As [`filesystem_record`](Self::filesystem_record), for the Runtime API.
    pub(crate) fn network_record(&self, wanted: bool) -> Isolation {
        record(wanted, &self.network)
    }
}

fn record(wanted: bool, support: &Result<(), String>) -> Isolation {
    match (wanted, support) {
        (false, _) => Isolation::Disabled,
        (true, Ok(())) => Isolation::Applied,
        (true, Err(reason)) => Isolation::Unavailable(reason.clone()),
    }
}

fn errno_text(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Whether this (possibly namespaced) root can become `user`: inside a user namespace only
/// the ids its maps name exist.
fn user_is_mapped(user: SandboxUser) -> Result<(), String> {
    for (file, id) in [("/proc/self/uid_map", user.uid), ("/proc/self/gid_map", user.gid)] {
        let Ok(map) = std::fs::read_to_string(file) else {
            // Kernels without user namespaces have no maps: every id exists.
            continue;
        };
        if !id_in_map(&map, id) {
            return Err(format!(
                "the sandbox user's id {id} is not mapped in this user namespace ({file}: {:?})",
                map.trim()
            ));
        }
    }
    Ok(())
}

/// Whether `id` is inside one of the ranges of a `uid_map`/`gid_map` text.
fn id_in_map(map: &str, id: u32) -> bool {
    map.lines().any(|line| {
        let fields: Vec<u64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        matches!(fields[..], [inside, _, count] if (inside..inside + count).contains(&u64::from(id)))
    })
}

/// Makes `/var/task` on the host if it is missing (an empty directory, the mount point),
/// then tries the mount steps of a sandbox on a thread of its own.
fn probe_filesystem() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("it needs root (to make a mount namespace and change user)".to_owned());
    }
    let mount_point = Path::new(TASK_ROOT_IN_SANDBOX);
    if !mount_point.is_dir() {
        std::fs::create_dir_all(mount_point)
            .map_err(|err| format!("cannot create the mount point {}: {err}", mount_point.display()))?;
    }
    std::thread::Builder::new()
        .name("coldfront-mount-probe".to_owned())
        .spawn(|| {
            // SAFETY: plain system calls on this thread's own (unshared) mount namespace
            // and on string literals.
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(errno_text("cannot make a mount namespace (unshare)"));
                }
                if read_only_host() != 0 {
                    return Err(errno_text(
                        "cannot turn the host's mounts read-only in the sandbox (mount_setattr, Linux 5.12 or later)",
                    ));
                }
                if libc::mount(
                    c"tmpfs".as_ptr(),
                    c"/tmp".as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"size=1m".as_ptr().cast(),
                ) != 0
                {
                    return Err(errno_text("cannot mount a tmpfs on /tmp"));
                }
            }
            Ok(())
        })
        .map_err(|err| format!("cannot start a thread: {err}"))?
        .join()
        .map_err(|_| "the probe thread panicked".to_owned())?
}

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Makes every mount of the calling task's namespace read-only and a slave of the
/// host's, so nothing mounted here propagates back. Returns the system call's result.
///
/// # Safety
/// Only for a task in a mount namespace of its own; async-signal-safe.
pub(crate) unsafe fn read_only_host() -> libc::c_long {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: libc::MS_SLAVE,
        userns_fd: 0,
    };
    // SAFETY: a valid path and a struct of the size passed.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::AT_RECURSIVE,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    }
}

/// A sandbox's own network: the namespace, and the Runtime API and X-Ray sockets bound
/// on its loopback.
#[derive(Debug)]
pub(crate) struct SandboxNet {
    /// The namespace, for the runtime to join.
    pub ns: OwnedFd,
    /// The Runtime API's listening socket.
    pub api: std::net::TcpListener,
    /// The X-Ray daemon's socket.
    pub xray: std::net::UdpSocket,
}

/// `struct ifreq` with the flags member, as `SIOCGIFFLAGS`/`SIOCSIFFLAGS` use it.
#[repr(C)]
struct IfreqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _rest: [u8; 22],
}

/// Puts the calling thread into a new network namespace, brings its loopback up and binds
/// the sandbox's sockets there. Only for a thread that owns nothing else of the network.
fn make_sandbox_net() -> std::io::Result<SandboxNet> {
    let os_error = |what: &str| {
        let err = std::io::Error::last_os_error();
        std::io::Error::new(err.kind(), format!("{what}: {err}"))
    };
    // SAFETY: plain system calls on this thread and on descriptors it owns.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNET) != 0 {
            return Err(os_error("cannot make a network namespace (unshare)"));
        }
        let control = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if control < 0 {
            return Err(os_error("cannot open a socket in the sandbox's network namespace"));
        }
        let control = OwnedFd::from_raw_fd(control);
        let mut request = IfreqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: 0,
            _rest: [0; 22],
        };
        request.name[..2].copy_from_slice(b"lo");
        if libc::ioctl(control.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) != 0 {
            return Err(os_error("cannot read the sandbox loopback's flags"));
        }
        request.flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(control.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const request) != 0 {
            return Err(os_error("cannot bring the sandbox's loopback up"));
        }
    }
    let api = std::net::TcpListener::bind("127.0.0.1:0")?;
    let xray = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let ns = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|err| std::io::Error::new(err.kind(), format!("/proc/thread-self/ns/net: {err}")))?;
    Ok(SandboxNet {
        ns: ns.into(),
        api,
        xray,
    })
}

type NetRequest = tokio::sync::oneshot::Sender<std::io::Result<SandboxNet>>;

/// Makes a sandbox network on the one thread that changes network namespace. Each request
/// starts from the namespace the previous one left the thread in, which does not matter:
/// `unshare` always makes a new, empty one.
pub(crate) async fn sandbox_net() -> std::io::Result<SandboxNet> {
    static MAKER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<NetRequest>>> = std::sync::OnceLock::new();
    let maker = MAKER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<NetRequest>();
        std::thread::Builder::new()
            .name("coldfront-netns".to_owned())
            .spawn(move || {
                for reply in rx {
                    let _ = reply.send(make_sandbox_net());
                }
            })
            .ok()
            .map(|_| tx)
    });
    let gone = || std::io::Error::other("the thread that makes sandbox networks is gone");
    let (reply, answer) = tokio::sync::oneshot::channel();
    maker.as_ref().ok_or_else(gone)?.send(reply).map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}

/// How the child sets up Lambda's view before it execs; paths are the host's.
#[derive(Debug, Clone)]
pub(crate) struct ChildView {
    /// The task root on the host, bound read-only at `/var/task`.
    pub task_root: PathBuf,
    /// `/tmp`'s size.
    pub tmp_size_mb: u32,
    /// The function's layers on the host, shown at `/opt` in this order (a later one's
    /// files win).
    pub layers: Vec<PathBuf>,
    /// Who the runtime runs as.
    pub user: SandboxUser,
    /// The account files naming that user, bound over `/etc/passwd` and `/etc/group`;
    /// `None` when the host's already name it or they could not be written.
    pub accounts: Option<AccountFiles>,
}

/// The name the sandbox user has inside the sandbox.
pub const SANDBOX_USER_NAME: &str = "sbx_user";

/// Copies of the host's `/etc/passwd` and `/etc/group` with the sandbox user added.
///
/// On Lambda the sandbox user is an account of the image, so looking it up by id is
/// answered from the account files. Without an entry every lookup falls through the whole
/// name-service chain (systemd's userdb directories and sockets on most hosts), and one
/// happens in every Python cold start: with `HOME` unset, as on Lambda, the `site` module
/// asks for the user's home directory. That cost 0.5–0.7 ms of each INIT here, which
/// Lambda does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountFiles {
    pub passwd: PathBuf,
    pub group: PathBuf,
}

impl AccountFiles {
    /// Writes the two files into `dir`, or says why not; `Ok(None)` when the host's files
    /// already name the user and group (nothing to bind).
    pub(crate) fn write(dir: &Path, etc: &Path, user: SandboxUser) -> std::io::Result<Option<Self>> {
        let passwd = std::fs::read_to_string(etc.join("passwd"))?;
        let group = std::fs::read_to_string(etc.join("group"))?;
        let uid_known = has_id(&passwd, user.uid);
        let gid_known = has_id(&group, user.gid);
        if uid_known && gid_known {
            return Ok(None);
        }
        let files = Self {
            passwd: dir.join("passwd"),
            group: dir.join("group"),
        };
        let with_line = |text: &str, known: bool, line: String| {
            let mut text = text.to_owned();
            if !known {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&line);
            }
            text
        };
        let (uid, gid) = (user.uid, user.gid);
        write_readable(
            &files.passwd,
            &with_line(
                &passwd,
                uid_known,
                format!("{SANDBOX_USER_NAME}:x:{uid}:{gid}:Lambda sandbox user:/tmp:/sbin/nologin\n"),
            ),
        )?;
        write_readable(
            &files.group,
            &with_line(&group, gid_known, format!("{SANDBOX_USER_NAME}:x:{gid}:\n")),
        )?;
        Ok(Some(files))
    }
}

/// Whether an account file (`name:password:id:…` lines) has an entry with this id.
fn has_id(file: &str, id: u32) -> bool {
    file.lines()
        .filter_map(|line| line.split(':').nth(2))
        .any(|field| field.parse() == Ok(id))
}

/// Writes `text` to `path` readable by everyone, as `/etc`'s account files are.
fn write_readable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

/// How a sandbox's layers are mounted at `/opt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LayersMount {
    /// The one layer's directory, bound.
    Bind(PathBuf),
    /// The options of a read-only overlay of several.
    Overlay(String),
}

/// A directory as an overlayfs option value: `:` separates lower directories and `,`
/// options, so both (and the escaping backslash) are escaped with a backslash.
fn overlay_escape(dir: &str) -> String {
    let mut escaped = String::with_capacity(dir.len());
    for c in dir.chars() {
        if matches!(c, ':' | ',' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// What the child does beyond starting the program: Lambda's filesystem view and the
/// sandbox's network namespace, each when set.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildSetup {
    pub view: Option<ChildView>,
    /// A network namespace to join (the descriptor stays open until the child has exec'd).
    pub netns: Option<RawFd>,
}

impl ChildView {
    /// The tmpfs options for `/tmp`: the size, owned by the sandbox's user.
    pub(crate) fn tmp_options(&self) -> String {
        format!(
            "size={}m,mode=0700,uid={},gid={}",
            self.tmp_size_mb, self.user.uid, self.user.gid
        )
    }

    /// How the layers appear at `/opt`: one layer is bound there; several are the lower
    /// directories of a read-only overlay, the last layer topmost (overlayfs lists the
    /// top first). `None` without layers.
    pub(crate) fn layers_mount(&self) -> Option<LayersMount> {
        match self.layers.as_slice() {
            [] => None,
            [layer] => Some(LayersMount::Bind(layer.clone())),
            layers => {
                let lower: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|dir| overlay_escape(&dir.to_string_lossy()))
                    .collect();
                Some(LayersMount::Overlay(format!("lowerdir={}", lower.join(":"))))
            }
        }
    }

    /// `path` as the runtime sees it: under `/var/task` when it lies in the task root.
    pub(crate) fn inside(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.task_root) {
            Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from(TASK_ROOT_IN_SANDBOX),
            Ok(rest) => Path::new(TASK_ROOT_IN_SANDBOX).join(rest),
            Err(_) => path.to_path_buf(),
        }
    }

    /// An environment value as the runtime sees it: each `:`-separated part that is a path
    /// in the task root is moved under `/var/task`; anything else is left alone.
    pub(crate) fn inside_value(&self, value: &str) -> String {
        value
            .split(':')
            .map(|part| {
                if part.starts_with('/') {
                    self.inside(Path::new(part)).to_string_lossy().into_owned()
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The first of the runtime's own files (its program, arguments, `LAMBDA_RUNTIME_DIR`)
    /// that the private `/tmp` would hide: coldfront's cache or an interpreter under the
    /// host's `/tmp`. The task root is bound before `/tmp` is covered, so it is never
    /// hidden; what the function's own variables name is the function's business.
    pub(crate) fn hidden_by_tmp(&self, command: &super::LaunchCommand) -> Option<PathBuf> {
        let runtime_dir = command
            .env
            .iter()
            .filter(|(key, _)| key == "LAMBDA_RUNTIME_DIR")
            .flat_map(|(_, value)| value.split(':'));
        std::iter::once(command.program.as_path())
            .chain(command.args.iter().map(Path::new))
            .chain(runtime_dir.map(Path::new))
            .find(|path| path.starts_with("/tmp") && !path.starts_with(&self.task_root))
            .map(Path::to_path_buf)
    }

    /// The task root as a C string, for the child.
    pub(crate) fn task_root_c(&self) -> std::io::Result<CString> {
        CString::new(self.task_root.as_os_str().as_bytes()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the task root {} contains a NUL byte", self.task_root.display()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> ChildView {
        ChildView {
            task_root: PathBuf::from("/tmp/.tmpAbC"),
            tmp_size_mb: 512,
            layers: Vec::new(),
            user: SandboxUser::default(),
            accounts: None,
        }
    }

    #[test]
    fn one_layer_is_bound_and_several_overlaid_with_the_last_on_top() {
        let mut view = view();
        assert_eq!(view.layers_mount(), None);
        view.layers = vec![PathBuf::from("/l/base")];
        assert_eq!(view.layers_mount(), Some(LayersMount::Bind(PathBuf::from("/l/base"))));
        view.layers = vec![
            PathBuf::from("/l/base"),
            PathBuf::from("/l/odd:name,x"),
            PathBuf::from("/l/top"),
        ];
        assert_eq!(
            view.layers_mount(),
            Some(LayersMount::Overlay(
                r"lowerdir=/l/top:/l/odd\:name\,x:/l/base".to_owned()
            ))
        );
    }

    #[test]
    fn task_root_paths_move_under_var_task_and_others_stay() {
        let view = view();
        assert_eq!(view.inside(Path::new("/tmp/.tmpAbC")), Path::new("/var/task"));
        assert_eq!(
            view.inside(Path::new("/tmp/.tmpAbC/bin/bootstrap")),
            Path::new("/var/task/bin/bootstrap")
        );
        // A sibling whose name only starts the same is not inside.
        assert_eq!(
            view.inside(Path::new("/tmp/.tmpAbCdef/x")),
            Path::new("/tmp/.tmpAbCdef/x")
        );
        assert_eq!(
            view.inside_value("/tmp/.tmpAbC/lib:/opt/python:relative"),
            "/var/task/lib:/opt/python:relative"
        );
        assert_eq!(view.inside_value("on-demand"), "on-demand");
    }

    #[test]
    fn runtime_files_under_the_hosts_tmp_are_found_and_the_task_root_is_not() {
        let view = view();
        let command = |program: &str, runtime_dir: &str| crate::local::LaunchCommand {
            program: PathBuf::from(program),
            args: vec!["-c".to_owned(), "/tmp/.tmpAbC/bootstrap.py".to_owned()],
            env: vec![
                ("LAMBDA_RUNTIME_DIR".to_owned(), runtime_dir.to_owned()),
                ("CACHE".to_owned(), "/tmp/the-functions-own".to_owned()),
                ("TMPDIR".to_owned(), "/tmp/coldfront-sandbox-1-0".to_owned()),
            ],
            cwd: PathBuf::from("/tmp/.tmpAbC"),
        };
        assert_eq!(
            view.hidden_by_tmp(&command("/usr/bin/python3", "/root/.cache/coldfront/rt")),
            None
        );
        assert_eq!(
            view.hidden_by_tmp(&command("/tmp/coldfront/venv/bin/python", "/root/.cache/coldfront/rt")),
            Some(PathBuf::from("/tmp/coldfront/venv/bin/python"))
        );
        assert_eq!(
            view.hidden_by_tmp(&command("/usr/bin/python3", "/tmp/coldfront/bundled/rt")),
            Some(PathBuf::from("/tmp/coldfront/bundled/rt"))
        );
    }

    #[test]
    fn the_sandbox_user_must_exist_in_the_user_namespace() {
        assert!(id_in_map("         0          0 4294967295\n", 64_993));
        // A rootless container that maps only root and the invoking user's range.
        let map = "0 1000 1\n1 100000 65536\n";
        assert!(id_in_map(map, 0) && id_in_map(map, 65_536));
        assert!(!id_in_map(map, 65_537));
    }

    #[test]
    fn account_files_add_the_sandbox_user_once_and_keep_the_hosts_entries() {
        let etc = tempfile::tempdir().expect("a directory");
        let out = tempfile::tempdir().expect("a directory");
        // The host's group file lacks its final newline; its passwd already has the group.
        std::fs::write(etc.path().join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").expect("written");
        std::fs::write(etc.path().join("group"), "root:x:0:").expect("written");
        let user = SandboxUser { uid: 4242, gid: 4343 };
        let files = AccountFiles::write(out.path(), etc.path(), user)
            .expect("written")
            .expect("the host does not name the user");
        assert_eq!(
            std::fs::read_to_string(&files.passwd).expect("read"),
            "root:x:0:0:root:/root:/bin/bash\nsbx_user:x:4242:4343:Lambda sandbox user:/tmp:/sbin/nologin\n"
        );
        assert_eq!(
            std::fs::read_to_string(&files.group).expect("read"),
            "root:x:0:\nsbx_user:x:4343:\n"
        );
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&files.passwd).expect("there").permissions());
        assert_eq!(mode & 0o777, 0o644);
        // A host that already names both has nothing to bind.
        let named = SandboxUser { uid: 0, gid: 0 };
        assert_eq!(AccountFiles::write(out.path(), etc.path(), named).expect("read"), None);
        // A host without account files is an error, not a sandbox without its user.
        assert!(AccountFiles::write(out.path(), out.path().join("missing").as_path(), user).is_err());
    }

    #[test]
    fn ids_are_matched_on_the_third_field_only() {
        let file = "a:x:10:20::/:/bin/sh\nb:x:30:10::/:/bin/sh\n# comment\n";
        assert!(has_id(file, 10));
        assert!(has_id(file, 30));
        assert!(!has_id(file, 20));
    }

    #[test]
    fn tmp_is_sized_and_owned_by_the_sandbox_user() {
        let mut view = view();
        view.tmp_size_mb = 10_240;
        view.user = SandboxUser { uid: 1000, gid: 1001 };
        assert_eq!(view.tmp_options(), "size=10240m,mode=0700,uid=1000,gid=1001");
    }

    #[test]
    fn records_name_what_was_asked_and_what_was_had() {
        let support = IsolationSupport {
            filesystem: Ok(()),
            network: Err("it needs root".to_owned()),
        };
        assert_eq!(support.filesystem_record(true), Isolation::Applied);
        assert_eq!(support.filesystem_record(false), Isolation::Disabled);
        assert_eq!(
            support.network_record(true),
            Isolation::Unavailable("it needs root".to_owned())
        );
        assert_eq!(support.network_record(false), Isolation::Disabled);
    }
}
