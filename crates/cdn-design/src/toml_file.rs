//! Model files: `preset = "..."` picks the base, `[workload]`, `[cache]`, `[origin]`,
//! `[latency]` and `[prices]` override it. Errors carry `file:line:col` and, for unknown
//! keys, the nearest known key.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::ModelError;
use crate::model::{Architecture, AuthOption, Invalidation, Model};
use crate::presets::Preset;
use crate::prices::PriceTable;
use crate::provenance;

const SECTIONS: [&str; 5] = ["workload", "cache", "origin", "latency", "prices"];
const SPECIAL_KEYS: [&str; 7] = [
    "workload.diurnal_profile",
    "cache.invalidation",
    "cache.auth",
    "origin.architecture",
    "latency.warm_ms",
    "latency.cold_ms",
    "latency.source",
];

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn at(text: &str, origin: &str, span: &Range<usize>) -> String {
    let (line, col) = line_col(text, span.start);
    format!("{origin}:{line}:{col}")
}

pub(crate) fn toml_error(text: &str, origin: &str, err: &toml::de::Error) -> ModelError {
    let at = err
        .span()
        .map_or_else(|| origin.to_owned(), |span| self::at(text, origin, &span));
    ModelError::Toml {
        at,
        message: err.message().trim_end().to_owned(),
    }
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

fn did_you_mean<'a>(given: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| (distance(given, k), k))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map_or_else(String::new, |(_, k)| format!(" (did you mean \"{k}\"?)"))
}

/// Returns what is wrong with `value` for `key`, if anything.
pub(crate) fn range_problem(key: &str, value: f64) -> Option<String> {
    let spec = provenance::find(key)?;
    if !value.is_finite() || value < spec.min || value > spec.max {
        return Some(format!(
            "is out of range: use {} to {} {}",
            spec.min, spec.max, spec.unit
        ));
    }
    if spec.integer && value.fract() != 0.0 {
        return Some("must be a whole number".to_owned());
    }
    None
}

struct Cursor<'t> {
    text: &'t str,
    origin: &'t str,
}

impl Cursor<'_> {
    fn err(&self, span: &Range<usize>, message: String) -> ModelError {
        ModelError::Toml {
            at: at(self.text, self.origin, span),
            message,
        }
    }

    fn number(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<f64, ModelError> {
        match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map(|v| v as f64)
                .map_err(|_| self.err(&value.span(), format!("`{key}`: integer out of range"))),
            DeValue::Float(f) => f
                .as_str()
                .parse::<f64>()
                .map_err(|_| self.err(&value.span(), format!("`{key}`: not a number"))),
            other => Err(self.err(
                &value.span(),
                format!("`{key}` must be a number, not {}", type_name(other)),
            )),
        }
    }

    fn string<'v>(&self, key: &str, value: &'v Spanned<DeValue<'_>>) -> Result<&'v str, ModelError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.err(
                &value.span(),
                format!("`{key}` must be a string, not {}", type_name(other)),
            )),
        }
    }

    fn numbers(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<Vec<f64>, ModelError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.err(
                &value.span(),
                format!(
                    "`{key}` must be an array of numbers, not {}",
                    type_name(value.get_ref())
                ),
            ));
        };
        items
            .iter()
            .map(|item| {
                let v = self.number(key, item)?;
                if v.is_finite() && v >= 0.0 {
                    Ok(v)
                } else {
                    Err(self.err(&item.span(), format!("`{key}`: {v} must be a finite number ≥ 0")))
                }
            })
            .collect()
    }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

#[derive(Deserialize)]
struct PricesOnly {
    #[serde(default)]
    prices: Option<PriceTable>,
}

/// Parses a model file.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Model, ModelError> {
    let document = DeTable::parse(text).map_err(|err| toml_error(text, origin, &err))?;
    let cursor = Cursor { text, origin };
    let root = document.get_ref();

    let mut base = Preset::Typical;
    if let Some(value) = root.get("preset") {
        let name = cursor.string("preset", value)?;
        base = Preset::from_name(name).ok_or_else(|| {
            cursor.err(
                &value.span(),
                format!(
                    "unknown preset \"{name}\"{} (known presets: {})",
                    did_you_mean(name, Preset::NAMES.into_iter()),
                    Preset::NAMES.join(", ")
                ),
            )
        })?;
    }
    let mut model = base.model();
    model.name = origin.to_owned();

    let mut invalidation: Option<(&str, Range<usize>)> = None;
    let mut paths_per_write: Option<(u32, Range<usize>)> = None;
    let mut latency_set = false;

    for (section_key, section_value) in root {
        let section = section_key.get_ref().as_ref();
        if section == "preset" {
            continue;
        }
        if section == "prices" {
            continue; // Read below with serde, which reports its own spans.
        }
        let DeValue::Table(table) = section_value.get_ref() else {
            return Err(cursor.err(
                &section_key.span(),
                format!(
                    "unknown top-level key `{section}`{}: a model file has `preset` and the sections [{}]",
                    did_you_mean(section, SECTIONS.into_iter().chain(["preset"])),
                    SECTIONS.join("], [")
                ),
            ));
        };
        if !SECTIONS.contains(&section) {
            return Err(cursor.err(
                &section_key.span(),
                format!(
                    "unknown section [{section}]{}: known sections are [{}]",
                    did_you_mean(section, SECTIONS.into_iter()),
                    SECTIONS.join("], [")
                ),
            ));
        }
        for (key, value) in table {
            let dotted = format!("{section}.{}", key.get_ref());
            let where_set = at(text, origin, &value.span());
            let line = where_set
                .rsplit_once(':')
                .map_or(where_set.clone(), |(l, _)| l.to_owned());
            match dotted.as_str() {
                "workload.diurnal_profile" => {
                    let profile = cursor.numbers(&dotted, value)?;
                    if profile.is_empty() || profile.iter().all(|w| *w == 0.0) {
                        return Err(cursor.err(&value.span(), format!("`{dotted}` needs at least one positive weight")));
                    }
                    model.workload.diurnal_profile = profile;
                }
                "cache.invalidation" => invalidation = Some((cursor.string(&dotted, value)?, value.span())),
                "cache.auth" => {
                    let name = cursor.string(&dotted, value)?;
                    model.cache.auth = AuthOption::from_name(name).ok_or_else(|| {
                        let names = AuthOption::ALL.map(AuthOption::name);
                        cursor.err(
                            &value.span(),
                            format!(
                                "unknown auth option \"{name}\"{} (use one of {})",
                                did_you_mean(name, names.into_iter()),
                                names.join(", ")
                            ),
                        )
                    })?;
                }
                "origin.architecture" => {
                    model.origin.architecture = match cursor.string(&dotted, value)? {
                        "x86" | "x86_64" => Architecture::X86,
                        "arm64" => Architecture::Arm64,
                        other => {
                            return Err(cursor.err(
                                &value.span(),
                                format!("unknown architecture \"{other}\" (use x86 or arm64)"),
                            ));
                        }
                    };
                }
                "latency.warm_ms" => {
                    model.latency.warm_ms = cursor.numbers(&dotted, value)?;
                    latency_set = true;
                }
                "latency.cold_ms" => {
                    model.latency.cold_ms = cursor.numbers(&dotted, value)?;
                    latency_set = true;
                }
                "latency.source" => model.latency.source = cursor.string(&dotted, value)?.to_owned(),
                _ => {
                    let Some(spec) = provenance::find(&dotted) else {
                        let known = provenance::numeric_inputs()
                            .iter()
                            .map(|i| i.key)
                            .chain(SPECIAL_KEYS)
                            .filter(|k| k.starts_with(section))
                            .map(|k| &k[section.len() + 1..]);
                        return Err(cursor.err(
                            &key.span(),
                            format!(
                                "unknown key `{}` in [{section}]{}",
                                key.get_ref(),
                                did_you_mean(key.get_ref(), known)
                            ),
                        ));
                    };
                    let number = cursor.number(&dotted, value)?;
                    if let Some(problem) = range_problem(&dotted, number) {
                        return Err(cursor.err(&value.span(), format!("`{dotted}` = {number} {problem}")));
                    }
                    if dotted == "cache.paths_per_write" {
                        paths_per_write = Some((number as u32, value.span()));
                    } else {
                        (spec.set)(&mut model, number);
                    }
                }
            }
            model.set_by.insert(dotted, line);
        }
    }

    model.cache.invalidation = match (invalidation, paths_per_write) {
        (None, None) => model.cache.invalidation,
        (None, Some((paths, _))) => Invalidation::OnWrite { paths_per_write: paths },
        (Some(("on-write", _)), paths) => Invalidation::OnWrite {
            paths_per_write: paths.map_or(1, |(p, _)| p),
        },
        (Some(("ttl-only", _)), None) => Invalidation::TtlOnly,
        (Some(("versioned-urls", _)), None) => Invalidation::VersionedUrls,
        (Some(("ttl-only" | "versioned-urls", _)), Some((_, span))) => {
            return Err(cursor.err(
                &span,
                "`cache.paths_per_write` only applies to `invalidation = \"on-write\"`".to_owned(),
            ));
        }
        (Some((other, span)), _) => {
            let names = ["ttl-only", "on-write", "versioned-urls"];
            return Err(cursor.err(
                &span,
                format!(
                    "unknown invalidation strategy \"{other}\"{} (use one of {})",
                    did_you_mean(other, names.into_iter()),
                    names.join(", ")
                ),
            ));
        }
    };

    if latency_set && model.latency.source == crate::model::LatencyInputs::seed_defaults().source {
        model.latency.source = format!("{origin} [latency]");
    }

    let prices: PricesOnly = toml::from_str(text).map_err(|err| toml_error(text, origin, &err))?;
    if let Some(prices) = prices.prices {
        model.prices = prices;
        model.prices.source = format!("{origin} [prices]");
    }

    if model.origin.edge_hit_min_ms > model.origin.edge_hit_max_ms {
        return Err(ModelError::OutOfRange {
            at: model
                .set_by
                .get("origin.edge_hit_min_ms")
                .cloned()
                .unwrap_or_else(|| origin.to_owned()),
            key: "origin.edge_hit_min_ms".to_owned(),
            value: model.origin.edge_hit_min_ms,
            problem: format!("is above origin.edge_hit_max_ms ({})", model.origin.edge_hit_max_ms),
        });
    }
    model.validate()?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("a\nbc\n", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }

    #[test]
    fn overrides_keep_the_preset_for_the_rest() {
        let model = parse(
            "preset = \"seed\"\n[cache]\npage_ttl_s = 30\ninvalidation = \"on-write\"\npaths_per_write = 2\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(model.workload.wikis, 1_000);
        assert!((model.cache.page_ttl_s - 30.0).abs() < 1e-12);
        assert_eq!(model.cache.invalidation, Invalidation::OnWrite { paths_per_write: 2 });
        assert_eq!(model.set_by["cache.page_ttl_s"], "m.toml:3");
    }

    #[test]
    fn unknown_key_names_the_line_and_suggests() {
        let err = parse("[workload]\nwikis = 3\npages_per_wik = 4\n", "m.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("m.toml:3:1:"), "{text}");
        assert!(text.contains("did you mean \"pages_per_wiki\""), "{text}");
    }

    #[test]
    fn out_of_range_and_wrong_type_name_the_value() {
        let err = parse("[workload]\nshare_private = 1.5\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.toml:2:17:") && err.contains("out of range"), "{err}");
        let err = parse("[cache]\npage_ttl_s = \"60\"\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a number, not a string"), "{err}");
        let err = parse("[workload]\nwikis = 2.5\n", "m.toml").unwrap_err().to_string();
        assert!(err.contains("whole number"), "{err}");
    }

    #[test]
    fn malformed_toml_and_bad_prices_have_positions() {
        let err = parse("[cache\n", "m.toml").unwrap_err().to_string();
        assert!(err.starts_with("m.toml:1:"), "{err}");
        let err = parse("[prices]\ncloudfront_usd_per_gb = 1.0\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.toml:2:"), "{err}");
        let model = parse("[prices]\ninvalidation_usd_per_path = 0.01\n", "m.toml").unwrap();
        assert!((model.prices.invalidation_usd_per_path - 0.01).abs() < 1e-12);
        assert!((model.prices.cloudfront_usd_per_gb_out - 0.085).abs() < 1e-12);
    }
}
