//! Trace files: csv (`time,obj_id,size`-style, columns configurable) and libCacheSim's
//! `oracleGeneral` binary (24-byte little-endian records
//! `{u32 timestamp; u64 obj_id; u32 obj_size; i64 next_access_vtime}`; docs/sources.md,
//! "libCacheSim and traces"). Both are streamed; errors name the line or record.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::TraceError;

use super::{Request, RequestKind, RequestSource};

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
    /// Seconds per unit of the time column (1 for seconds, 0.001 for ms).
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
    let total_bytes = file.metadata().map_err(io)?.len();
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
        }),
        // A file that is not a whole number of records fails at its last record, after
        // the good ones, so the error can say where.
        TraceFormat::OracleGeneral => Box::new(OracleGeneral {
            reader,
            path: path.to_owned(),
            record: 0,
            total_bytes,
        }),
    })
}

struct CsvTrace<R> {
    reader: R,
    path: PathBuf,
    columns: CsvColumns,
    line: u64,
    bytes_read: u64,
    total_bytes: u64,
    buffer: String,
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
        let fields: Vec<&str> = text.split(char::from(c.delimiter)).map(str::trim).collect();
        let needed = c.time.max(c.object).max(c.size.unwrap_or(0));
        if fields.len() < needed {
            return Err(self.bad(format!(
                "has {} column(s) but column {needed} is needed (time column {}, object column {}, size column {}); check the delimiter and the column options",
                fields.len(),
                c.time,
                c.object,
                c.size.map_or_else(|| "none".to_owned(), |s| s.to_string())
            )));
        }
        let time_text = fields[c.time - 1];
        let time: f64 = time_text
            .parse()
            .map_err(|_| self.bad(format!("time \"{time_text}\" (column {}) is not a number", c.time)))?;
        if !time.is_finite() {
            return Err(self.bad(format!("time \"{time_text}\" is not finite")));
        }
        let object_text = fields[c.object - 1];
        let object = object_text.parse::<u64>().unwrap_or_else(|_| hash_id(object_text));
        let size_bytes = match c.size {
            None => 1,
            Some(column) => {
                let size_text = fields[column - 1];
                size_text.parse::<u32>().map_err(|_| {
                    self.bad(format!(
                        "size \"{size_text}\" (column {column}) is not a whole number of bytes below 2^32"
                    ))
                })?
            }
        };
        Ok(Request {
            time_s: time * c.time_unit_s,
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
            time_s: f64::from(timestamp),
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
/// to libCacheSim); `next_access_vtime` is written as -1 (unknown).
pub fn write_oracle_general(requests: &[Request], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for r in requests {
        out.write_all(&(r.time_s as u32).to_le_bytes())?;
        out.write_all(&r.object.to_le_bytes())?;
        out.write_all(&r.size_bytes.to_le_bytes())?;
        out.write_all(&(-1i64).to_le_bytes())?;
    }
    Ok(())
}
