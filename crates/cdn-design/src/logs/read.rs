//! Reading logs: directories walked in name order, gzip recognised by its magic bytes
//! (CloudFront's files end in `.gz`; a downloaded copy may have been unpacked), comment
//! lines skipped, each line parsed against its file's field layout, and every request
//! sorted by time, stably, so requests of the same second keep the order of the files
//! and lines they came from.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::LogError;
use super::decode::url_decode;
use super::fields::{Field, Layout, LogKind, REALTIME_FIELDS};
use super::request::{EdgeResult, LogRequest, LogSet, Method, Present, Text};
use super::time::{parse_date, parse_time, parse_timestamp_ms};

/// How to read logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    /// The field list of real-time logs (files without a `#Fields` header), in record
    /// order; `None` = every documented field ([`REALTIME_FIELDS`]).
    pub realtime_fields: Option<Vec<String>>,
}

/// Reads standard and real-time logs: files, gzip files and directories of them.
pub fn read_logs(paths: &[PathBuf], options: &LogOptions) -> Result<LogSet, LogError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    let realtime_names: Vec<String> = options
        .realtime_fields
        .clone()
        .unwrap_or_else(|| REALTIME_FIELDS.iter().map(|f| (*f).to_owned()).collect());
    let realtime = Layout::new(LogKind::Realtime, realtime_names, "--fields".to_owned())?;
    let mut reader = Reader {
        texts: vec![Arc::from("")],
        text_ids: HashMap::new(),
        edges: Vec::new(),
        edge_index: HashMap::new(),
        requests: Vec::new(),
        skipped: 0,
        unknown_results: 0,
        has: Present::default(),
        by_kind: (0, 0),
    };
    for (index, path) in files.iter().enumerate() {
        reader.file(index as u32, path, &realtime)?;
    }
    if reader.requests.is_empty() {
        return Err(LogError::Empty {
            what: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    // Stable: requests of one second (a standard log's resolution) keep file and line order.
    reader.requests.sort_by_key(|r| r.time_ms);
    Ok(LogSet {
        files,
        edges: reader.edges,
        requests: reader.requests,
        files_by_kind: reader.by_kind,
        skipped_lines: reader.skipped,
        unknown_results: reader.unknown_results,
        has: reader.has,
        texts: reader.texts,
    })
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        // Hidden files (`.DS_Store`, partial downloads) are not logs.
        if entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        collect(&entry, out)?;
    }
    Ok(())
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, LogError> {
    let io = |source| LogError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        // CloudFront's files are one gzip member; concatenated ones read as one text.
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    })
}

struct Reader {
    texts: Vec<Arc<str>>,
    text_ids: HashMap<Arc<str>, Text>,
    edges: Vec<String>,
    edge_index: HashMap<String, u32>,
    requests: Vec<LogRequest>,
    skipped: u64,
    unknown_results: u64,
    has: Present,
    by_kind: (usize, usize),
}

impl Reader {
    fn file(&mut self, index: u32, path: &Path, realtime: &Layout) -> Result<(), LogError> {
        let mut input = open(path)?;
        let mut layout: Option<Layout> = None;
        let mut kind_counted = false;
        let mut bytes = Vec::new();
        let mut line = 0u64;
        loop {
            bytes.clear();
            let n = input.read_until(b'\n', &mut bytes).map_err(|source| LogError::Io {
                path: path.to_owned(),
                source,
            })?;
            if n == 0 {
                break;
            }
            line += 1;
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim_end_matches(['\n', '\r']);
            let bad = |message: String| LogError::BadLine {
                path: path.to_owned(),
                line,
                message,
            };
            if let Some(header) = text.strip_prefix('#') {
                self.skipped += 1;
                if let Some(list) = header.strip_prefix("Fields:") {
                    let names = list.split_whitespace().map(str::to_owned).collect();
                    layout = Some(Layout::new(
                        LogKind::Standard,
                        names,
                        format!("{}:{line}", path.display()),
                    )?);
                } else if let Some(version) = header.strip_prefix("Version:")
                    && version.trim() != "1.0"
                {
                    return Err(bad(format!(
                        "#Version {} is not the W3C extended log format 1.0 CloudFront writes",
                        version.trim()
                    )));
                }
                continue;
            }
            if text.trim().is_empty() {
                self.skipped += 1;
                continue;
            }
            if layout.is_none() {
                if text.split('\t').next().and_then(parse_date).is_some() {
                    return Err(bad(
                        "a standard log record before any #Fields header; the file's header lines are missing"
                            .to_owned(),
                    ));
                }
                // No header before the first record: a real-time log.
                layout = Some(realtime.clone());
            }
            let current = layout.as_ref().expect("set above");
            if !kind_counted {
                match current.kind {
                    LogKind::Standard => self.by_kind.0 += 1,
                    LogKind::Realtime => self.by_kind.1 += 1,
                }
                kind_counted = true;
            }
            let request = self.record(index, line, text, current).map_err(bad)?;
            self.requests.push(request);
        }
        Ok(())
    }

    fn intern(&mut self, text: Option<String>) -> Text {
        let Some(text) = text else { return Text::NONE };
        if let Some(&id) = self.text_ids.get(text.as_str()) {
            return id;
        }
        let id = Text(u32::try_from(self.texts.len()).expect("fewer than 2^32 distinct texts"));
        let shared: Arc<str> = Arc::from(text);
        self.texts.push(Arc::clone(&shared));
        self.text_ids.insert(shared, id);
        id
    }

    fn edge(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.edge_index.get(name) {
            return i;
        }
        let i = self.edges.len() as u32;
        self.edges.push(name.to_owned());
        self.edge_index.insert(name.to_owned(), i);
        i
    }

    fn record(&mut self, file: u32, line: u64, text: &str, layout: &Layout) -> Result<LogRequest, String> {
        let mut values: Vec<&str> = text.split('\t').collect();
        // CloudFront's own example has a record with a trailing tab: an empty last field.
        while values.len() > layout.names.len() && values.last() == Some(&"") {
            values.pop();
        }
        if values.len() != layout.names.len() {
            return Err(format!(
                "{} tab-separated fields, but the field list ({}) has {}; the line is cut short or not from this log",
                values.len(),
                layout.origin,
                layout.names.len()
            ));
        }
        let get = |field: Field| -> Option<(&str, usize)> { layout.column(field).map(|c| (values[c], c)) };
        let name = |column: usize| &layout.names[column];
        let optional = |field: Field| -> Option<String> {
            get(field)
                .map(|(v, _)| v)
                .filter(|v| !v.is_empty() && *v != "-")
                .map(url_decode)
        };
        let time_ms = match layout.kind {
            LogKind::Standard => {
                let (date, dc) = get(Field::Date).expect("required");
                let (time, tc) = get(Field::Time).expect("required");
                let days = parse_date(date).ok_or_else(|| {
                    format!(
                        "field `{}` (column {}) = \"{date}\" is not a date YYYY-MM-DD",
                        name(dc),
                        dc + 1
                    )
                })?;
                let seconds = parse_time(time).ok_or_else(|| {
                    format!(
                        "field `{}` (column {}) = \"{time}\" is not a time HH:MM:SS",
                        name(tc),
                        tc + 1
                    )
                })?;
                (days * 86_400 + seconds) * 1000
            }
            LogKind::Realtime => {
                let (stamp, c) = get(Field::Timestamp).expect("required");
                parse_timestamp_ms(stamp).ok_or_else(|| {
                    format!(
                        "field `{}` (column {}) = \"{stamp}\" is not seconds since the epoch (like 1580246471.178)",
                        name(c),
                        c + 1
                    )
                })?
            }
        };
        let (edge_name, ec) = get(Field::EdgeLocation).expect("required");
        if edge_name.is_empty() || edge_name == "-" {
            return Err(format!("field `{}` (column {}) is empty", name(ec), ec + 1));
        }
        let (method_text, mc) = get(Field::Method).expect("required");
        if method_text.is_empty() || method_text == "-" {
            return Err(format!("field `{}` (column {}) is empty", name(mc), mc + 1));
        }
        let (stem, sc) = get(Field::UriStem).expect("required");
        let stem = url_decode(stem);
        let (path, stem_query) = match stem.split_once('?') {
            // A real-time log's cs-uri-stem carries the query string.
            Some((p, q)) if layout.kind == LogKind::Realtime => (p.to_owned(), Some(q.to_owned())),
            _ => (stem, None),
        };
        if !path.starts_with('/') {
            return Err(format!(
                "field `{}` (column {}) = \"{path}\" is not a URL path (it must start with /)",
                name(sc),
                sc + 1
            ));
        }
        let number = |field: Field| -> Result<u64, String> {
            match get(field) {
                None | Some(("-" | "", _)) => Ok(0),
                Some((v, c)) => v
                    .parse::<u64>()
                    .map_err(|_| format!("field `{}` (column {}) = \"{v}\" is not a whole number", name(c), c + 1)),
            }
        };
        let bytes = number(Field::Bytes)?;
        let status = number(Field::Status)?;
        let status = u16::try_from(status).map_err(|_| {
            let c = layout.column(Field::Status).unwrap_or(0);
            format!(
                "field `{}` (column {}) = {status} is not an HTTP status",
                name(c),
                c + 1
            )
        })?;
        let result = match (get(Field::ResultType), get(Field::DetailedResultType)) {
            (Some((r, _)), _) if r != "-" && !r.is_empty() => EdgeResult::parse(r),
            (_, Some((d, _))) if d != "-" && !d.is_empty() => match EdgeResult::parse(d) {
                // A detailed type that is not a plain result type is an error's subtype.
                EdgeResult::Other => EdgeResult::Error,
                known => known,
            },
            _ => EdgeResult::Unknown,
        };
        if result == EdgeResult::Other {
            self.unknown_results += 1;
        }
        let query = optional(Field::UriQuery).or(stem_query).filter(|q| !q.is_empty());
        let cookie = optional(Field::Cookie);
        let has = &mut self.has;
        has.result |= result != EdgeResult::Unknown;
        has.host |= layout.has(Field::ViewerHost);
        has.cookies |= cookie.is_some();
        has.user_agent |= layout.has(Field::UserAgent);
        has.referer |= layout.has(Field::Referer);
        has.accept |= layout.has(Field::Accept);
        has.accept_encoding |= layout.has(Field::AcceptEncoding);
        let edge = self.edge(edge_name);
        let host = optional(Field::ViewerHost);
        let user_agent = optional(Field::UserAgent);
        let referer = optional(Field::Referer);
        let accept = optional(Field::Accept);
        let accept_encoding = optional(Field::AcceptEncoding);
        Ok(LogRequest {
            time_ms,
            bytes,
            line,
            file,
            edge,
            host: self.intern(host),
            path: self.intern(Some(path)),
            query: self.intern(query),
            cookie: self.intern(cookie),
            user_agent: self.intern(user_agent),
            referer: self.intern(referer),
            accept: self.intern(accept),
            accept_encoding: self.intern(accept_encoding),
            status,
            method: Method::parse(method_text),
            result,
        })
    }
}
