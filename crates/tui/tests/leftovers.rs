//! A run stopped with SIGTERM leaves no sandbox `/tmp`; one killed with SIGKILL leaves
//! them, and the next run removes them. The cgroup half of this, which needs root, is in
//! `root.rs`.

mod killed;

#[test]
fn the_next_run_removes_a_killed_runs_sandbox_dirs() {
    let run = killed::kill_a_run_then_run_again(false);
    assert!(
        !run.left_tmp_dirs.is_empty(),
        "the killed run left no sandbox /tmp, so this test checks nothing"
    );
    let still_there = killed::tmp_dirs_of(run.tmp.path(), run.pid);
    assert!(still_there.is_empty(), "left behind: {still_there:?}");
}

#[test]
fn a_run_stopped_with_sigterm_leaves_no_sandbox_dir() {
    let (tmp_dirs, _) = killed::terminate_a_run(false);
    assert!(tmp_dirs.is_empty(), "left behind: {tmp_dirs:?}");
}
