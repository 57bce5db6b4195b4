//! Field names of CloudFront's two log kinds, and the layout of one file's fields
//! (docs/sources.md, "CloudFront access logs").
//!
//! The two kinds name the viewer's `Host` header differently: a standard log's
//! `x-host-header` is the viewer's Host and `cs(Host)` the distribution's domain; a
//! real-time log's `cs-host` is the viewer's Host and its `x-host-header` the domain.

use serde::Serialize;

/// Which kind of log a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// Standard (access) logs: `#Version` and `#Fields` headers, date and time fields.
    Standard,
    /// Real-time logs: no header, a configured field list, a `timestamp` field.
    Realtime,
}

/// The fields of a standard log, in the order CloudFront writes them.
pub const STANDARD_FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// The fields a real-time log can carry, in the documented order; a configuration picks
/// some of them and its records keep this order.
pub const REALTIME_FIELDS: [&str; 40] = [
    "timestamp",
    "c-ip",
    "time-to-first-byte",
    "sc-status",
    "sc-bytes",
    "cs-method",
    "cs-protocol",
    "cs-host",
    "cs-uri-stem",
    "cs-bytes",
    "x-edge-location",
    "x-edge-request-id",
    "x-host-header",
    "time-taken",
    "cs-protocol-version",
    "c-ip-version",
    "cs-user-agent",
    "cs-referer",
    "cs-cookie",
    "cs-uri-query",
    "x-edge-response-result-type",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-result-type",
    "fle-encrypted-fields",
    "fle-status",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
    "c-port",
    "x-edge-detailed-result-type",
    "c-country",
    "cs-accept-encoding",
    "cs-accept",
    "cache-behavior-path-pattern",
    "cs-headers",
    "cs-header-names",
    "cs-headers-count",
];

/// A field the replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// `date` (standard): `YYYY-MM-DD`, UTC.
    Date,
    /// `time` (standard): `HH:MM:SS`, UTC, when the response finished.
    Time,
    /// `timestamp` (real-time): seconds since the Unix epoch, with milliseconds.
    Timestamp,
    /// `x-edge-location`.
    EdgeLocation,
    /// `sc-bytes`.
    Bytes,
    /// `sc-status`.
    Status,
    /// `cs-method`.
    Method,
    /// The viewer's `Host` header.
    ViewerHost,
    /// `cs-uri-stem` (a real-time log's includes the query string).
    UriStem,
    /// `cs-uri-query`.
    UriQuery,
    /// The `Cookie` header.
    Cookie,
    /// The `User-Agent` header.
    UserAgent,
    /// The `Referer` header.
    Referer,
    /// `cs-accept` (real-time).
    Accept,
    /// `cs-accept-encoding` (real-time).
    AcceptEncoding,
    /// `x-edge-result-type`.
    ResultType,
    /// `x-edge-detailed-result-type`.
    DetailedResultType,
}

impl Field {
    /// The field a name means in a log of `kind`, if the replay uses it.
    pub fn from_name(kind: LogKind, name: &str) -> Option<Self> {
        Some(match (kind, name) {
            (LogKind::Standard, "date") => Self::Date,
            (LogKind::Standard, "time") => Self::Time,
            (LogKind::Realtime, "timestamp") => Self::Timestamp,
            (_, "x-edge-location") => Self::EdgeLocation,
            (_, "sc-bytes") => Self::Bytes,
            (_, "sc-status") => Self::Status,
            (_, "cs-method") => Self::Method,
            (LogKind::Standard, "x-host-header") | (LogKind::Realtime, "cs-host") => Self::ViewerHost,
            (_, "cs-uri-stem") => Self::UriStem,
            (_, "cs-uri-query") => Self::UriQuery,
            (LogKind::Standard, "cs(Cookie)") | (LogKind::Realtime, "cs-cookie") => Self::Cookie,
            (LogKind::Standard, "cs(User-Agent)") | (LogKind::Realtime, "cs-user-agent") => Self::UserAgent,
            (LogKind::Standard, "cs(Referer)") | (LogKind::Realtime, "cs-referer") => Self::Referer,
            (LogKind::Realtime, "cs-accept") => Self::Accept,
            (LogKind::Realtime, "cs-accept-encoding") => Self::AcceptEncoding,
            (_, "x-edge-result-type") => Self::ResultType,
            (_, "x-edge-detailed-result-type") => Self::DetailedResultType,
            _ => return None,
        })
    }
}

/// Where each used field is in one file's records: 0-based columns, with the names as
/// the file (or `--fields`) gives them, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The kind of log.
    pub kind: LogKind,
    /// Every field name, in column order.
    pub names: Vec<String>,
    columns: Vec<(Field, usize)>,
    /// Where the field list came from, for errors.
    pub origin: String,
}

impl Layout {
    /// A layout from field names; errors if a field the replay needs is missing or a
    /// name is not a field of this kind of log.
    pub fn new(kind: LogKind, names: Vec<String>, origin: String) -> Result<Self, crate::logs::LogError> {
        let known: &[&str] = match kind {
            LogKind::Standard => &STANDARD_FIELDS,
            LogKind::Realtime => &REALTIME_FIELDS,
        };
        let fail = |message: String| crate::logs::LogError::Fields {
            at: origin.clone(),
            message,
        };
        let mut columns = Vec::new();
        for (column, name) in names.iter().enumerate() {
            // Standard logs may gain fields; only a real-time field list is checked by name.
            if kind == LogKind::Realtime && !known.contains(&name.as_str()) {
                return Err(fail(format!(
                    "unknown real-time log field `{name}`; the fields are {}",
                    REALTIME_FIELDS.join(",")
                )));
            }
            if let Some(field) = Field::from_name(kind, name) {
                if columns.iter().any(|(f, _)| *f == field) {
                    return Err(fail(format!("field `{name}` is listed twice")));
                }
                columns.push((field, column));
            }
        }
        let required: &[(Field, &str)] = match kind {
            LogKind::Standard => &[
                (Field::Date, "date"),
                (Field::Time, "time"),
                (Field::EdgeLocation, "x-edge-location"),
                (Field::Method, "cs-method"),
                (Field::UriStem, "cs-uri-stem"),
            ],
            LogKind::Realtime => &[
                (Field::Timestamp, "timestamp"),
                (Field::EdgeLocation, "x-edge-location"),
                (Field::Method, "cs-method"),
                (Field::UriStem, "cs-uri-stem"),
            ],
        };
        for (field, name) in required {
            if !columns.iter().any(|(f, _)| f == field) {
                return Err(fail(format!(
                    "the field list has no `{name}`, which the replay needs (it has {})",
                    names.join(",")
                )));
            }
        }
        Ok(Self {
            kind,
            names,
            columns,
            origin,
        })
    }

    /// The column of `field`, if the log has it.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns.iter().find(|(f, _)| *f == field).map(|(_, c)| *c)
    }

    /// Whether the log has `field`.
    pub fn has(&self, field: Field) -> bool {
        self.column(field).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_fields_swap_between_kinds() {
        assert_eq!(
            Field::from_name(LogKind::Standard, "x-host-header"),
            Some(Field::ViewerHost)
        );
        assert_eq!(Field::from_name(LogKind::Standard, "cs(Host)"), None);
        assert_eq!(Field::from_name(LogKind::Realtime, "cs-host"), Some(Field::ViewerHost));
        assert_eq!(Field::from_name(LogKind::Realtime, "x-host-header"), None);
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let names = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        let err = Layout::new(
            LogKind::Realtime,
            names("timestamp,cs-method,cs-uri-stem"),
            "--fields".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("--fields:") && err.contains("`x-edge-location`"),
            "{err}"
        );
        let err = Layout::new(
            LogKind::Realtime,
            names("timestamp,x-edge-location,cs-method,cs-uri-stem,cs-uri-stemm"),
            "--fields".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown real-time log field `cs-uri-stemm`"), "{err}");
        let all = Layout::new(
            LogKind::Standard,
            STANDARD_FIELDS.map(str::to_owned).to_vec(),
            "h".into(),
        )
        .unwrap();
        assert_eq!(all.column(Field::ResultType), Some(13));
        assert_eq!(all.column(Field::ViewerHost), Some(15));
    }
}
