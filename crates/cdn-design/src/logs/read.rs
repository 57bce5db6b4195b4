//! Reading logs: directories walked in name order, gzip recognised by its magic bytes
//! (CloudFront's files end in `.gz`; a downloaded copy may have been unpacked), comment
//! lines skipped, each line parsed against its file's field layout, and the files' records
//! merged into one stream in time order.
//!
//! The merge keeps memory bounded by the files open at once, not by the requests: months
//! of logs are thousands of files, each roughly in time order (docs/sources.md,
//! "CloudFront access logs"). Each file is read through a window of [`REORDER_WINDOW`]
//! records that puts it in order; a record earlier than one the window has already let
//! go is an error naming its FILE:LINE. The files are merged k-way, and a file is opened
//! only when the merge reaches its first record's time (found by a first look at each
//! file), so the files open at once are those whose times overlap. Requests of the same
//! time keep the order of the files (in name order) and of their lines, as a stable sort
//! of everything would.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::LogError;
use super::decode::url_decode;
use super::fields::{Field, Layout, LogKind, REALTIME_FIELDS};
use super::request::{EdgeResult, LogRequest, LogSet, Method, Present, RequestView, Text};
use super::time::{parse_date, parse_time, parse_timestamp_ms};

/// Records of one file held to put it in time order: a file may be out of order by up to
/// this many records. Memory is this many records per file open at once.
pub const REORDER_WINDOW: usize = 4096;

/// How to read logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    /// The field list of real-time logs (files without a `#Fields` header), in record
    /// order; `None` = every documented field ([`REALTIME_FIELDS`]).
    pub realtime_fields: Option<Vec<String>>,
}

/// Reads standard and real-time logs (files, gzip files and directories of them) whole:
/// every request in [`LogSet::requests`], in time order. For logs of any length, read
/// the same requests one at a time from [`LogStream`].
pub fn read_logs(paths: &[PathBuf], options: &LogOptions) -> Result<LogSet, LogError> {
    let mut stream = LogStream::open(paths, options)?;
    let mut requests = Vec::new();
    while let Some(request) = stream.next_request()? {
        requests.push(request);
    }
    let mut set = stream.finish()?;
    set.requests = requests;
    Ok(set)
}

/// The requests of a set of log files in time order, one at a time, in memory bounded by
/// the files open at once (see the module docs). [`finish`](Self::finish) then gives the
/// set's files, edge locations and counts.
pub struct LogStream {
    paths: String,
    files: Vec<PathBuf>,
    realtime: Layout,
    reader: Reader,
    /// Files not opened yet, latest first time first (popped from the end): (first time, index).
    pending: Vec<(i64, u32)>,
    /// Open files by index, each with its next record.
    open: HashMap<u32, (SortedFile, LogRequest)>,
    /// The open files' next records: (time, file, line).
    heads: BinaryHeap<Reverse<(i64, u32, u64)>>,
    /// The most files open at once so far.
    peak_open: usize,
    count: u64,
    first_ms: Option<i64>,
    last_ms: i64,
}

impl std::fmt::Debug for LogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStream")
            .field("files", &self.files)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl LogStream {
    /// Finds the files and takes a first look at each (its first record's time); a log
    /// with no request at all is [`LogError::Empty`].
    pub fn open(paths: &[PathBuf], options: &LogOptions) -> Result<Self, LogError> {
        let mut files = Vec::new();
        for path in paths {
            collect(path, &mut files)?;
        }
        let realtime_names: Vec<String> = options
            .realtime_fields
            .clone()
            .unwrap_or_else(|| REALTIME_FIELDS.iter().map(|f| (*f).to_owned()).collect());
        let realtime = Layout::new(LogKind::Realtime, realtime_names, "--fields".to_owned())?;
        let mut pending = Vec::new();
        for (index, path) in files.iter().enumerate() {
            // A throwaway reader: the look's texts, edge locations and counts are not kept.
            let mut look = Reader::new();
            let mut file = SortedFile::open(index as u32, path)?;
            if let Some(first) = file.next(&mut look, &realtime)? {
                pending.push((first.time_ms, index as u32));
            }
        }
        let what = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if pending.is_empty() {
            return Err(LogError::Empty { what });
        }
        pending.sort_by_key(|&(time, index)| Reverse((time, index)));
        Ok(Self {
            paths: what,
            files,
            realtime,
            reader: Reader::new(),
            pending,
            open: HashMap::new(),
            heads: BinaryHeap::new(),
            peak_open: 0,
            count: 0,
            first_ms: None,
            last_ms: 0,
        })
    }

    /// The next request in time order; `None` at the end.
    pub fn next_request(&mut self) -> Result<Option<LogRequest>, LogError> {
        loop {
            // A file whose first record is no later than every open file's next one could
            // hold the next request: open it first.
            let earliest = self.heads.peek().map(|Reverse((time, ..))| *time);
            if let Some(&(first, index)) = self.pending.last()
                && earliest.is_none_or(|t| first <= t)
            {
                self.pending.pop();
                let mut file = SortedFile::open(index, &self.files[index as usize])?;
                if let Some(head) = file.next(&mut self.reader, &self.realtime)? {
                    self.heads.push(Reverse((head.time_ms, index, head.line)));
                    self.open.insert(index, (file, head));
                    self.peak_open = self.peak_open.max(self.open.len());
                }
                continue;
            }
            let Some(Reverse((_, index, _))) = self.heads.pop() else {
                return Ok(None);
            };
            let (mut file, head) = self.open.remove(&index).expect("every head has its file");
            if let Some(next) = file.next(&mut self.reader, &self.realtime)? {
                self.heads.push(Reverse((next.time_ms, index, next.line)));
                self.open.insert(index, (file, next));
            }
            self.count += 1;
            self.first_ms.get_or_insert(head.time_ms);
            self.last_ms = head.time_ms;
            return Ok(Some(head));
        }
    }

    /// A request with its texts.
    pub fn view(&self, r: &LogRequest) -> RequestView<'_> {
        self.reader.view(r)
    }

    /// The most files open at once so far: what the stream's memory grows with (each
    /// holds up to [`REORDER_WINDOW`] records), the files whose times overlap.
    pub fn peak_open_files(&self) -> usize {
        self.peak_open
    }

    /// `FILE:LINE` of a request.
    pub fn location(&self, request: &LogRequest) -> String {
        format!("{}:{}", self.files[request.file as usize].display(), request.line)
    }

    /// The files, edge locations and counts of what was read, with no requests (they
    /// were handed out); [`LogError::Empty`] when no request was read.
    pub fn finish(self) -> Result<LogSet, LogError> {
        let Some(first_ms) = self.first_ms else {
            return Err(LogError::Empty { what: self.paths });
        };
        let r = self.reader;
        Ok(LogSet {
            files: self.files,
            edges: r.edges,
            requests: Vec::new(),
            request_count: self.count,
            first_ms,
            last_ms: self.last_ms,
            files_by_kind: r.by_kind,
            skipped_lines: r.skipped,
            unknown_results: r.unknown_results,
            has: r.has,
            texts: r.texts,
        })
    }
}

/// One file read in time order through a window of [`REORDER_WINDOW`] records.
struct SortedFile {
    input: FileInput,
    window: BinaryHeap<Reverse<Held>>,
    /// Time and line of the last record let go.
    released: Option<(i64, u64)>,
    at_end: bool,
}

/// A record in the window, ordered by time, then line.
struct Held(LogRequest);

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.time_ms, self.0.line).cmp(&(other.0.time_ms, other.0.line))
    }
}

impl SortedFile {
    fn open(index: u32, path: &Path) -> Result<Self, LogError> {
        Ok(Self {
            input: FileInput {
                index,
                path: path.to_owned(),
                input: open(path)?,
                layout: None,
                kind_counted: false,
                line: 0,
                bytes: Vec::new(),
            },
            window: BinaryHeap::new(),
            released: None,
            at_end: false,
        })
    }

    fn next(&mut self, reader: &mut Reader, realtime: &Layout) -> Result<Option<LogRequest>, LogError> {
        while !self.at_end && self.window.len() < REORDER_WINDOW {
            let Some(request) = reader.next_record(&mut self.input, realtime)? else {
                self.at_end = true;
                break;
            };
            if let Some((time_ms, line)) = self.released
                && request.time_ms < time_ms
            {
                return Err(LogError::BadLine {
                    path: self.input.path.clone(),
                    line: request.line,
                    message: format!(
                        "this record is {:.3} s earlier than line {line}, which is more than {REORDER_WINDOW} records before it; the file is too far out of time order to merge in bounded memory: sort it by time (date and time columns) first",
                        (time_ms - request.time_ms) as f64 / 1000.0
                    ),
                });
            }
            self.window.push(Reverse(Held(request)));
        }
        let Some(Reverse(Held(request))) = self.window.pop() else {
            return Ok(None);
        };
        self.released = Some((request.time_ms, request.line));
        Ok(Some(request))
    }
}

/// A file being parsed: its lines so far and its field layout.
struct FileInput {
    index: u32,
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    layout: Option<Layout>,
    kind_counted: bool,
    line: u64,
    bytes: Vec<u8>,
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

fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, LogError> {
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
    skipped: u64,
    unknown_results: u64,
    has: Present,
    by_kind: (usize, usize),
}

impl Reader {
    fn new() -> Self {
        Self {
            texts: vec![Arc::from("")],
            text_ids: HashMap::new(),
            edges: Vec::new(),
            edge_index: HashMap::new(),
            skipped: 0,
            unknown_results: 0,
            has: Present::default(),
            by_kind: (0, 0),
        }
    }

    fn view(&self, r: &LogRequest) -> RequestView<'_> {
        let text = |id: Text| (id != Text::NONE).then(|| &*self.texts[id.0 as usize]);
        RequestView {
            method: r.method,
            host: text(r.host),
            path: text(r.path).unwrap_or("/"),
            query: text(r.query),
            cookie: text(r.cookie),
            user_agent: text(r.user_agent),
            referer: text(r.referer),
            accept: text(r.accept),
            accept_encoding: text(r.accept_encoding),
        }
    }

    /// The file's next record in file order; `None` at its end.
    fn next_record(&mut self, f: &mut FileInput, realtime: &Layout) -> Result<Option<LogRequest>, LogError> {
        let path = f.path.as_path();
        loop {
            f.bytes.clear();
            let n = f.input.read_until(b'\n', &mut f.bytes).map_err(|source| LogError::Io {
                path: path.to_owned(),
                source,
            })?;
            if n == 0 {
                return Ok(None);
            }
            f.line += 1;
            let line = f.line;
            let text = String::from_utf8_lossy(&f.bytes);
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
                    f.layout = Some(Layout::new(
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
            if f.layout.is_none() {
                if text.split('\t').next().and_then(parse_date).is_some() {
                    return Err(bad(
                        "a standard log record before any #Fields header; the file's header lines are missing"
                            .to_owned(),
                    ));
                }
                // No header before the first record: a real-time log.
                f.layout = Some(realtime.clone());
            }
            let current = f.layout.as_ref().expect("set above");
            if !f.kind_counted {
                match current.kind {
                    LogKind::Standard => self.by_kind.0 += 1,
                    LogKind::Realtime => self.by_kind.1 += 1,
                }
                f.kind_counted = true;
            }
            return self.record(f.index, line, text, current).map(Some).map_err(bad);
        }
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
