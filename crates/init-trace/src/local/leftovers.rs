//! What a coldfront process killed with SIGKILL leaves behind: its sandbox cgroups
//! (`<pid>-<index>-<id>` under coldfront's parent groups) and sandbox `/tmp`s
//! (`coldfront-sandbox-<pid>-<n>` in the temporary directory). Nothing can clean up after
//! SIGKILL, so the next emulator does, once per process, the first time it starts a
//! sandbox.
//!
//! A leftover is stale when the process its name carries is gone. A pid is reused, so a
//! live process counts as the owner only if it started before the leftover was made
//! (its inode change time, which no one can set back): a later process with that pid
//! cannot have made it. So another coldfront run, a test binary or `cargo xtask bench`
//! running beside this one is never touched, whatever its executable is called.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The prefix of a sandbox `/tmp`'s name, followed by `<pid>-<n>`.
pub(crate) const TMP_DIR_PREFIX: &str = "coldfront-sandbox-";

/// What a sweep removed, and what it found but could not remove.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Stale cgroup directories removed.
    pub(crate) cgroups: Vec<PathBuf>,
    /// Stale sandbox `/tmp`s removed.
    pub(crate) tmp_dirs: Vec<PathBuf>,
    /// Stale leftovers that could not be removed, with the reason.
    pub(crate) failed: Vec<(PathBuf, String)>,
}

/// The pid in a sandbox cgroup's name, `<pid>-<index>-<id>`.
fn cgroup_owner(name: &str) -> Option<i32> {
    let (pid, rest) = name.split_once('-')?;
    if rest.is_empty() {
        return None;
    }
    pid.parse().ok().filter(|pid| *pid > 0)
}

/// The pid in a sandbox `/tmp`'s name, `coldfront-sandbox-<pid>-<n>`.
fn tmp_dir_owner(name: &str) -> Option<i32> {
    let (pid, n) = name.strip_prefix(TMP_DIR_PREFIX)?.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok().filter(|pid| *pid > 0)
}

/// The unit of `/proc`'s clock-tick fields: 100 on x86-64 and AArch64, whatever the
/// kernel's own tick rate.
const USER_HZ: u64 = 100;

/// When a process started, from `/proc/<pid>/stat`; `None` when it is gone or a zombie
/// (a dead process its parent has not reaped owns nothing).
fn process_start(pid: i32) -> Option<SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; the fields follow the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    // Field 22, starttime, in clock ticks since boot; the list starts at field 3.
    let ticks: u64 = fields.get(19)?.parse().ok()?;
    let boot_s: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let ticks_per_s = USER_HZ;
    let since_boot = Duration::from_secs(ticks / ticks_per_s)
        + Duration::from_nanos((ticks % ticks_per_s) * 1_000_000_000 / ticks_per_s);
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(boot_s) + since_boot)
}

/// Whether the process `pid` may be the one that made a leftover last changed at
/// `changed`: it is alive and started before. The boot time is whole seconds, so a
/// start within a second after still counts as the owner (kept, swept by a later run).
fn owner_may_be_alive(pid: i32, changed: SystemTime) -> bool {
    if pid == std::process::id() as i32 {
        return true;
    }
    process_start(pid).is_some_and(|started| started <= changed + Duration::from_secs(1))
}

fn changed_at(meta: &std::fs::Metadata) -> SystemTime {
    use std::os::unix::fs::MetadataExt;
    let (s, ns) = (meta.ctime(), meta.ctime_nsec());
    let since_epoch = Duration::new(u64::try_from(s).unwrap_or(0), u32::try_from(ns).unwrap_or(0));
    SystemTime::UNIX_EPOCH + since_epoch
}

/// Removes the sandbox cgroups under `parents` whose coldfront process is gone,
/// killing anything still inside them first (daemons the dead run's sandboxes left).
pub(crate) fn sweep_cgroups(parents: &[PathBuf], swept: &mut Swept) {
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = cgroup_owner(&name) else {
                continue;
            };
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.is_dir() || owner_may_be_alive(pid, changed_at(&meta)) {
                continue;
            }
            match remove_cgroup(&path) {
                Ok(()) => swept.cgroups.push(path),
                Err(reason) => swept.failed.push((path, reason)),
            }
        }
    }
}

fn remove_cgroup(dir: &Path) -> Result<(), String> {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        // A pid of 0 is a process outside this pid namespace: not ours to kill, and the
        // group then stays (removing it fails while it is occupied).
        if pid > 0 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
    // Killed processes take a moment to leave the group.
    let mut last = String::new();
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => last = err.to_string(),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(last)
}

/// Removes the sandbox `/tmp`s in `tmp` whose coldfront process is gone. Only real
/// directories owned by this user are touched.
pub(crate) fn sweep_tmp_dirs(tmp: &Path, swept: &mut Swept) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    // `/proc/self` belongs to this process's effective user.
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = tmp_dir_owner(&name) else {
            continue;
        };
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != uid || owner_may_be_alive(pid, changed_at(&meta)) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => swept.tmp_dirs.push(path),
            Err(err) => swept.failed.push((path, err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_their_owner() {
        assert_eq!(cgroup_owner("4242-7-0123abcd"), Some(4242));
        assert_eq!(cgroup_owner("cgroup.procs"), None);
        assert_eq!(cgroup_owner("4242"), None);
        assert_eq!(cgroup_owner("0-1-x"), None);
        assert_eq!(tmp_dir_owner("coldfront-sandbox-4242-3"), Some(4242));
        assert_eq!(tmp_dir_owner("coldfront-sandbox-4242-x"), None);
        assert_eq!(tmp_dir_owner("something-else-4242-3"), None);
    }

    #[test]
    fn a_live_process_owns_what_was_made_after_it_started_only() {
        let own = std::process::id() as i32;
        assert!(owner_may_be_alive(own, SystemTime::now()));
        // PID 1 started long before now, and certainly after the epoch.
        assert!(owner_may_be_alive(1, SystemTime::now()));
        assert!(!owner_may_be_alive(1, SystemTime::UNIX_EPOCH));
        // No such process.
        assert!(!owner_may_be_alive(i32::MAX, SystemTime::now()));
    }

    #[test]
    fn stale_tmp_dirs_go_and_live_ones_stay() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let own = std::process::id();
        let live = tmp.path().join(format!("{TMP_DIR_PREFIX}{own}-0"));
        let dead = tmp.path().join(format!("{TMP_DIR_PREFIX}{}-0", i32::MAX));
        let unrelated = tmp.path().join("coldfront-other-1-2");
        for dir in [&live, &dead, &unrelated] {
            std::fs::create_dir(dir).expect("mkdir");
            std::fs::write(dir.join("x"), "x").expect("write");
        }
        let mut swept = Swept::default();
        sweep_tmp_dirs(tmp.path(), &mut swept);
        assert_eq!(swept.tmp_dirs, std::slice::from_ref(&dead));
        assert!(live.exists() && unrelated.exists() && !dead.exists());
    }
}
