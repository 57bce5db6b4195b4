//! Attaching the UI to a running `coldfront serve`: a task polls its
//! `GET /coldfront/v1/invocations?after=N` and hands what is new to the UI as
//! [`Message::Served`]; the UI folds it into its histograms like its own cold starts.

use std::time::Duration;

use lambda_api::InvocationSummary;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use super::app::Message;

/// How often serve is asked for new invocations.
const POLL_PERIOD: Duration = Duration::from_millis(250);

/// `host:port` of an `http://host:port` URL; anything else is refused with the reason.
pub(crate) fn address_of(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--attach {url}: give serve's address as http://HOST:PORT (https is not served)"))?;
    let address = rest.trim_end_matches('/');
    if address.is_empty() || address.contains('/') || !address.contains(':') {
        return Err(format!("--attach {url}: give serve's address as http://HOST:PORT"));
    }
    Ok(address.to_owned())
}

#[derive(serde::Deserialize)]
struct Page {
    invocations: Vec<InvocationSummary>,
    next: u64,
}

async fn fetch(address: &str, after: Option<u64>) -> Result<Page, String> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot reach coldfront serve at {address}: {e}"))?;
    let query = after.map_or_else(String::new, |n| format!("?after={n}"));
    let request =
        format!("GET /coldfront/v1/invocations{query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("a response without headers")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{address} answered {}: is it coldfront serve?",
            head.lines().next().unwrap_or("")
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("{address} sent an unexpected body: {e}"))
}

/// Polls `address` until the UI's channel closes.
pub(crate) fn spawn_poller(address: String, tx: mpsc::UnboundedSender<Message>) {
    tokio::spawn(async move {
        // Everything serve still remembers, then what is new.
        let mut after: Option<u64> = None;
        let mut failing = false;
        loop {
            match fetch(&address, after).await {
                Ok(page) => {
                    if failing {
                        failing = false;
                        let _ = tx.send(Message::Status(format!("Attached to http://{address} again")));
                    }
                    if !page.invocations.is_empty() && tx.send(Message::Served(page.invocations)).is_err() {
                        return;
                    }
                    // `after` is exclusive: the last sequence number seen.
                    after = page.next.checked_sub(1);
                }
                Err(why) => {
                    if !failing && tx.send(Message::Status(why)).is_err() {
                        return;
                    }
                    failing = true;
                }
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(POLL_PERIOD).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::super::app::Message;

    /// A real `serve` (in-process) with one invocation of the bundled control: the poller
    /// hands it to the UI as a cold invocation with its Init Duration.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_poller_brings_serves_invocations() {
        let store = tempfile::tempdir().unwrap();
        let emulator = Arc::new(init_trace::local::LocalEmulator::new(
            init_trace::local::EmulatorOptions {
                throttle: false,
                ..init_trace::local::EmulatorOptions::default()
            },
        ));
        let (samples, _keep) = tokio::sync::mpsc::unbounded_channel();
        let pool = lambda_api::Pool::new(emulator, Duration::from_secs(300), samples);
        let options = lambda_api::ServeOptions {
            update_delay: Duration::ZERO,
            concurrency: 2,
            ..lambda_api::ServeOptions::new(store.path().to_owned())
        };
        let server = lambda_api::Server::new(options, &init_trace::spec::SpecSet::bundled().unwrap(), pool);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, server.router()).await });

        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "POST /2015-03-31/functions/control/invocations HTTP/1.1\r\nHost: {address}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        super::spawn_poller(address, tx);
        let message = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let Message::Served(invocations) = message else {
            panic!("expected invocations, got {message:?}");
        };
        assert_eq!(invocations.len(), 1);
        assert!(invocations[0].cold && invocations[0].init_ms.is_some());
        assert_eq!(invocations[0].function, "control");
    }

    #[test]
    fn only_http_host_port_is_taken() {
        assert_eq!(super::address_of("http://127.0.0.1:9001/").unwrap(), "127.0.0.1:9001");
        assert!(
            super::address_of("https://x:1")
                .unwrap_err()
                .contains("http://HOST:PORT")
        );
        assert!(super::address_of("http://x").is_err());
        assert!(super::address_of("http://x:1/path").is_err());
    }
}
