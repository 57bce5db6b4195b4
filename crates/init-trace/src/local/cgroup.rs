//! Lambda's CPU share and memory limit, through cgroups (v2, or v1 where only v1 has the
//! controllers).
//!
//! Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU
//! (docs/sources.md, "Lambda execution environment"). Without that limit a 128 MB function
//! would run on a whole core here and report an INIT several times faster than it would
//! get on Lambda. The CPU share is a CFS quota over a 20 ms period, the period Lambda's
//! own pauses show (docs/sources.md, "Lambda's CPU limit"), with a burst of one bandwidth
//! slice from one vCPU up; memory gets a hard limit without swap, so an oversized
//! function is OOM-killed as on Lambda.

use std::path::{Path, PathBuf};

use crate::sample::{CgroupRecord, CpuThrottlingRecord};

/// Lambda's memory size that buys one full vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;
// Lambda's: a throttled function there pauses until the end of a 20 ms period. With the
// kernel default of 100 ms a 0.29 vCPU function would run 29 ms then stall 71 ms.
const CFS_PERIOD_US: u64 = 20_000;
// The kernel hands quota to each CPU in slices of this size (its default); a group's
// runtime left on one CPU when its thread moves to another is stranded there for a while.
const DEFAULT_BANDWIDTH_SLICE_US: u64 = 5_000;
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

fn try_v2(root: &Path, enable_controllers: bool) -> Result<PathBuf, String> {
    let controllers =
        std::fs::read_to_string(root.join("cgroup.controllers")).map_err(|e| format!("{}: {e}", root.display()))?;
    for needed in ["cpu", "memory"] {
        if !controllers.split_whitespace().any(|c| c == needed) {
            return Err(format!("cgroup v2 at {} lacks the {needed} controller", root.display()));
        }
    }
    let parent = root.join(PARENT);
    std::fs::create_dir_all(&parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // Controllers must be enabled on every level above the leaf groups; groups that only
    // find a sandbox's processes need none, so the root's are left as they are then.
    if enable_controllers {
        write(&root.join("cgroup.subtree_control"), "+cpu +memory")?;
        write(&parent.join("cgroup.subtree_control"), "+cpu +memory")?;
    }
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

    /// As [`detect`](Self::detect), for groups that only find a sandbox's processes: the
    /// cpu and memory controllers are not switched on for coldfront's subtree.
    pub fn detect_for_tracking() -> Self {
        Self::detect_in(Path::new("/sys/fs/cgroup"), false)
    }

    /// As [`detect`](Self::detect), under another root (for tests).
    pub fn detect_at(root: &Path) -> Self {
        Self::detect_in(root, true)
    }

    fn detect_in(root: &Path, enable_controllers: bool) -> Self {
        let v2_root = if root.join("cgroup.controllers").exists() {
            Some(root.to_path_buf())
        } else {
            None
        };
        let mut reasons = Vec::new();
        if let Some(v2) = v2_root {
            match try_v2(&v2, enable_controllers) {
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
    /// The group's CPU bandwidth counters when its current sandbox began (a recycled
    /// group's count on from earlier sandboxes).
    cpu_stat_before: CpuStat,
}

/// CFS bandwidth counters from a group's `cpu.stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuStat {
    /// Periods in which the group ran.
    pub(crate) periods: u64,
    /// Periods in which it used up its quota and was stopped.
    pub(crate) throttled: u64,
    /// Time spent stopped, in µs.
    pub(crate) throttled_us: u64,
}

impl CpuStat {
    /// Parses `cpu.stat`: v2 gives `throttled_usec`, v1 `throttled_time` in ns.
    pub(crate) fn parse(text: &str) -> Self {
        let mut stat = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<u64>() else {
                continue;
            };
            match key {
                "nr_periods" => stat.periods = value,
                "nr_throttled" => stat.throttled = value,
                "throttled_usec" => stat.throttled_us = value,
                "throttled_time" => stat.throttled_us = value / 1_000,
                _ => {}
            }
        }
        stat
    }

    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            periods: self.periods.saturating_sub(before.periods),
            throttled: self.throttled.saturating_sub(before.throttled),
            throttled_us: self.throttled_us.saturating_sub(before.throttled_us),
        }
    }
}

impl From<CpuStat> for CpuThrottlingRecord {
    fn from(stat: CpuStat) -> Self {
        Self {
            periods: stat.periods,
            throttled_periods: stat.throttled,
            throttled_ms: stat.throttled_us as f64 / 1_000.0,
        }
    }
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

/// The CFS burst for a quota: from one full vCPU up, one bandwidth slice, so that a
/// single thread is never stopped for quota its own earlier slices left stranded on
/// another CPU (without it, a one-thread busy loop at a quota of one CPU was throttled in
/// 1–4 of every 60–130 periods here). Below one vCPU none: Lambda's small sizes pause in
/// whole periods, with no credit carried over.
pub(crate) fn cfs_burst_us(quota_us: u64, period_us: u64) -> u64 {
    if quota_us < period_us {
        return 0;
    }
    let slice_us = std::fs::read_to_string("/proc/sys/kernel/sched_cfs_bandwidth_slice_us")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(DEFAULT_BANDWIDTH_SLICE_US);
    slice_us.min(quota_us)
}

impl SandboxCgroup {
    /// Creates the sandbox's group; with `limit_memory_mb` it also gets Lambda's CPU share
    /// and memory limit for that size, without it the group only tracks processes.
    pub(crate) fn create(support: &CgroupSupport, name: &str, limit_memory_mb: Option<u32>) -> Result<Self, String> {
        let memory_mb = limit_memory_mb.unwrap_or(0);
        let cpu_cores = cpu_cores_for(memory_mb.max(1));
        let (quota_us, period_us) = cfs_quota_period_us(cpu_cores);
        let burst_us = cfs_burst_us(quota_us, period_us);
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
                    cpu_stat_before: CpuStat::default(),
                };
                if limit_memory_mb.is_none() {
                    return Ok(group);
                }
                write(&dir.join("cpu.max"), &format!("{quota_us} {period_us}"))?;
                // cpu.max.burst needs Linux 5.14; without it the quota alone applies.
                let _ = std::fs::write(dir.join("cpu.max.burst"), burst_us.to_string());
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
                    cpu_stat_before: CpuStat::default(),
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
                let _ = std::fs::write(cpu.join("cpu.cfs_burst_us"), burst_us.to_string());
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

    /// The group's CPU bandwidth counters so far; zero where there are none (a
    /// tracking-only v1 group has no cpu hierarchy).
    fn cpu_stat(&self) -> CpuStat {
        let dir = if self.version == 2 {
            self.dirs.first()
        } else {
            self.dirs.get(1)
        };
        dir.and_then(|d| std::fs::read_to_string(d.join("cpu.stat")).ok())
            .map_or_else(CpuStat::default, |text| CpuStat::parse(&text))
    }

    /// The current sandbox's CPU bandwidth counters.
    pub(crate) fn sandbox_cpu_stat(&self) -> CpuStat {
        self.cpu_stat().since(self.cpu_stat_before)
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
        self.cpu_stat_before = self.cpu_stat();
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
            cpu_throttling: Some(self.sandbox_cpu_stat().into()),
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
    fn the_period_is_lambdas_and_the_burst_only_covers_a_whole_core() {
        let (quota, period) = cfs_quota_period_us(cpu_cores_for(128));
        assert_eq!((quota, period), (1_447, 20_000));
        assert_eq!(cfs_burst_us(quota, period), 0);
        let (quota, period) = cfs_quota_period_us(cpu_cores_for(1769));
        assert_eq!((quota, period), (20_000, 20_000));
        let burst = cfs_burst_us(quota, period);
        assert!((1..=quota).contains(&burst), "{burst}");
    }

    #[test]
    fn cpu_stat_reads_both_versions() {
        let v1 = "nr_periods 58\nnr_throttled 3\nthrottled_time 2201740\nnr_bursts 0\nburst_time 0\n";
        let v2 = "usage_usec 9\nnr_periods 58\nnr_throttled 3\nthrottled_usec 2201\n";
        for text in [v1, v2] {
            let stat = CpuStat::parse(text);
            assert_eq!((stat.periods, stat.throttled, stat.throttled_us), (58, 3, 2201));
        }
        let before = CpuStat {
            periods: 50,
            throttled: 1,
            throttled_us: 1000,
        };
        assert_eq!(CpuStat::parse(v1).since(before).throttled, 2);
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
            // Removing a group waits (up to a second) for its killed processes to exit:
            // blocking work that leaves the async path for the cleanup thread.
            Recycled::EmptyButStale => {
                super::off_the_async_path(move || drop(group));
                true
            }
            Recycled::Occupied => {
                super::off_the_async_path(move || drop(group));
                false
            }
        }
    }
}
