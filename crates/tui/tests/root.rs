//! What needs root and cgroups. Where they cannot be used these tests fail and say why;
//! `cargo nextest run --profile unprivileged` leaves this binary out, and nextest then
//! counts its tests as skipped (README, "Tests").

mod killed;

use init_trace::local::CgroupSupport;

fn require_cgroups() {
    if let CgroupSupport::Unavailable(reason) = CgroupSupport::detect() {
        panic!(
            "this test needs root and cgroups (v2 with the cpu and memory controllers, or v1), and they cannot be used here: {reason}. Run as root, or run `cargo nextest run --profile unprivileged`, which reports the tests that need them as skipped"
        );
    }
}

#[test]
fn the_next_run_removes_a_killed_runs_cgroups_and_sandbox_dirs() {
    require_cgroups();
    let run = killed::kill_a_run_then_run_again(true);
    assert!(
        !run.left_cgroups.is_empty() && !run.left_tmp_dirs.is_empty(),
        "the killed run left no cgroup or no sandbox /tmp, so this test checks nothing: {:?} {:?}",
        run.left_cgroups,
        run.left_tmp_dirs
    );
    let cgroups = killed::cgroups_of(run.pid);
    let tmp_dirs = killed::tmp_dirs_of(run.tmp.path(), run.pid);
    assert!(
        cgroups.is_empty() && tmp_dirs.is_empty(),
        "left behind: {cgroups:?} {tmp_dirs:?}"
    );
}

#[test]
fn a_run_stopped_with_sigterm_leaves_no_cgroup_or_sandbox_dir() {
    require_cgroups();
    let (tmp_dirs, cgroups) = killed::terminate_a_run(true);
    assert!(
        cgroups.is_empty() && tmp_dirs.is_empty(),
        "left behind: {cgroups:?} {tmp_dirs:?}"
    );
}
