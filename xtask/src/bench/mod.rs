//! `cargo xtask bench`: every benchmark, one results file.

mod auth;
mod cdn;
mod emulator;
mod serve;
mod ui;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

/// Command-line options.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub quick: bool,
    /// Run only these groups; `None` runs all of them.
    pub only: Option<Vec<Group>>,
    pub out: Option<PathBuf>,
}

/// A group of benchmarks that can be run on its own with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Emulator,
    Cdn,
    Auth,
    Ui,
    Serve,
}

impl Group {
    const ALL: [(&'static str, Self); 5] = [
        ("emulator", Self::Emulator),
        ("cdn", Self::Cdn),
        ("auth", Self::Auth),
        ("ui", Self::Ui),
        ("serve", Self::Serve),
    ];

    /// The group's name on the command line and in `results.json`.
    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, group)| *group == self)
            .map_or("", |(name, _)| name)
    }

    /// Parses `emulator,cdn`; an unknown name is an error that lists the known ones.
    pub(crate) fn parse_list(list: &str) -> Result<Vec<Self>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Self::ALL
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, group)| *group)
                    .ok_or_else(|| {
                        let known: Vec<&str> = Self::ALL.iter().map(|(known, _)| *known).collect();
                        format!("unknown benchmark group {name:?} (known: {})", known.join(", "))
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|groups| {
                if groups.is_empty() {
                    Err("--only needs at least one group".to_owned())
                } else {
                    Ok(groups)
                }
            })
    }
}

/// One measured figure with its target.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measure {
    pub value: f64,
    pub unit: &'static str,
    /// `"<= 1.05"`, `">= 0.9"`, or `null` for figures reported for information.
    pub target: Option<String>,
    /// Whether the target was met; `null` without a target.
    pub pass: Option<bool>,
}

impl Measure {
    pub(crate) fn at_most(value: f64, unit: &'static str, limit: f64) -> Self {
        Self {
            value,
            unit,
            target: Some(format!("<= {limit}")),
            pass: Some(value <= limit),
        }
    }

    pub(crate) fn at_least(value: f64, unit: &'static str, limit: f64) -> Self {
        Self {
            value,
            unit,
            target: Some(format!(">= {limit}")),
            pass: Some(value >= limit),
        }
    }

    /// A target whose measurement could not run (its peer is missing): recorded, and a miss.
    pub(crate) fn not_run(target: &str) -> Self {
        Self {
            value: 0.0,
            unit: "not run",
            target: Some(target.to_owned()),
            pass: Some(false),
        }
    }

    pub(crate) fn info(value: f64, unit: &'static str) -> Self {
        Self {
            value,
            unit,
            target: None,
            pass: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Results {
    /// The machine, as the benchmark pages record it (init-trace's `Environment`).
    host: init_trace::report::Environment,
    git_revision: String,
    timestamp: String,
    quick: bool,
    /// The groups run, when `--only` chose a subset; `null` when every group ran.
    only: Option<Vec<String>>,
    measures: BTreeMap<String, Measure>,
    /// Details behind the measures (sample counts, medians), for people reading the file.
    details: BTreeMap<String, serde_json::Value>,
}

fn git_revision() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let revision = run(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{revision}-dirty") } else { revision }
}

pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Runs every benchmark; `Ok(false)` when a target was missed.
pub(crate) fn run(options: &Options) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: xtask was built without optimisations; the emulator's own overhead is overstated (use `cargo xtask`, which builds --release)"
        );
    }
    let mut measures = BTreeMap::new();
    let mut details = BTreeMap::new();
    let selected = |group: Group| options.only.as_ref().is_none_or(|only| only.contains(&group));
    if selected(Group::Emulator) {
        // As `coldfront run` and the UI's measurement thread drive the emulator.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(emulator::run(options, &mut measures, &mut details))?;
    }
    if selected(Group::Cdn) {
        cdn::run(options, &mut measures, &mut details)?;
    }
    if selected(Group::Auth) {
        auth::run(options, &mut measures, &mut details)?;
    }
    if selected(Group::Ui) {
        ui::run(options, &mut measures, &mut details)?;
    }
    if selected(Group::Serve) {
        serve::run(options, &mut measures, &mut details)?;
    }

    let results = Results {
        host: init_trace::report::Environment::detect(),
        git_revision: git_revision(),
        timestamp: chrono::Utc::now().to_rfc3339(),
        quick: options.quick,
        only: options
            .only
            .as_ref()
            .map(|groups| groups.iter().map(|g| g.name().to_owned()).collect()),
        measures,
        details,
    };
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("target/bench/results.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;

    println!(
        "\n{:<44} {:>12} {:<8} {:>10}  result",
        "measure", "value", "unit", "target"
    );
    for (name, m) in &results.measures {
        let value = if m.is_not_run() {
            "-".to_owned()
        } else {
            format!("{:.3}", m.value)
        };
        println!(
            "{name:<44} {value:>12} {:<8} {:>10}  {}",
            m.unit,
            m.target.as_deref().unwrap_or("-"),
            m.verdict()
        );
    }
    let tally = Tally::of(results.measures.values());
    println!("\n{tally}\nwritten to {}", out.display());
    Ok(tally.all_pass())
}

impl Measure {
    fn is_not_run(&self) -> bool {
        self.unit == "not run"
    }

    /// `pass`, `MISS` (a target missed, or not measured because its peer is missing), or
    /// `info`.
    fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "info",
        }
    }
}

/// How many targets were met and missed; a target not run counts as missed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    pass: usize,
    miss: usize,
    not_run: usize,
    info: usize,
}

impl Tally {
    fn of<'a>(measures: impl IntoIterator<Item = &'a Measure>) -> Self {
        let mut tally = Self::default();
        for m in measures {
            match m.pass {
                Some(true) => tally.pass += 1,
                Some(false) => {
                    tally.miss += 1;
                    tally.not_run += usize::from(m.is_not_run());
                }
                None => tally.info += 1,
            }
        }
        tally
    }

    fn all_pass(&self) -> bool {
        self.miss == 0
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "targets: {} met, {} missed ({} of them not run: a peer is missing), {} for information",
            self.pass, self.miss, self.not_run, self.info
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Group, Measure, Tally};

    #[test]
    fn a_target_not_run_is_a_miss() {
        let measures = [
            Measure::at_least(2.0, "ratio", 1.0),
            Measure::not_run(">= 1.0"),
            Measure::info(3.0, "ms"),
        ];
        let tally = Tally::of(&measures);
        assert_eq!(
            tally,
            Tally {
                pass: 1,
                miss: 1,
                not_run: 1,
                info: 1
            }
        );
        assert!(!tally.all_pass());
        assert_eq!(measures[1].verdict(), "MISS");
        let json = serde_json::to_value(&measures[1]).expect("json");
        assert_eq!(json["unit"], "not run");
        assert_eq!(json["pass"], false);
        assert!(Tally::of(&measures[..1]).all_pass());
    }

    #[test]
    fn only_takes_known_groups_and_names_unknown_ones() {
        assert_eq!(
            Group::parse_list("emulator, ui").expect("valid"),
            [Group::Emulator, Group::Ui]
        );
        let err = Group::parse_list("emulator,cnd").expect_err("typo");
        assert!(
            err.contains("\"cnd\"") && err.contains("known: emulator, cdn, auth, ui, serve"),
            "{err}"
        );
        assert!(Group::parse_list(",").is_err());
    }
}
