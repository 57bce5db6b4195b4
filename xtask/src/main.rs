//! Project automation: `cargo xtask bench [--quick]`.
//!
//! Benchmarks live here rather than in timed unit tests because this machine is shared and
//! noisy: each benchmark compares ratios measured in one run, interleaved, and writes them
//! to `target/bench/results.json` with the host, git revision and timestamp.

mod bench;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--only GROUPS] [--out FILE]

  bench     run every benchmark and write target/bench/results.json
  --quick   fewer samples (finishes in a few minutes)
  --only    a comma-separated subset of: emulator, cdn, auth, ui
  --out     write the results somewhere else

examples:
  cargo xtask bench                  every benchmark, full size
  cargo xtask bench --quick          every benchmark, fewer samples
  cargo xtask bench --only emulator  just the emulator's overhead and cold-start rate";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => {
            let mut options = bench::Options::default();
            let mut rest = args[1..].iter();
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--quick" => options.quick = true,
                    "--only" => match rest.next().map(|list| bench::Group::parse_list(list)) {
                        Some(Ok(groups)) => options.only = Some(groups),
                        Some(Err(err)) => {
                            eprintln!("error: {err}\n{USAGE}");
                            return ExitCode::from(2);
                        }
                        None => {
                            eprintln!("error: --only needs a list of groups\n{USAGE}");
                            return ExitCode::from(2);
                        }
                    },
                    "--out" => {
                        if let Some(path) = rest.next() {
                            options.out = Some(path.into());
                        } else {
                            eprintln!("error: --out needs a file\n{USAGE}");
                            return ExitCode::from(2);
                        }
                    }
                    other => {
                        eprintln!("error: unknown argument {other:?}\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            match bench::run(&options) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(err) => {
                    eprintln!("error: {err:#}");
                    ExitCode::from(2)
                }
            }
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown task {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
