//! An X-Ray daemon stand-in: a UDP listener on loopback that accepts segment and
//! subsegment documents in the daemon protocol (docs/sources.md, "X-Ray").
//!
//! Each datagram is a JSON header line, `{"format": "json", "version": 1}` (the Node SDK
//! sends it without spaces; both are accepted because the header is parsed as JSON, not
//! matched as text), a newline, then one document.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::clock::{WallAnchor, monotonic_ns, ms_between};
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

/// What the listener has received so far, and the buffer it receives into.
#[derive(Debug)]
struct Received {
    documents: Vec<XrayDocument>,
    rejected: Vec<String>,
    buffer: Vec<u8>,
    origin_ns: Arc<std::sync::atomic::AtomicU64>,
    /// Puts the kernel's arrival stamps (wall-clock) on the monotonic timeline.
    anchor: WallAnchor,
}

impl Received {
    /// Takes every datagram `receive` yields until it would block; false once the socket
    /// has failed.
    fn drain(&mut self, mut receive: impl FnMut(&mut [u8]) -> std::io::Result<(usize, Option<i128>)>) -> bool {
        loop {
            match receive(&mut self.buffer) {
                Ok((len, arrived_realtime_ns)) => {
                    // When the kernel queued it, not when this listener got to run.
                    let arrived_ns =
                        arrived_realtime_ns.map_or_else(monotonic_ns, |epoch_ns| self.anchor.monotonic_at(epoch_ns));
                    let received_ms = ms_between(self.origin_ns.load(std::sync::atomic::Ordering::Relaxed), arrived_ns);
                    match parse_datagram(&self.buffer[..len]) {
                        Datagram::Document(document) => self.documents.push(XrayDocument { received_ms, document }),
                        Datagram::Rejected(reason) => self.rejected.push(reason),
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

/// One datagram from `fd` without blocking, and its kernel arrival stamp (realtime ns)
/// when `SO_TIMESTAMPNS` is on.
fn receive_stamped(fd: std::os::fd::RawFd, buffer: &mut [u8]) -> std::io::Result<(usize, Option<i128>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut iov = [std::io::IoSliceMut::new(buffer)];
    let mut control = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let message = recvmsg::<()>(fd, &mut iov, Some(&mut control), MsgFlags::MSG_DONTWAIT)?;
    let stamp = message.cmsgs()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(ts) => {
            Some(i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec()))
        }
        _ => None,
    });
    Ok((message.bytes, stamp))
}

/// Keeps the kernel stamping arrivals for as long as this process lives. The kernel stamps
/// packets only while some socket asks for it, and turning that on takes effect later, from
/// a work queue (which a busy machine can hold up for milliseconds): until then a datagram
/// is stamped when read. So the first call waits, at most 200 ms, until a datagram the
/// socket sends itself carries a stamp from before it was read; later listeners then get
/// arrival stamps from their first datagram.
fn keep_arrival_stamps_on() {
    static KEEPER: std::sync::OnceLock<Option<std::net::UdpSocket>> = std::sync::OnceLock::new();
    KEEPER.get_or_init(|| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimestampns, &true).ok()?;
        // From here on the socket is kept whatever happens: it holds the stamps on.
        let Ok(own) = socket.local_addr() else {
            return Some(socket);
        };
        let mut buffer = [0_u8; 8];
        let realtime_ns = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128)
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        while std::time::Instant::now() < deadline {
            if socket.send_to(b"stamp?", own).is_err() {
                break;
            }
            let sent_ns = realtime_ns();
            std::thread::sleep(std::time::Duration::from_millis(1));
            // Everything queued is read (one may still be in the kernel's hands, busy as it
            // is): a datagram stamped before this send was stamped on arrival.
            loop {
                match receive_stamped(socket.as_raw_fd(), &mut buffer) {
                    Ok((_, Some(stamp_ns))) if stamp_ns <= sent_ns => return Some(socket),
                    Ok(_) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return Some(socket),
                }
            }
        }
        Some(socket)
    });
}

/// A running listener; documents accumulate until [`XrayListener::finish`].
#[derive(Debug)]
pub(crate) struct XrayListener {
    addr: SocketAddr,
    /// The same socket as the task's, read directly: tokio's `try_recv_from` answers
    /// "would block" from its cached readiness until its reactor has seen the datagrams.
    direct: std::net::UdpSocket,
    received: Arc<Mutex<Received>>,
    task: JoinHandle<()>,
}

impl XrayListener {
    /// Binds an ephemeral port on 127.0.0.1 and starts receiving; needs a tokio runtime.
    /// `socket` is one bound in the sandbox's network namespace; without it, an ephemeral
    /// port of the host's 127.0.0.1 is bound.
    pub(crate) fn bind(
        origin_ns: Arc<std::sync::atomic::AtomicU64>,
        socket: Option<std::net::UdpSocket>,
    ) -> std::io::Result<Self> {
        let direct = match socket {
            Some(socket) => socket,
            None => std::net::UdpSocket::bind("127.0.0.1:0")?,
        };
        direct.set_nonblocking(true)?;
        // Arrival stamps make `received_ms` independent of when this listener runs. Where
        // they are not available, the time of reading is used.
        keep_arrival_stamps_on();
        let _ = nix::sys::socket::setsockopt(&direct, nix::sys::socket::sockopt::ReceiveTimestampns, &true);
        let socket = UdpSocket::from_std(direct.try_clone()?)?;
        let addr = socket.local_addr()?;
        let received = Arc::new(Mutex::new(Received {
            documents: Vec::new(),
            rejected: Vec::new(),
            buffer: vec![0_u8; MAX_DATAGRAM_BYTES],
            origin_ns,
            anchor: WallAnchor::now(),
        }));
        let task_received = received.clone();
        let task = tokio::spawn(async move {
            // Datagrams are taken off the socket only under the lock, so `finish` never
            // misses one that was received but not yet kept.
            while socket.readable().await.is_ok() {
                let receive = |buffer: &mut [u8]| {
                    socket.try_io(tokio::io::Interest::READABLE, || {
                        receive_stamped(socket.as_raw_fd(), buffer)
                    })
                };
                if !task_received.lock().expect("x-ray lock").drain(receive) {
                    break;
                }
            }
        });
        Ok(Self {
            addr,
            direct,
            received,
            task,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The documents received so far, for a caller that serves them while the sandbox
    /// lives on (`finish` still returns them all).
    pub(crate) fn received_so_far(&self) -> Vec<XrayDocument> {
        let mut received = self.received.lock().expect("x-ray lock");
        received.drain(|buffer| receive_stamped(self.direct.as_raw_fd(), buffer));
        received.documents.clone()
    }

    /// Stops listening and returns the documents received and the reasons for rejected
    /// datagrams. Called once the sandbox's processes are gone, so whatever they sent is
    /// on the socket by now; it is drained here rather than by waking the listener task.
    pub(crate) fn finish(self) -> (Vec<XrayDocument>, Vec<String>) {
        self.task.abort();
        let mut received = self.received.lock().expect("x-ray lock");
        received.drain(|buffer| receive_stamped(self.direct.as_raw_fd(), buffer));
        (
            std::mem::take(&mut received.documents),
            std::mem::take(&mut received.rejected),
        )
    }
}

impl Drop for XrayListener {
    fn drop(&mut self) {
        // An unused (or finished) listener's task would otherwise wait on its socket forever.
        self.task.abort();
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finish_keeps_every_datagram_sent_before_it() {
        let listener = XrayListener::bind(Arc::default(), None).expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
        let document = br#"{"format":"json","version":1}
{"name":"block","id":"70de5b6f19ff9a0a","start_time":1.0,"end_time":2.0}"#;
        for round in 0..50 {
            let datagram: &[u8] = if round % 10 == 9 { b"not the protocol" } else { document };
            sender.send_to(datagram, listener.addr()).expect("send");
            if round % 7 == 0 {
                // Let the listener task take some, so both it and `finish` do their part.
                tokio::task::yield_now().await;
            }
        }
        let (documents, rejected) = listener.finish();
        assert_eq!((documents.len(), rejected.len()), (45, 5));
    }

    // One thread, blocked by the sleep: the listener task cannot run, `finish` reads it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_document_is_timed_when_it_arrived_not_when_it_was_read() {
        let origin_ns = monotonic_ns();
        let listener = XrayListener::bind(Arc::new(std::sync::atomic::AtomicU64::new(origin_ns)), None).expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
        let before_ms = ms_between(origin_ns, monotonic_ns());
        sender
            .send_to(
                b"{\"format\":\"json\",\"version\":1}\n{\"name\":\"late\"}",
                listener.addr(),
            )
            .expect("send");
        // On loopback the datagram is queued before `send_to` returns.
        let sent_ms = ms_between(origin_ns, monotonic_ns());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (documents, _) = listener.finish();
        assert_eq!(documents.len(), 1);
        // Bounds relative to the send, so a slow start cannot fail this; the time of reading
        // would be 50 ms later. The slack covers the wall-to-monotonic anchor, whose two
        // clock reads a busy machine can pull apart.
        let received_ms = documents[0].received_ms;
        assert!(
            (before_ms - 20.0..=sent_ms + 20.0).contains(&received_ms),
            "received at {received_ms} ms, sent between {before_ms} and {sent_ms} ms"
        );
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
