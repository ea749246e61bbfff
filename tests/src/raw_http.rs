//! Raw HTTP/1.1 over plain sockets, for tests that act as many clients at once: sockets bound
//! to a chosen loopback address before they connect (127.0.0.0/8 is all loopback on Linux,
//! so each simulated client can have an address of its own and the server's per-address
//! caps and throttles see them apart), requests written byte for byte (partial headers,
//! unterminated chunked bodies), and answers read with a deadline, so a hang shows as an
//! error instead of a stuck test.
//!
//! Also: the open-file limit of this process, raised to what a test needs with `prlimit`
//! (the workspace denies `unsafe`, so no `setrlimit` call here).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::server::Reply;

/// Largest answer head read.
const HEAD_MAX: usize = 64 << 10;
/// Largest answer body read.
const BODY_MAX: usize = 16 << 20;

/// The `n`th client address: 127.100.0.1, 127.100.0.2, ... (250 to a /24, never .0 or
/// .255), all distinct from 127.0.0.1 where the harness's own clients come from.
pub fn client_address(n: u32) -> IpAddr {
    assert!(n < 250 * 256, "client address {n} is out of range");
    IpAddr::V4(Ipv4Addr::new(127, 100, (n / 250) as u8, (n % 250 + 1) as u8))
}

/// Connects to `dst` from `src` (port chosen by the kernel) within `timeout`; reads and
/// writes time out after `io_timeout`.
pub fn connect_from(
    src: IpAddr,
    dst: SocketAddr,
    timeout: Duration,
    io_timeout: Duration,
) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(dst), Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(src, 0).into())?;
    socket.connect_timeout(&dst.into(), timeout)?;
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(io_timeout))?;
    stream.set_write_timeout(Some(io_timeout))?;
    Ok(stream)
}

/// The `Authorization` header value for HTTP Basic.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", basalt_engine::json::base64_encode(format!("{user}:{password}").as_bytes()))
}

/// A request's head (request line, `Host`, the given headers, and `Content-Length` when
/// there is a body), ending with the blank line.
pub fn request_head(method: &str, path: &str, headers: &[(&str, &str)], body_len: Option<usize>) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: basalt-test\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = body_len {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Sends one request on `stream` and reads its answer (keep-alive: the stream stays usable
/// unless the answer says `connection: close`).
pub fn exchange(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let head = request_head(method, path, headers, (!body.is_empty() || method != "GET").then_some(body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_reply(stream)
}

fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

/// Reads one HTTP/1.1 answer (body by `Content-Length`, chunked, or up to the close).
/// `UnexpectedEof` if the server closed before a whole answer; the read timeout's error if
/// it took too long.
pub fn read_reply(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > HEAD_MAX {
            return Err(invalid("the answer's head is too long".into()));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before an answer"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| invalid(format!("bad content-length {len:?}")))?;
        if len > BODY_MAX {
            return Err(invalid(format!("a {len}-byte body is more than this client reads")));
        }
        while rest.len() < len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed inside the body"));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(stream, rest)?
    } else {
        stream.read_to_end(&mut rest)?;
        rest
    };
    Ok(Reply { status, headers, body })
}

/// Decodes a chunked body whose first bytes are `rest`.
fn read_chunked(stream: &mut TcpStream, mut rest: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Enough bytes for the size line, the chunk and its CRLF?
        if let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                return Ok(body);
            }
            if body.len() + size > BODY_MAX {
                return Err(invalid("the chunked body is more than this client reads".into()));
            }
            if rest.len() >= eol + 2 + size + 2 {
                body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
                rest.drain(..eol + 2 + size + 2);
                continue;
            }
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed inside a chunked body"));
        }
        rest.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the server has closed `stream` (EOF or reset), looking without blocking. Bytes
/// the server sent are read and dropped.
pub fn peer_closed(stream: &TcpStream) -> bool {
    let mut reader = stream;
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut sink = [0u8; 1024];
    let closed = loop {
        match reader.read(&mut sink) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break true,
        }
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// The soft and hard open-file limits of process `pid` (from `/proc/PID/limits`; `u64::MAX`
/// for unlimited).
pub fn open_files_limits(pid: u32) -> (u64, u64) {
    let path = format!("/proc/{pid}/limits");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("{path} has no 'Max open files' line"));
    let mut values = line.trim_start_matches("Max open files").split_whitespace().map(|v| {
        if v == "unlimited" {
            u64::MAX
        } else {
            v.parse().unwrap_or_else(|_| panic!("{path}: bad limit {v:?}"))
        }
    });
    let soft = values.next().unwrap_or_else(|| panic!("{path}: no soft limit"));
    let hard = values.next().unwrap_or_else(|| panic!("{path}: no hard limit"));
    (soft, hard)
}

/// Raises this process's soft open-file limit to `want` (at most the hard limit) with
/// `prlimit`, so the servers it starts inherit it too; returns the soft limit in force.
pub fn raise_open_files_limit(want: u64) -> u64 {
    let me = std::process::id();
    let (soft, hard) = open_files_limits(me);
    if soft >= want {
        return soft;
    }
    let target = want.min(hard);
    let hard_text = if hard == u64::MAX { "unlimited".to_string() } else { hard.to_string() };
    let _ = Command::new("prlimit").arg(format!("--pid={me}")).arg(format!("--nofile={target}:{hard_text}")).status();
    open_files_limits(me).0
}
