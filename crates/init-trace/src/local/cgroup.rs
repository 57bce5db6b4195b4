//! Lambda's CPU share and memory limit, through cgroups (v2, or v1 where only v1 has the
//! controllers).
//!
//! Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU
//! (docs/sources.md, "Lambda execution environment"). Without that limit a 128 MB function
//! would run on a whole core here and report an INIT several times faster than it would
//! get on Lambda. The CPU share is a CFS quota over a 10 ms period; memory gets a hard limit without swap, so an
//! oversized function is OOM-killed as on Lambda.

use std::path::{Path, PathBuf};

use crate::sample::CgroupRecord;

/// Lambda's memory size that buys one full vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;
// A short period spreads the quota evenly: with the kernel default of 100 ms a 0.29 vCPU
// function runs 29 ms then stalls 71 ms, and INIT times jump by whole periods.
const CFS_PERIOD_US: u64 = 10_000;
const PARENT: &str = "coldfront";

/// What the machine supports.
#[derive(Debug, Clone)]
pub enum CgroupSupport {
    /// The unified hierarchy, with the cpu and memory controllers.
    V2 {
        /// Where the coldfront parent group lives.
        parent: PathBuf,
    },
    /// Separate v1 hierarchies for cpu and memory.
    V1 {
        /// The coldfront group under the cpu hierarchy.
        cpu_parent: PathBuf,
        /// The coldfront group under the memory hierarchy.
        memory_parent: PathBuf,
    },
    /// No usable cgroups; the reason says why.
    Unavailable(String),
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|err| format!("cannot write {value:?} to {}: {err}", path.display()))
}

fn try_v2(root: &Path) -> Result<PathBuf, String> {
    let controllers =
        std::fs::read_to_string(root.join("cgroup.controllers")).map_err(|e| format!("{}: {e}", root.display()))?;
    for needed in ["cpu", "memory"] {
        if !controllers.split_whitespace().any(|c| c == needed) {
            return Err(format!("cgroup v2 at {} lacks the {needed} controller", root.display()));
        }
    }
    let parent = root.join(PARENT);
    std::fs::create_dir_all(&parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // Controllers must be enabled on every level above the leaf groups.
    write(&root.join("cgroup.subtree_control"), "+cpu +memory")?;
    write(&parent.join("cgroup.subtree_control"), "+cpu +memory")?;
    Ok(parent)
}

fn try_v1(root: &Path) -> Result<(PathBuf, PathBuf), String> {
    let cpu = root.join("cpu");
    let memory = root.join("memory");
    if !cpu.join("cpu.cfs_quota_us").exists() {
        return Err(format!("no cgroup v1 cpu controller at {}", cpu.display()));
    }
    if !memory.join("memory.limit_in_bytes").exists() {
        return Err(format!("no cgroup v1 memory controller at {}", memory.display()));
    }
    let (cpu_parent, memory_parent) = (cpu.join(PARENT), memory.join(PARENT));
    for dir in [&cpu_parent, &memory_parent] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    Ok((cpu_parent, memory_parent))
}

impl CgroupSupport {
    /// Detects what the machine offers under `/sys/fs/cgroup`, creating coldfront's parent
    /// groups. Reasons are kept so a run can say why it is unthrottled.
    pub fn detect() -> Self {
        Self::detect_at(Path::new("/sys/fs/cgroup"))
    }

    /// As [`detect`](Self::detect), under another root (for tests).
    pub fn detect_at(root: &Path) -> Self {
        let v2_root = if root.join("cgroup.controllers").exists() {
            Some(root.to_path_buf())
        } else {
            None
        };
        let mut reasons = Vec::new();
        if let Some(v2) = v2_root {
            match try_v2(&v2) {
                Ok(parent) => return Self::V2 { parent },
                Err(reason) => reasons.push(reason),
            }
        }
        match try_v1(root) {
            Ok((cpu_parent, memory_parent)) => Self::V1 {
                cpu_parent,
                memory_parent,
            },
            Err(reason) => {
                reasons.push(reason);
                Self::Unavailable(reasons.join("; "))
            }
        }
    }
}

/// The cgroup(s) of one sandbox. Removed when dropped.
#[derive(Debug)]
pub(crate) struct SandboxCgroup {
    version: u8,
    dirs: Vec<PathBuf>,
    memory_dir: PathBuf,
    cpu_cores: f64,
    memory_limit_mb: Option<u32>,
    oom_kills_before: u64,
    /// Whether the memory peak counts only the current sandbox (a new group, or one whose
    /// peak was reset when it was recycled).
    peak_is_fresh: bool,
    /// On v1, a thread already inside the group that starts the runtimes.
    spawner: Option<super::process::Spawner>,
}

/// The fraction of one core Lambda grants at a memory size.
pub fn cpu_cores_for(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / MB_PER_VCPU
}

/// The CFS quota and period for a CPU share. The kernel's smallest quota is 1 ms, so for
/// small shares (128 MB is 0.072 vCPU) the period is stretched to keep the ratio exact.
pub(crate) fn cfs_quota_period_us(cpu_cores: f64) -> (u64, u64) {
    let period_us = ((1_000.0 / cpu_cores).ceil() as u64).max(CFS_PERIOD_US);
    let quota_us = ((cpu_cores * period_us as f64).round() as u64).max(1_000);
    (quota_us, period_us)
}

impl SandboxCgroup {
    /// Creates the sandbox's group; with `limit_memory_mb` it also gets Lambda's CPU share
    /// and memory limit for that size, without it the group only tracks processes.
    pub(crate) fn create(support: &CgroupSupport, name: &str, limit_memory_mb: Option<u32>) -> Result<Self, String> {
        let memory_mb = limit_memory_mb.unwrap_or(0);
        let cpu_cores = cpu_cores_for(memory_mb.max(1));
        let (quota_us, period_us) = cfs_quota_period_us(cpu_cores);
        let memory_bytes = u64::from(memory_mb) * 1024 * 1024;
        let make = |dir: &Path| std::fs::create_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()));
        match support {
            CgroupSupport::Unavailable(reason) => Err(reason.clone()),
            CgroupSupport::V2 { parent } => {
                let dir = parent.join(name);
                make(&dir)?;
                let group = Self {
                    version: 2,
                    dirs: vec![dir.clone()],
                    memory_dir: dir.clone(),
                    cpu_cores,
                    memory_limit_mb: limit_memory_mb,
                    oom_kills_before: 0,
                    peak_is_fresh: true,
                    spawner: None,
                };
                if limit_memory_mb.is_none() {
                    return Ok(group);
                }
                write(&dir.join("cpu.max"), &format!("{quota_us} {period_us}"))?;
                write(&dir.join("memory.max"), &memory_bytes.to_string())?;
                // Not every kernel has swap accounting; without swap there is nothing to limit.
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                Ok(group)
            }
            CgroupSupport::V1 {
                cpu_parent,
                memory_parent,
            } => {
                let memory = memory_parent.join(name);
                make(&memory)?;
                let mut group = Self {
                    version: 1,
                    dirs: vec![memory.clone()],
                    memory_dir: memory.clone(),
                    cpu_cores,
                    memory_limit_mb: limit_memory_mb,
                    oom_kills_before: 0,
                    peak_is_fresh: true,
                    spawner: None,
                };
                // A tracking-only group needs one hierarchy to find its processes in; a
                // cpu group would only add a level of group scheduling to every switch,
                // and a second `cgroup.procs` to read at every teardown.
                if limit_memory_mb.is_none() {
                    return Ok(group);
                }
                let cpu = cpu_parent.join(name);
                make(&cpu)?;
                group.dirs.push(cpu.clone());
                write(&cpu.join("cpu.cfs_period_us"), &period_us.to_string())?;
                write(&cpu.join("cpu.cfs_quota_us"), &quota_us.to_string())?;
                write(&memory.join("memory.limit_in_bytes"), &memory_bytes.to_string())?;
                let _ = std::fs::write(memory.join("memory.memsw.limit_in_bytes"), memory_bytes.to_string());
                Ok(group)
            }
        }
    }

    /// The `cgroup.procs` files a new process must join; empty when the group's spawner
    /// thread starts it there already.
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        if self.spawner.is_some() {
            return Vec::new();
        }
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// The thread that starts runtimes inside this group, where there is one.
    pub(crate) fn spawner(&self) -> Option<&super::process::Spawner> {
        self.spawner.as_ref()
    }

    /// Only threads can be placed one by one in v1; v2 moves whole processes, so there
    /// the runtime joins the group itself before exec.
    fn start_spawner(&mut self) {
        if self.version == 1 {
            self.spawner = super::process::Spawner::start(self.dirs.iter().map(|d| d.join("tasks")).collect()).ok();
        }
    }

    /// Every process still in the group.
    pub(crate) fn pids(&self) -> Vec<i32> {
        let own = std::process::id() as i32;
        let mut pids: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect::<Vec<_>>())
            .collect();
        // The spawner thread puts this process's id in cgroup.procs; it is not a sandbox
        // process.
        pids.retain(|pid| *pid != own);
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Kills every process in the group, including any that left the process group.
    pub(crate) fn kill_all(&self) -> usize {
        let pids = self.pids();
        for pid in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
        }
        pids.len()
    }

    /// Peak memory including page cache, in kB.
    pub(crate) fn memory_peak_kb(&self) -> Option<u64> {
        let file = if self.version == 2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        let bytes: u64 = std::fs::read_to_string(self.memory_dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(bytes / 1024)
    }

    /// The group's cumulative OOM-kill count.
    fn oom_kill_count(&self) -> u64 {
        let file = if self.version == 2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(self.memory_dir.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the kernel OOM-killed something in the group since it was (re)used.
    pub(crate) fn oom_killed(&self) -> bool {
        self.oom_kill_count() > self.oom_kills_before
    }

    /// Readies a group for its next sandbox: it must be empty; the peak memory is reset
    /// and the OOM count remembered.
    fn recycle(&mut self) -> Recycled {
        if !self.pids().is_empty() {
            return Recycled::Occupied;
        }
        let peak = if self.version == 2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        // Resetting memory.peak needs Linux 6.12 on v2. A limited group whose peak cannot
        // be reset is not reused, so a stale peak is never reported; a tracking-only group
        // is, and its peak is then not used.
        self.peak_is_fresh = std::fs::write(self.memory_dir.join(peak), "0").is_ok();
        if self.memory_limit_mb.is_none() {
            return Recycled::Ready;
        }
        if !self.peak_is_fresh {
            return Recycled::EmptyButStale;
        }
        self.oom_kills_before = self.oom_kill_count();
        Recycled::Ready
    }

    /// The current sandbox's peak memory including page cache, in kB, where the group's
    /// peak counts this sandbox alone.
    pub(crate) fn sandbox_peak_kb(&self) -> Option<u64> {
        self.peak_is_fresh.then(|| self.memory_peak_kb()).flatten()
    }

    /// The record for a sample; `None` for a tracking-only group.
    pub(crate) fn record(&self) -> Option<CgroupRecord> {
        Some(CgroupRecord {
            version: self.version,
            cpu_cores: self.cpu_cores,
            memory_limit_mb: self.memory_limit_mb?,
            memory_peak_kb: self.memory_peak_kb(),
            oom_killed: self.oom_killed(),
        })
    }
}

impl Drop for SandboxCgroup {
    fn drop(&mut self) {
        self.kill_all();
        drop(self.spawner.take());
        for dir in &self.dirs {
            // A group can only be removed once its last process is gone; killed processes
            // take a moment to exit.
            for _ in 0..200 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_share_follows_lambdas_rule() {
        assert!((cpu_cores_for(1769) - 1.0).abs() < 1e-9);
        assert!((cpu_cores_for(128) - 0.0723).abs() < 1e-3);
        assert!((cpu_cores_for(3538) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn cfs_quota_keeps_the_ratio_above_the_kernel_minimum() {
        for memory_mb in [128, 256, 512, 1024, 1769, 3008, 10_240] {
            let cores = cpu_cores_for(memory_mb);
            let (quota, period) = cfs_quota_period_us(cores);
            assert!(quota >= 1_000, "{memory_mb} MB: quota {quota}");
            let granted = quota as f64 / period as f64;
            assert!(
                (granted - cores).abs() / cores < 0.01,
                "{memory_mb} MB: {granted} vs {cores}"
            );
        }
    }

    #[test]
    fn missing_hierarchy_is_reported_not_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        match CgroupSupport::detect_at(dir.path()) {
            CgroupSupport::Unavailable(reason) => assert!(reason.contains("cpu controller"), "{reason}"),
            other => panic!("expected unavailable, got {other:?}"),
        }
    }
}

/// What [`SandboxCgroup::recycle`] found.
enum Recycled {
    /// Empty and reset: it can hold the next sandbox.
    Ready,
    /// Empty, but its peak cannot be reset, so it is not reused.
    EmptyButStale,
    /// A process is still in it.
    Occupied,
}

/// Sandbox groups kept for reuse, by memory limit. Creating and removing cgroup
/// directories costs milliseconds per cold start (v1 removal waits for RCU), which would
/// cap how many cold starts per second the emulator sustains.
#[derive(Debug, Default)]
pub(crate) struct CgroupPool {
    idle: std::sync::Mutex<Vec<SandboxCgroup>>,
}

impl CgroupPool {
    /// An idle group with this limit, or a new one.
    pub(crate) fn acquire(
        &self,
        support: &CgroupSupport,
        name: &str,
        limit_memory_mb: Option<u32>,
    ) -> Result<SandboxCgroup, String> {
        let reused = {
            let mut idle = self.idle.lock().expect("cgroup pool lock");
            idle.iter()
                .position(|g| g.memory_limit_mb == limit_memory_mb)
                .map(|i| idle.swap_remove(i))
        };
        if let Some(group) = reused {
            Ok(group)
        } else {
            let mut group = SandboxCgroup::create(support, name, limit_memory_mb)?;
            group.start_spawner();
            Ok(group)
        }
    }

    /// Returns a group after its sandbox is torn down; one that still holds processes
    /// (or cannot be reset) is removed instead. `true` when the group was empty.
    pub(crate) fn release(&self, mut group: SandboxCgroup) -> bool {
        match group.recycle() {
            Recycled::Ready => {
                self.idle.lock().expect("cgroup pool lock").push(group);
                true
            }
            Recycled::EmptyButStale => true,
            Recycled::Occupied => false,
        }
    }
}
