//! Dropped connections, injected in front of the replay server: a loopback HTTP/1.1 relay that reads each
//! request whole and either passes it on (and the answer back) or closes the client's connection without
//! answering, as a network or load balancer fault would. wiremock answers every request it is given, so
//! the cut has to happen before it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::faults::Faults;

/// Larger messages than this are not expected from the SDK or the replay server; the relay gives up.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A running relay. Dropping it stops accepting connections.
pub struct DropProxy {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    dropped: Arc<AtomicU32>,
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct Shared {
    upstream: SocketAddr,
    faults: Faults,
    /// Each request's attempts so far, so the draw depends on the request and attempt, not on timing.
    seen: Mutex<HashMap<String, u32>>,
    dropped: Arc<AtomicU32>,
}

impl DropProxy {
    /// Relay `listener`'s connections to `upstream`, dropping a third of the fault rate's requests.
    pub fn start(
        listener: TcpListener,
        upstream: SocketAddr,
        faults: Faults,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let dropped = Arc::new(AtomicU32::new(0));
        let shared = Arc::new(Shared {
            upstream,
            faults,
            seen: Mutex::new(HashMap::new()),
            dropped: Arc::clone(&dropped),
        });
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    // A connection that fails ends; the client sees it closed and retries.
                    let _ = relay(client, &shared).await;
                });
            }
        });
        Ok(DropProxy {
            addr,
            accept,
            dropped,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests whose connection was dropped so far.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn relay(mut client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut upstream: Option<TcpStream> = None;
    let mut pending = Vec::new();
    loop {
        let Some(request) = read_message(&mut client, &mut pending).await? else {
            return Ok(());
        };
        let key = request_key(&request);
        let attempt = {
            let mut seen = shared.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        if shared.faults.draw(&key, attempt, 2) < shared.faults.drop_rate() {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let server = match &mut upstream {
            Some(server) => server,
            None => upstream.insert(TcpStream::connect(shared.upstream).await?),
        };
        server.write_all(&request).await?;
        let mut rest = Vec::new();
        let Some(response) = read_message(server, &mut rest).await? else {
            return Ok(());
        };
        client.write_all(&response).await?;
    }
}

/// What identifies a request across attempts: its request line, `x-amz-target` and body (the signature
/// and date headers change with every attempt).
fn request_key(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let target = lines
        .find(|l| l.to_ascii_lowercase().starts_with("x-amz-target:"))
        .unwrap_or_default();
    format!("{request_line}\n{target}\n{body}")
}

/// One HTTP/1.1 message (head and `Content-Length` or chunked body) from `stream`, starting with what
/// `pending` holds from an earlier read; `None` when the peer closed before a new message began.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buffer = std::mem::take(pending);
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at + 4;
        }
        if !fill(stream, &mut buffer).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let end = if let Some(length) = header("content-length:") {
        let length: usize = length
            .parse()
            .map_err(|_| std::io::Error::other("bad content-length"))?;
        head_end + length
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        loop {
            if let Some(at) = find(&buffer[head_end..], b"0\r\n\r\n") {
                break head_end + at + 5;
            }
            if !fill(stream, &mut buffer).await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    } else {
        head_end
    };
    if end > MAX_MESSAGE {
        return Err(std::io::Error::other("message too large"));
    }
    while buffer.len() < end {
        if !fill(stream, &mut buffer).await? {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    *pending = buffer.split_off(end);
    Ok(Some(buffer))
}

/// Read more into `buffer`; false at end of stream.
async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_are_read_whole_and_one_at_a_time() {
        let bytes: &[u8] =
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.1\r\n\r\n";
        let mut stream = bytes;
        let mut pending = Vec::new();
        let first = read_message(&mut stream, &mut pending).await.expect("read");
        assert_eq!(
            first.as_deref(),
            Some(&b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"[..])
        );
        let second = read_message(&mut stream, &mut pending).await.expect("read");
        assert_eq!(second.as_deref(), Some(&b"GET /x HTTP/1.1\r\n\r\n"[..]));
        assert_eq!(
            read_message(&mut stream, &mut pending).await.expect("eof"),
            None
        );
    }

    #[test]
    fn the_key_ignores_signature_and_date() {
        let a = b"POST / HTTP/1.1\r\nauthorization: sig-1\r\nx-amz-date: 1\r\n\r\nAction=X";
        let b = b"POST / HTTP/1.1\r\nauthorization: sig-2\r\nx-amz-date: 2\r\n\r\nAction=X";
        assert_eq!(request_key(a), request_key(b));
    }
}
