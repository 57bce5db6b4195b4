//! One logged request and the set of them: the method, CloudFront's answer, the texts
//! (stored once per distinct value) and the view that matching and cache keys read.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// HEAD.
    Head,
    /// OPTIONS.
    Options,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// Anything else (WebSocket upgrades are GETs; CONNECT and the like are never cached).
    Other,
}

impl Method {
    pub(super) fn parse(text: &str) -> Self {
        match text {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => Self::Other,
        }
    }

    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Other => "OTHER",
        }
    }

    /// Whether the method changes something at the origin.
    pub fn is_write(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch | Self::Delete)
    }
}

/// How CloudFront answered, from `x-edge-result-type` (or `x-edge-detailed-result-type`
/// when only that is logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EdgeResult {
    /// Served from the edge cache.
    Hit,
    /// Found in the edge cache expired; revalidated with the origin and served.
    RefreshHit,
    /// Fetched from the origin.
    Miss,
    /// Served from the Origin Shield cache (a miss at the edge).
    OriginShieldHit,
    /// An error response (4xx, 5xx, or the viewer went away).
    Error,
    /// HTTP redirected to HTTPS; never reached the cache.
    Redirect,
    /// Refused: a CloudFront quota was exceeded.
    LimitExceeded,
    /// 503: not enough capacity at the edge.
    CapacityExceeded,
    /// A value CloudFront added after this was written.
    Other,
    /// The log has no result field.
    Unknown,
}

impl EdgeResult {
    pub(super) fn parse(text: &str) -> Self {
        match text {
            "Hit" => Self::Hit,
            "RefreshHit" => Self::RefreshHit,
            "Miss" => Self::Miss,
            "OriginShieldHit" => Self::OriginShieldHit,
            "Redirect" => Self::Redirect,
            "LimitExceeded" => Self::LimitExceeded,
            "CapacityExceeded" => Self::CapacityExceeded,
            "Error" => Self::Error,
            _ => Self::Other,
        }
    }

    /// Hit and RefreshHit: served from the edge's copy (docs/sources.md, "CloudFront
    /// access logs").
    pub fn is_hit(self) -> bool {
        matches!(self, Self::Hit | Self::RefreshHit)
    }

    /// Whether the request went through the cache and counts in a hit ratio: not an
    /// error, redirect or refusal. With no result field every request counts.
    pub fn counts(self) -> bool {
        matches!(
            self,
            Self::Hit | Self::RefreshHit | Self::Miss | Self::OriginShieldHit | Self::Unknown
        )
    }
}

/// A decoded text of the logs, stored once in its [`LogSet`] (hosts, paths and headers
/// repeat across millions of requests); `Text::NONE` when the field was absent or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Text(pub(super) u32);

impl Text {
    /// No value.
    pub const NONE: Self = Self(0);
}

/// One request from the logs, decoded; its texts are in [`LogSet::text`], and
/// [`LogSet::view`] gives them all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRequest {
    /// When the response finished, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Bytes sent to the viewer (0 when not logged).
    pub bytes: u64,
    /// 1-based line in its file.
    pub line: u64,
    /// Index into [`LogSet::files`].
    pub file: u32,
    /// Index into [`LogSet::edges`].
    pub edge: u32,
    /// The viewer's `Host` header.
    pub host: Text,
    /// The URL path, decoded.
    pub path: Text,
    /// The query string without `?`, decoded.
    pub query: Text,
    /// The `Cookie` header, decoded.
    pub cookie: Text,
    /// The `User-Agent` header.
    pub user_agent: Text,
    /// The `Referer` header.
    pub referer: Text,
    /// The `Accept` header (real-time logs).
    pub accept: Text,
    /// The `Accept-Encoding` header (real-time logs).
    pub accept_encoding: Text,
    /// HTTP status (0 when not logged or `000`).
    pub status: u16,
    /// The request method.
    pub method: Method,
    /// How CloudFront answered.
    pub result: EdgeResult,
}

/// A request with its texts, for matching and cache keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestView<'a> {
    /// The request method.
    pub method: Method,
    /// The viewer's `Host` header.
    pub host: Option<&'a str>,
    /// The URL path, decoded.
    pub path: &'a str,
    /// The query string without `?`.
    pub query: Option<&'a str>,
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// The `Referer` header.
    pub referer: Option<&'a str>,
    /// The `Accept` header.
    pub accept: Option<&'a str>,
    /// The `Accept-Encoding` header.
    pub accept_encoding: Option<&'a str>,
}

impl<'a> RequestView<'a> {
    /// A GET of `path` with no headers.
    pub fn get(path: &'a str) -> Self {
        Self {
            method: Method::Get,
            host: None,
            path,
            query: None,
            cookie: None,
            user_agent: None,
            referer: None,
            accept: None,
            accept_encoding: None,
        }
    }
}

/// A set of log files: what was read from them, and (from [`read_logs`](super::read_logs))
/// every request, sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSet {
    /// The files read, in name order.
    pub files: Vec<PathBuf>,
    /// Edge location names (`x-edge-location`), in order of first appearance.
    pub edges: Vec<String>,
    /// The requests, sorted by time (stable); empty from
    /// [`LogStream::finish`](super::read::LogStream::finish), which handed them out one at a time.
    pub requests: Vec<LogRequest>,
    /// Requests read.
    pub request_count: u64,
    /// Time of the first request, ms since the Unix epoch.
    pub first_ms: i64,
    /// Time of the last request.
    pub last_ms: i64,
    /// Files of each kind: (standard, real-time).
    pub files_by_kind: (usize, usize),
    /// Comment and blank lines skipped.
    pub skipped_lines: u64,
    /// Requests whose `x-edge-result-type` was a value this version does not know.
    pub unknown_results: u64,
    /// Which optional fields some file carried.
    pub has: Present,
    pub(super) texts: Vec<Arc<str>>,
}

/// Which optional fields the logs carried (in at least one file).
#[allow(clippy::struct_excessive_bools)] // independent facts about the input, not a state
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Present {
    /// `x-edge-result-type` or `x-edge-detailed-result-type`.
    pub result: bool,
    /// The viewer's Host header.
    pub host: bool,
    /// A non-empty Cookie header in some record.
    pub cookies: bool,
    /// `User-Agent`.
    pub user_agent: bool,
    /// `Referer`.
    pub referer: bool,
    /// `cs-accept`.
    pub accept: bool,
    /// `cs-accept-encoding`.
    pub accept_encoding: bool,
}

impl LogSet {
    /// The text of an id; `None` for [`Text::NONE`].
    pub fn text(&self, id: Text) -> Option<&str> {
        (id != Text::NONE).then(|| &*self.texts[id.0 as usize])
    }

    /// A request with its texts.
    pub fn view(&self, r: &LogRequest) -> RequestView<'_> {
        RequestView {
            method: r.method,
            host: self.text(r.host),
            path: self.text(r.path).unwrap_or("/"),
            query: self.text(r.query),
            cookie: self.text(r.cookie),
            user_agent: self.text(r.user_agent),
            referer: self.text(r.referer),
            accept: self.text(r.accept),
            accept_encoding: self.text(r.accept_encoding),
        }
    }

    /// `FILE:LINE` of a request.
    pub fn location(&self, request: &LogRequest) -> String {
        format!("{}:{}", self.files[request.file as usize].display(), request.line)
    }

    /// Seconds from the first request to the last.
    pub fn span_s(&self) -> f64 {
        (self.last_ms - self.first_ms) as f64 / 1000.0
    }
}
