//! Python's `-X importtime` output (docs/sources.md, "Python import timing"), parsed into a tree.
//!
//! CPython writes one line per import to stderr, `import time: SELF | CUMULATIVE | NAME`
//! with the name indented two spaces per nesting level, children before their parent
//! (post-order). So the tree is rebuilt with a stack: a line at depth `d` adopts the
//! deeper lines just before it. Real output is messy — the function's own stderr is
//! interleaved, threads share CPython's depth counter, a record can start mid-line after a
//! partial write — so the parser recovers what it can and counts the rest.

use serde::{Deserialize, Serialize};

const PREFIX: &str = "import time:";
/// Lines written by coldfront's `sitecustomize` hook (`runtimes/python/importmarks`).
const MARK_PREFIX: &str = "coldfront-mark: ";
const CATALOGUE_PREFIX: &str = "coldfront-modules: ";

/// One imported module and what it imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportNode {
    /// Dotted module name.
    pub name: String,
    /// Time in the module's own code, µs (0 for cached entries).
    pub self_us: u64,
    /// Time including everything it imported, µs.
    pub cumulative_us: u64,
    /// A Python 3.14 `cached` entry: already imported, cost nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Modules it imported, in import order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ImportNode>,
    #[serde(skip)]
    depth: usize,
}

impl ImportNode {
    /// The top-level package (`email` for `email.mime.text`).
    pub fn package(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// Calls `visit` on this node and every descendant.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a ImportNode)) {
        visit(self);
        for child in &self.children {
            child.walk(visit);
        }
    }
}

/// What the parser met.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParseStats {
    /// Lines read.
    pub lines: usize,
    /// Import records parsed.
    pub records: usize,
    /// `cached` records (Python 3.14 `-X importtime=2`).
    pub cached: usize,
    /// Records found after other text on the same line (a partial write before them).
    pub recovered_mid_line: usize,
    /// Lines that start like a record but could not be read.
    pub unparseable: usize,
    /// The first few unparseable lines, for the report.
    pub unparseable_examples: Vec<String>,
    /// Records whose depth does not fit the tree (threads importing at once).
    pub depth_anomalies: usize,
    /// Records with a negative self time (threads importing at once), counted as 0.
    #[serde(default)]
    pub negative_self: usize,
    /// Lines that are not import records at all (the function's own stderr).
    pub other_lines: usize,
}

/// A moment the import-marks hook wrote into the stream (`handler_import_start`,
/// `handler_import_end`, `catalogue_end`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMark {
    /// What happened.
    pub name: String,
    /// When, raw `CLOCK_MONOTONIC` ns.
    pub monotonic_ns: u64,
    /// How many records were waiting for a parent (or were roots) when it was written: the
    /// records after this position completed after the mark.
    pub position: usize,
}

/// What the hook reported about the modules loaded by the end of the handler's import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleCatalogue {
    /// Top-level names that belong to the standard library (`sys.stdlib_module_names`).
    pub stdlib: std::collections::BTreeSet<String>,
    /// Loaded modules that are native extensions (shared objects).
    pub native: std::collections::BTreeSet<String>,
}

/// The parsed tree: top-level imports in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportTree {
    /// Top-level imports, in the order they happened.
    pub roots: Vec<ImportNode>,
    /// What parsing met.
    pub stats: ParseStats,
    /// Marks from the import-marks hook, in stream order.
    pub marks: Vec<StreamMark>,
    /// The hook's module catalogue, when it wrote one.
    pub catalogue: Option<ModuleCatalogue>,
}

impl ImportTree {
    /// The first mark of that name.
    pub fn mark(&self, name: &str) -> Option<&StreamMark> {
        self.marks.iter().find(|m| m.name == name)
    }
}

fn parse_mark(rest: &str, position: usize) -> Option<StreamMark> {
    let (name, ns) = rest.trim().split_once(' ')?;
    Some(StreamMark {
        name: name.to_owned(),
        monotonic_ns: ns.trim().parse().ok()?,
        position,
    })
}

fn parse_catalogue(rest: &str) -> ModuleCatalogue {
    let mut catalogue = ModuleCatalogue::default();
    for field in rest.split_whitespace() {
        let names = |list: &str| list.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect();
        if let Some(list) = field.strip_prefix("stdlib=") {
            catalogue.stdlib = names(list);
        } else if let Some(list) = field.strip_prefix("native=") {
            catalogue.native = names(list);
        }
    }
    catalogue
}

fn parse_record(text: &str) -> Option<(usize, String, i64, u64, bool)> {
    let rest = text.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '|');
    let (self_part, cumulative_part, name_part) = (parts.next()?, parts.next()?, parts.next()?);
    let (self_part, cumulative_part) = (self_part.trim(), cumulative_part.trim());
    // The column header: "self [us] | cumulative | imported package".
    if self_part.starts_with("self") {
        return None;
    }
    // The name field is "| " then two spaces per level then the name.
    let name_field = name_part.strip_prefix(' ')?;
    let indent = name_field.len() - name_field.trim_start_matches(' ').len();
    let name = name_field.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    if self_part == "cached" && cumulative_part == "cached" {
        return Some((indent / 2, name.to_owned(), 0, 0, true));
    }
    // CPython derives self time by subtracting the children's time it accumulated; with two
    // threads importing at once that can go negative. Such records are kept, clamped to 0.
    let self_us: i64 = self_part.parse().ok()?;
    let cumulative_us: i64 = cumulative_part.parse().ok()?;
    Some((
        indent / 2,
        name.to_owned(),
        self_us,
        cumulative_us.max(0).unsigned_abs(),
        false,
    ))
}

fn is_header(text: &str) -> bool {
    text.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.trim_start().starts_with("self [us]"))
}

/// Parses `-X importtime` output mixed with anything else. Never fails.
pub fn parse(text: &str) -> ImportTree {
    let mut stats = ParseStats::default();
    let mut stack: Vec<ImportNode> = Vec::new();
    let mut marks = Vec::new();
    let mut catalogue = None;
    for line in text.lines() {
        stats.lines += 1;
        if let Some(rest) = line.strip_prefix(MARK_PREFIX)
            && let Some(mark) = parse_mark(rest, stack.len())
        {
            marks.push(mark);
            continue;
        }
        if let Some(rest) = line.strip_prefix(CATALOGUE_PREFIX) {
            catalogue = Some(parse_catalogue(rest));
            continue;
        }
        let Some(at) = line.find(PREFIX) else {
            stats.other_lines += 1;
            continue;
        };
        let record_text = &line[at..];
        if is_header(record_text) {
            continue;
        }
        let Some((depth, name, self_us, cumulative_us, cached)) = parse_record(record_text) else {
            stats.unparseable += 1;
            if stats.unparseable_examples.len() < 5 {
                stats.unparseable_examples.push(line.chars().take(200).collect());
            }
            continue;
        };
        if at > 0 {
            stats.recovered_mid_line += 1;
        }
        stats.records += 1;
        stats.cached += usize::from(cached);
        stats.negative_self += usize::from(self_us < 0);
        let self_us = self_us.max(0).unsigned_abs();
        // Post-order: the deeper records just before this one are its children.
        let first_child = stack.iter().rposition(|n| n.depth <= depth).map_or(0, |i| i + 1);
        let children: Vec<ImportNode> = stack.drain(first_child..).collect();
        stats.depth_anomalies += children.iter().filter(|c| c.depth != depth + 1).count();
        stack.push(ImportNode {
            name,
            self_us,
            cumulative_us,
            cached,
            children,
            depth,
        });
    }
    // Whatever is left at depth > 0 lost its parent (interleaved threads, a cut-off run).
    stats.depth_anomalies += stack.iter().filter(|n| n.depth > 0).count();
    ImportTree {
        roots: stack,
        stats,
        marks,
        catalogue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/importtime")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn count(tree: &ImportTree) -> usize {
        let mut n = 0;
        for root in &tree.roots {
            root.walk(&mut |_| n += 1);
        }
        n
    }

    #[test]
    fn real_capture_rebuilds_the_whole_tree() {
        let text = data("wiki-cpython311.txt");
        let tree = parse(&text);
        let records = text.lines().filter(|l| l.starts_with(PREFIX)).count() - 1;
        assert_eq!(tree.stats.records, records);
        assert_eq!(count(&tree), records, "every record is in the tree exactly once");
        // The wiki logs one line to stderr while it initialises; it is not an import record.
        assert_eq!(
            (
                tree.stats.unparseable,
                tree.stats.depth_anomalies,
                tree.stats.other_lines
            ),
            (0, 0, 1)
        );
        let handler = tree.roots.last().expect("roots");
        assert_eq!(handler.name, "handler");
        // A parent's cumulative time covers its children's.
        for root in &tree.roots {
            root.walk(&mut |node| {
                let children: u64 = node.children.iter().map(|c| c.cumulative_us).sum();
                assert!(node.cumulative_us >= children, "{}", node.name);
                // CPython rounds each figure to whole µs, so sums may be off by one per child.
                let slack = node.children.len() as u64 + 1;
                assert!(
                    node.cumulative_us.abs_diff(node.self_us + children) <= slack,
                    "{}",
                    node.name
                );
            });
        }
        let mut packages = std::collections::BTreeSet::new();
        handler.walk(&mut |n| {
            packages.insert(n.package().to_owned());
        });
        assert!(
            packages.contains("wikiapp") && packages.contains("sqlite3") && packages.len() > 20,
            "{packages:?}"
        );
    }

    #[test]
    fn stdlib_capture_parses_cleanly() {
        let tree = parse(&data("stdlib-heavy-cpython311.txt"));
        assert_eq!((tree.stats.unparseable, tree.stats.depth_anomalies), (0, 0));
        let names: Vec<&str> = tree.roots.iter().map(|r| r.name.as_str()).collect();
        assert!(
            names.contains(&"asyncio") && names.contains(&"urllib.request"),
            "{names:?}"
        );
    }

    #[test]
    fn interleaved_threads_and_garbage_are_survived_and_counted() {
        for name in [
            "threads-interleaved-cpython311.txt",
            "threads-interleaved-2-cpython311.txt",
        ] {
            let text = data(name);
            let tree = parse(&text);
            let records = text.matches(PREFIX).count() - 1;
            assert_eq!(tree.stats.records, records, "{name}: no record lost: {:?}", tree.stats);
            assert_eq!(count(&tree), records, "{name}");
            assert_eq!(
                tree.stats.recovered_mid_line, 1,
                "{name}: the record after a partial line"
            );
            assert!(tree.stats.other_lines >= 3, "{name}: {:?}", tree.stats);
            // Shared depth and time accounting across threads leaves negative self times.
            assert!(tree.stats.negative_self > 0, "{name}: {:?}", tree.stats);
            assert_eq!(tree.stats.unparseable, 0, "{name}");
        }
    }

    #[test]
    fn python_314_cached_lines_cost_nothing() {
        // CPython 3.14 `-X importtime=2` prints a repeated import as
        // "import time: %9s | %10s | %*s%s" with "cached"; rewrite the real capture's second
        // import of a module into that form.
        let text = data("stdlib-heavy-cpython311.txt");
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let extra = format!("import time: {:>9} | {:>10} | {:>2}{}", "cached", "cached", "", "os");
        let position = lines.len() - 1;
        lines.insert(position, extra);
        let tree = parse(&lines.join("\n"));
        assert_eq!(tree.stats.cached, 1);
        assert_eq!(tree.stats.unparseable, 0);
        let mut found = false;
        for root in &tree.roots {
            root.walk(&mut |n| found |= n.cached && n.name == "os" && n.cumulative_us == 0);
        }
        assert!(found);
    }

    #[test]
    fn hook_marks_and_catalogue_are_read_in_stream_order() {
        // awslambdaric loads the handler with importlib.import_module: no `handler` record,
        // its imports are roots between the hook's marks.
        let text = "import time: self [us] | cumulative | imported package\n\
            import time:       100 |        100 | json\n\
            coldfront-mark: handler_import_start 1000\n\
            import time:        20 |         20 |   b\n\
            import time:        30 |         50 | a\n\
            import time:        40 |         40 | c\n\
            coldfront-mark: handler_import_end 2000\n\
            coldfront-modules: stdlib=json,os native=c,a._speedups\n\
            coldfront-mark: catalogue_end 2100\n\
            import time:         5 |          5 | late\n";
        let tree = parse(text);
        let names: Vec<&str> = tree.roots.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["json", "a", "c", "late"]);
        let start = tree.mark("handler_import_start").expect("start");
        let end = tree.mark("handler_import_end").expect("end");
        assert_eq!((start.position, end.position, end.monotonic_ns), (1, 3, 2000));
        assert_eq!(tree.mark("catalogue_end").expect("catalogue end").position, 3);
        let catalogue = tree.catalogue.expect("catalogue");
        assert!(catalogue.stdlib.contains("json") && catalogue.native.contains("a._speedups"));
        assert_eq!((tree.stats.other_lines, tree.stats.unparseable), (0, 0));
    }

    #[test]
    fn broken_records_are_counted_not_fatal() {
        let tree = parse(
            "import time: self [us] | cumulative | imported package\nimport time: 12 | x | a\nimport time: 5 | 5\nimport time:    3 |    3 | ok\n\u{0}\u{ff}",
        );
        assert_eq!(tree.stats.unparseable, 2);
        assert_eq!(tree.stats.unparseable_examples.len(), 2);
        assert_eq!(tree.roots.len(), 1);
        assert_eq!(parse("").roots.len(), 0);
    }
}
