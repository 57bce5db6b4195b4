//! Trace files: csv (`time,obj_id,size`-style, columns configurable) and libCacheSim's
//! `oracleGeneral` binary (24-byte little-endian records
//! `{u32 timestamp; u64 obj_id; u32 obj_size; i64 next_access_vtime}`; docs/sources.md,
//! "libCacheSim and traces"). Both are streamed; errors name the line or record.
//!
//! Times become whole nanoseconds exactly: a csv time is read as a decimal number in its
//! column's unit (`12.345` ms is 12,345,000 ns), never through floating-point seconds.
//! An `oracleGeneral` file is memory-mapped a window at a time (12 MiB with 4 KiB
//! pages, unmapped when the reader moves on, so memory stays flat for a trace of any
//! length) and decoded in batches straight from the mapping; a file that cannot be mapped
//! (a pipe) is read through a buffer instead.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{SimError, TraceError};

use super::{NS_PER_S, Request, RequestKind, RequestSource};

/// Size of one `oracleGeneral` record.
pub const ORACLE_GENERAL_RECORD_BYTES: usize = 24;

/// Which columns of a csv trace hold what (1-based, like libCacheSim's `time-col=1`).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvColumns {
    /// Column of the request time.
    pub time: usize,
    /// Column of the object id (a number, or any text, which is hashed).
    pub object: usize,
    /// Column of the object size in bytes; `None` = every object is 1 byte.
    pub size: Option<usize>,
    /// Field separator.
    pub delimiter: u8,
    /// Whether the first line is a header.
    pub has_header: bool,
    /// Seconds per unit of the time column (1 for seconds, 0.001 for ms, 0.000001 for
    /// µs); it is turned into a whole number of nanoseconds per unit.
    pub time_unit_s: f64,
}

impl Default for CsvColumns {
    fn default() -> Self {
        Self {
            time: 1,
            object: 2,
            size: Some(3),
            delimiter: b',',
            has_header: false,
            time_unit_s: 1.0,
        }
    }
}

/// A trace file format.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceFormat {
    /// Text, one request per line.
    Csv(CsvColumns),
    /// libCacheSim `oracleGeneral`.
    OracleGeneral,
}

/// Opens a trace for streaming.
pub fn open_trace(path: &Path, format: &TraceFormat) -> Result<Box<dyn RequestSource + Send>, TraceError> {
    let io = |source| TraceError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    let total_bytes = metadata.len();
    let reader = BufReader::with_capacity(1 << 16, file);
    Ok(match format {
        TraceFormat::Csv(columns) => Box::new(CsvTrace {
            reader,
            path: path.to_owned(),
            columns: columns.clone(),
            line: 0,
            bytes_read: 0,
            total_bytes,
            buffer: String::new(),
            unit_ns: super::s_to_ns(columns.time_unit_s).max(1),
        }),
        // A file that is not a whole number of records fails at its last record, after
        // the good ones, so the error can say where.
        // Only a regular file has a length to map; a pipe or device is read as a stream.
        TraceFormat::OracleGeneral => {
            match mapped::MappedOracle::open(reader.into_inner(), path, total_bytes).and_then(|mapped| {
                if metadata.is_file() {
                    Ok(mapped)
                } else {
                    Err(mapped.into_file())
                }
            }) {
                Ok(mapped) => Box::new(mapped),
                Err(file) => Box::new(OracleGeneral {
                    reader: BufReader::with_capacity(1 << 16, file),
                    path: path.to_owned(),
                    record: 0,
                    total_bytes,
                }),
            }
        }
    })
}

/// Parses a non-negative decimal `text` (`12`, `12.5`, `.5`) in units of `unit_ns`
/// nanoseconds exactly, rounding below a nanosecond to the nearest; other notations
/// (`1e3`) go through `f64`. `None` when it is not a number or is negative.
pub fn parse_time_ns(text: &str, unit_ns: u64) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (!whole.is_empty() || !fraction.is_empty()) && digits(whole) && digits(fraction) {
        let whole_ns = if whole.is_empty() {
            0
        } else {
            whole.parse::<u64>().ok()?.checked_mul(unit_ns)?
        };
        // The fraction's first 19 digits are plenty: no unit is longer than 10^19 ns.
        let fraction = &fraction[..fraction.len().min(19)];
        let fraction_ns = if fraction.is_empty() {
            0
        } else {
            let numerator = u128::from(fraction.parse::<u64>().ok()?) * u128::from(unit_ns);
            let denominator = 10u128.pow(fraction.len() as u32);
            ((numerator + denominator / 2) / denominator) as u64
        };
        return whole_ns.checked_add(fraction_ns);
    }
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * unit_ns as f64).round() as u64)
}

struct CsvTrace<R> {
    reader: R,
    path: PathBuf,
    columns: CsvColumns,
    line: u64,
    bytes_read: u64,
    total_bytes: u64,
    buffer: String,
    /// Nanoseconds per unit of the time column.
    unit_ns: u64,
}

/// FNV-1a, for object ids that are not numbers.
fn hash_id(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl<R: BufRead> CsvTrace<R> {
    fn bad(&self, message: String) -> TraceError {
        TraceError::BadLine {
            path: self.path.clone(),
            line: self.line,
            message,
        }
    }

    fn parse(&self, text: &str) -> Result<Request, TraceError> {
        let c = &self.columns;
        // The three columns wanted, picked in one pass without collecting the line.
        let needed = c.time.max(c.object).max(c.size.unwrap_or(0));
        let (mut time_text, mut object_text, mut size_text) = ("", "", "");
        let mut columns = 0;
        for (i, field) in text.split(char::from(c.delimiter)).enumerate() {
            columns = i + 1;
            if columns == c.time {
                time_text = field.trim();
            }
            if columns == c.object {
                object_text = field.trim();
            }
            if Some(columns) == c.size {
                size_text = field.trim();
            }
            if columns >= needed {
                break;
            }
        }
        if columns < needed {
            return Err(self.bad(format!(
                "has {} column(s) but column {needed} is needed (time column {}, object column {}, size column {}); check the delimiter and the column options",
                columns,
                c.time,
                c.object,
                c.size.map_or_else(|| "none".to_owned(), |s| s.to_string())
            )));
        }
        let time_ns = parse_time_ns(time_text, self.unit_ns).ok_or_else(|| {
            self.bad(format!(
                "time \"{time_text}\" (column {}) is not a number of time units ≥ 0 within 584 years",
                c.time
            ))
        })?;
        let object = object_text.parse::<u64>().unwrap_or_else(|_| hash_id(object_text));
        let size_bytes = match c.size {
            None => 1,
            Some(column) => size_text.parse::<u32>().map_err(|_| {
                self.bad(format!(
                    "size \"{size_text}\" (column {column}) is not a whole number of bytes below 2^32"
                ))
            })?,
        };
        Ok(Request {
            time_ns,
            object,
            size_bytes,
            kind: RequestKind::Read,
        })
    }
}

impl<R: BufRead> Iterator for CsvTrace<R> {
    type Item = Result<Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buffer.clear();
            let n = match self.reader.read_line(&mut self.buffer) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(err) => {
                    self.line += 1;
                    return Some(Err(self.bad(format!("cannot read this line: {err}"))));
                }
            };
            self.line += 1;
            self.bytes_read += n as u64;
            let text = self.buffer.trim();
            if text.is_empty() || text.starts_with('#') || (self.line == 1 && self.columns.has_header) {
                continue;
            }
            return Some(self.parse(text));
        }
    }
}

impl<R: BufRead> RequestSource for CsvTrace<R> {
    fn location(&self) -> String {
        format!("{}:{}", self.path.display(), self.line)
    }

    fn fraction_done(&self) -> f64 {
        if self.total_bytes == 0 {
            1.0
        } else {
            self.bytes_read as f64 / self.total_bytes as f64
        }
    }
}

struct OracleGeneral<R> {
    reader: R,
    path: PathBuf,
    record: u64,
    total_bytes: u64,
}

impl<R: Read> Iterator for OracleGeneral<R> {
    type Item = Result<Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut bytes = [0u8; ORACLE_GENERAL_RECORD_BYTES];
        let mut filled = 0;
        while filled < bytes.len() {
            match self.reader.read(&mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    return Some(Err(TraceError::Io {
                        path: self.path.clone(),
                        source: err,
                    }));
                }
            }
        }
        let record = self.record;
        let offset = record * ORACLE_GENERAL_RECORD_BYTES as u64;
        if filled == 0 {
            return None;
        }
        if filled < bytes.len() {
            self.record += 1;
            return Some(Err(TraceError::BadRecord {
                path: self.path.clone(),
                record,
                offset,
                message: format!(
                    "the file ends {filled} bytes into a {ORACLE_GENERAL_RECORD_BYTES}-byte record ({} bytes is not a multiple of {ORACLE_GENERAL_RECORD_BYTES}); the file is truncated or not oracleGeneral",
                    self.total_bytes
                ),
            }));
        }
        self.record += 1;
        let timestamp = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
        let object = u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes"));
        let size_bytes = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
        Some(Ok(Request {
            time_ns: u64::from(timestamp) * NS_PER_S,
            object,
            size_bytes,
            kind: RequestKind::Read,
        }))
    }
}

impl<R: Read> RequestSource for OracleGeneral<R> {
    fn location(&self) -> String {
        // `record` already counts the one returned; records are numbered from 0 as in the
        // truncation error.
        format!("{} record {}", self.path.display(), self.record.saturating_sub(1))
    }

    fn fraction_done(&self) -> f64 {
        if self.total_bytes == 0 {
            1.0
        } else {
            (self.record * ORACLE_GENERAL_RECORD_BYTES as u64) as f64 / self.total_bytes as f64
        }
    }
}

/// Encodes requests as `oracleGeneral` records (for tests and for handing synthetic traces
/// to libCacheSim); times are whole seconds, rounded down, and `next_access_vtime` is
/// written as -1 (unknown).
pub fn write_oracle_general(requests: &[Request], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for r in requests {
        out.write_all(&((r.time_ns / NS_PER_S) as u32).to_le_bytes())?;
        out.write_all(&r.object.to_le_bytes())?;
        out.write_all(&r.size_bytes.to_le_bytes())?;
        out.write_all(&(-1i64).to_le_bytes())?;
    }
    Ok(())
}

/// The memory-mapped `oracleGeneral` reader: the one place in this crate with `unsafe`
/// code, for `mmap(2)` and the slice over the mapping.
#[allow(unsafe_code)]
mod mapped {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};

    use super::{NS_PER_S, ORACLE_GENERAL_RECORD_BYTES, Request, RequestKind, RequestSource, SimError, TraceError};

    /// A window is this many times the least common multiple of the page size and the
    /// record size, so windows start on a page and end on a record.
    const WINDOW_PAGES_PER_RECORD_SIZE: usize = 1 << 10;

    /// One read-only private mapping of part of a file.
    struct Window {
        ptr: *mut libc::c_void,
        len: usize,
    }

    // SAFETY: the mapping is read-only and owned by this value alone; nothing in it is
    // tied to the thread that made it.
    unsafe impl Send for Window {}

    impl Window {
        fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Self> {
            #[cfg(target_os = "linux")]
            let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
            #[cfg(not(target_os = "linux"))]
            let flags = libc::MAP_PRIVATE;
            let offset = libc::off_t::try_from(offset).map_err(std::io::Error::other)?;
            // SAFETY: a fresh mapping at an address the kernel chooses, of a file we hold
            // open, with an offset that is a multiple of the page size.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    flags,
                    file.as_raw_fd(),
                    offset,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: advice only, on the mapping just made.
            unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
            Ok(Self { ptr, len })
        }

        fn bytes(&self) -> &[u8] {
            // SAFETY: `ptr` maps `len` readable bytes until `self` is dropped. A file
            // truncated by another process while mapped raises SIGBUS, as with any
            // mapped file (memmap2 documents the same); traces are not written while read.
            unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
        }
    }

    impl Drop for Window {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the mapping made in `map`, which no slice outlives.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }

    pub(super) struct MappedOracle {
        file: File,
        path: PathBuf,
        total_bytes: u64,
        window_bytes: u64,
        window: Option<Window>,
        /// File offset of the window's first byte.
        window_offset: u64,
        /// Read position in the window.
        pos: usize,
        /// Records returned so far.
        record: u64,
    }

    impl MappedOracle {
        /// Maps the file's first window; gives the file back when it cannot be mapped.
        pub(super) fn open(file: File, path: &Path, total_bytes: u64) -> Result<Self, File> {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096);
            let lcm = page / gcd(page, ORACLE_GENERAL_RECORD_BYTES) * ORACLE_GENERAL_RECORD_BYTES;
            let mut reader = Self {
                file,
                path: path.to_owned(),
                total_bytes,
                window_bytes: (lcm * WINDOW_PAGES_PER_RECORD_SIZE) as u64,
                window: None,
                window_offset: 0,
                pos: 0,
                record: 0,
            };
            if total_bytes > 0 && reader.map_at(0).is_err() {
                return Err(reader.file);
            }
            Ok(reader)
        }

        pub(super) fn into_file(self) -> File {
            self.file
        }

        fn map_at(&mut self, offset: u64) -> std::io::Result<()> {
            self.window = None;
            let len = (self.total_bytes - offset).min(self.window_bytes) as usize;
            self.window = Some(Window::map(&self.file, offset, len)?);
            self.window_offset = offset;
            self.pos = 0;
            Ok(())
        }

        /// Moves to the next window when this one is used up; `Ok(false)` at the end.
        fn ready(&mut self) -> Result<bool, TraceError> {
            let Some(window) = &self.window else { return Ok(false) };
            if self.pos < window.len {
                return Ok(true);
            }
            let next = self.window_offset + window.len as u64;
            if next >= self.total_bytes {
                self.window = None;
                return Ok(false);
            }
            self.map_at(next).map_err(|source| TraceError::Io {
                path: self.path.clone(),
                source,
            })?;
            Ok(true)
        }

        fn truncated(&self, filled: usize) -> TraceError {
            TraceError::BadRecord {
                path: self.path.clone(),
                record: self.record,
                offset: self.record * ORACLE_GENERAL_RECORD_BYTES as u64,
                message: format!(
                    "the file ends {filled} bytes into a {ORACLE_GENERAL_RECORD_BYTES}-byte record ({} bytes is not a multiple of {ORACLE_GENERAL_RECORD_BYTES}); the file is truncated or not oracleGeneral",
                    self.total_bytes
                ),
            }
        }

        fn location_of(&self, record: u64) -> String {
            format!("{} record {record}", self.path.display())
        }
    }

    #[inline]
    fn decode(record: &[u8]) -> Request {
        let timestamp = u32::from_le_bytes(record[0..4].try_into().expect("4 bytes"));
        let object = u64::from_le_bytes(record[4..12].try_into().expect("8 bytes"));
        let size_bytes = u32::from_le_bytes(record[12..16].try_into().expect("4 bytes"));
        Request {
            time_ns: u64::from(timestamp) * NS_PER_S,
            object,
            size_bytes,
            kind: RequestKind::Read,
        }
    }

    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }

    impl Iterator for MappedOracle {
        type Item = Result<Request, TraceError>;

        fn next(&mut self) -> Option<Self::Item> {
            match self.ready() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(err) => return Some(Err(err)),
            }
            let window = self.window.as_ref().expect("ready");
            let left = window.len - self.pos;
            if left < ORACLE_GENERAL_RECORD_BYTES {
                let err = self.truncated(left);
                self.window = None;
                return Some(Err(err));
            }
            let request = decode(&window.bytes()[self.pos..self.pos + ORACLE_GENERAL_RECORD_BYTES]);
            self.pos += ORACLE_GENERAL_RECORD_BYTES;
            self.record += 1;
            Some(Ok(request))
        }
    }

    impl RequestSource for MappedOracle {
        fn location(&self) -> String {
            self.location_of(self.record.saturating_sub(1))
        }

        fn fraction_done(&self) -> f64 {
            if self.total_bytes == 0 {
                1.0
            } else {
                (self.record * ORACLE_GENERAL_RECORD_BYTES as u64) as f64 / self.total_bytes as f64
            }
        }

        fn next_batch(&mut self, batch: &mut Vec<Request>, max: usize, previous_ns: u64) -> Result<(), SimError> {
            let mut previous_ns = previous_ns;
            let mut wanted = max;
            while wanted > 0 && self.ready()? {
                let window = self.window.as_ref().expect("ready");
                let left = window.len - self.pos;
                let whole = (left / ORACLE_GENERAL_RECORD_BYTES).min(wanted);
                if whole == 0 {
                    let err = self.truncated(left);
                    self.window = None;
                    return Err(err.into());
                }
                let bytes = &window.bytes()[self.pos..self.pos + whole * ORACLE_GENERAL_RECORD_BYTES];
                for (i, record) in bytes.chunks_exact(ORACLE_GENERAL_RECORD_BYTES).enumerate() {
                    let request = decode(record);
                    if request.time_ns < previous_ns {
                        let at = self.location_of(self.record + i as u64);
                        return Err(SimError::unsorted(at, request.time_ns, previous_ns));
                    }
                    previous_ns = request.time_ns;
                    batch.push(request);
                }
                self.pos += whole * ORACLE_GENERAL_RECORD_BYTES;
                self.record += whole as u64;
                wanted -= whole;
            }
            Ok(())
        }
    }
}
