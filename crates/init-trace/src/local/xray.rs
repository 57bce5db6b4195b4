//! An X-Ray daemon stand-in: a UDP listener on loopback that accepts segment and
//! subsegment documents in the daemon protocol (REFERENCE.md §3).
//!
//! Each datagram is a JSON header line, `{"format": "json", "version": 1}` (the Node SDK
//! sends it without spaces; both are accepted because the header is parsed as JSON, not
//! matched as text), a newline, then one document.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::clock::{monotonic_ns, ms_between};
use crate::sample::XrayDocument;

/// Largest document X-Ray accepts; a datagram buffer a little larger catches oversize ones.
const MAX_DATAGRAM_BYTES: usize = 64 * 1024 + 1024;

/// What one datagram contained.
#[derive(Debug, Clone, PartialEq)]
pub enum Datagram {
    /// A well-formed document.
    Document(Value),
    /// Something else; the message says what.
    Rejected(String),
}

/// Parses one daemon-protocol datagram.
pub fn parse_datagram(bytes: &[u8]) -> Datagram {
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        return Datagram::Rejected(
            "no header line (expected {\"format\":\"json\",\"version\":1} and a newline)".to_owned(),
        );
    };
    let header: Value = match serde_json::from_slice(&bytes[..newline]) {
        Ok(v) => v,
        Err(err) => return Datagram::Rejected(format!("header is not JSON: {err}")),
    };
    if header.get("format").and_then(Value::as_str) != Some("json")
        || header.get("version").and_then(Value::as_i64) != Some(1)
    {
        return Datagram::Rejected(format!("unsupported header {header}"));
    }
    match serde_json::from_slice::<Value>(&bytes[newline + 1..]) {
        Ok(doc) if doc.is_object() => Datagram::Document(doc),
        Ok(other) => Datagram::Rejected(format!("document is not an object: {other}")),
        Err(err) => Datagram::Rejected(format!("document is not JSON: {err}")),
    }
}

/// A running listener; documents accumulate until [`XrayListener::finish`].
#[derive(Debug)]
pub(crate) struct XrayListener {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<(Vec<XrayDocument>, Vec<String>)>,
}

impl XrayListener {
    pub(crate) async fn bind(origin_ns: Arc<std::sync::atomic::AtomicU64>) -> std::io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut documents = Vec::new();
            let mut rejected = Vec::new();
            let mut buffer = vec![0_u8; MAX_DATAGRAM_BYTES];
            let take = |bytes: &[u8], documents: &mut Vec<XrayDocument>, rejected: &mut Vec<String>| {
                let received_ms = ms_between(origin_ns.load(std::sync::atomic::Ordering::Relaxed), monotonic_ns());
                match parse_datagram(bytes) {
                    Datagram::Document(document) => documents.push(XrayDocument { received_ms, document }),
                    Datagram::Rejected(reason) => rejected.push(reason),
                }
            };
            loop {
                tokio::select! {
                    received = socket.recv_from(&mut buffer) => match received {
                        Ok((len, _)) => take(&buffer[..len], &mut documents, &mut rejected),
                        Err(_) => break,
                    },
                    _ = &mut stopped => {
                        // Whatever the process sent before it died is already queued on
                        // the socket: drain it without waiting.
                        while let Ok((len, _)) = socket.try_recv_from(&mut buffer) {
                            take(&buffer[..len], &mut documents, &mut rejected);
                        }
                        break;
                    }
                }
            }
            (documents, rejected)
        });
        Ok(Self { addr, stop, task })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and returns what arrived: documents, and reasons for rejections.
    pub(crate) async fn finish(self) -> (Vec<XrayDocument>, Vec<String>) {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_header_spellings() {
        let doc = br#"{"type":"subsegment","name":"imports","id":"70de5b6f19ff9a0a","trace_id":"1-5e34a614-1b0e55d8bd4f9b8c3d1a2b3c","parent_id":"53995c3f42cd8ad8","start_time":1.0,"end_time":2.0}"#;
        for header in [
            &b"{\"format\": \"json\", \"version\": 1}"[..],
            &b"{\"format\":\"json\",\"version\":1}"[..],
        ] {
            let mut datagram = header.to_vec();
            datagram.push(b'\n');
            datagram.extend_from_slice(doc);
            match parse_datagram(&datagram) {
                Datagram::Document(v) => assert_eq!(v["name"], "imports"),
                Datagram::Rejected(r) => panic!("rejected: {r}"),
            }
        }
    }

    #[test]
    fn rejects_what_is_not_the_protocol() {
        assert!(matches!(parse_datagram(b"{\"name\":\"x\"}"), Datagram::Rejected(_)));
        assert!(matches!(
            parse_datagram(b"{\"format\":\"xml\",\"version\":1}\n{}"),
            Datagram::Rejected(_)
        ));
        assert!(matches!(
            parse_datagram(b"{\"format\":\"json\",\"version\":1}\n{not json"),
            Datagram::Rejected(_)
        ));
        assert!(matches!(
            parse_datagram(b"{\"format\":\"json\",\"version\":1}\n[1]"),
            Datagram::Rejected(_)
        ));
    }
}
