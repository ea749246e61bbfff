//! What the server does differently under systemd: the `sd_notify` protocol (the unit is
//! `Type=notify`), and knowing that standard output goes to the journal.
//!
//! `sd_notify` is one datagram of `KEY=VALUE` lines sent to the unix socket named by
//! `$NOTIFY_SOCKET`: a path, or an abstract name written with a leading `@`. The server sends
//! `STATUS=` while it recovers, `READY=1` once every database is open and HTTP listens, and
//! `STOPPING=1` when a stop begins. Without `$NOTIFY_SOCKET` nothing is sent. A failed send is
//! logged once and never stops the server.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use tracing::warn;

/// The environment variable naming systemd's notification socket.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (newline-separated `KEY=VALUE` pairs) to `$NOTIFY_SOCKET`. Returns true if
/// it was sent, false if there is no socket or the send failed (logged).
pub fn notify(state: &str) -> bool {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET).filter(|s| !s.is_empty()) else {
        return false;
    };
    match send(&socket, state) {
        Ok(()) => true,
        Err(e) => {
            warn!(socket = %socket.to_string_lossy(), error = %e, "cannot notify systemd");
            false
        }
    }
}

fn send(socket: &OsString, state: &str) -> std::io::Result<()> {
    let addr = notify_addr(socket)?;
    let sock = UnixDatagram::unbound()?;
    let sent = sock.send_to_addr(state.as_bytes(), &addr)?;
    if sent != state.len() {
        return Err(std::io::Error::other(format!("sent {sent} of {} bytes", state.len())));
    }
    Ok(())
}

/// The socket address `$NOTIFY_SOCKET` names: `@name` is abstract, anything else a path.
fn notify_addr(socket: &OsString) -> std::io::Result<SocketAddr> {
    let bytes = socket.as_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)
        }
        None if bytes.starts_with(b"/") => SocketAddr::from_pathname(std::path::Path::new(socket)),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "only unix socket paths and @abstract names are supported",
        )),
    }
}

/// True when systemd runs the server and its standard output goes to the journal, so a
/// secret printed there would be kept in the journal: `$NOTIFY_SOCKET` is set (a
/// `Type=notify` service), or `$INVOCATION_ID` is set and `$JOURNAL_STREAM` names the device
/// and inode of stdout or stderr. (`$INVOCATION_ID` alone is not enough: a terminal started by
/// a systemd user service, as desktop terminals are, hands it to every shell.)
pub fn output_goes_to_journal() -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let fds = [stream_id("/proc/self/fd/1"), stream_id("/proc/self/fd/2")];
    journal_decision(
        var(NOTIFY_SOCKET).as_deref(),
        var("INVOCATION_ID").as_deref(),
        var("JOURNAL_STREAM").as_deref(),
        &fds,
    )
}

/// `device:inode` of what a file descriptor points at, as `$JOURNAL_STREAM` writes it.
fn stream_id(fd: &str) -> Option<String> {
    let m = std::fs::metadata(fd).ok()?;
    Some(format!("{}:{}", m.dev(), m.ino()))
}

/// The decision of [`output_goes_to_journal`], from its inputs.
fn journal_decision(
    notify_socket: Option<&str>,
    invocation_id: Option<&str>,
    journal_stream: Option<&str>,
    fds: &[Option<String>],
) -> bool {
    if notify_socket.is_some() {
        return true;
    }
    match (invocation_id, journal_stream) {
        (Some(_), Some(js)) => fds.iter().flatten().any(|id| id == js),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_journal_is_detected_only_when_output_goes_there() {
        let fds = [Some("10:20".to_string()), Some("10:21".to_string())];
        assert!(journal_decision(Some("/run/systemd/notify"), None, None, &fds));
        assert!(journal_decision(None, Some("abc"), Some("10:21"), &fds));
        assert!(!journal_decision(None, Some("abc"), Some("10:99"), &fds), "a terminal inherited the variables");
        assert!(!journal_decision(None, Some("abc"), None, &fds));
        assert!(!journal_decision(None, None, Some("10:20"), &fds));
    }

    #[test]
    fn notifications_reach_path_and_abstract_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        send(&path.clone().into_os_string(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("basalt-notify-test-{}", std::process::id());
        let abs = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        abs.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        send(&OsString::from(format!("@{name}")), "STOPPING=1").unwrap();
        let n = abs.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");

        assert!(send(&OsString::from("vsock:2:1"), "READY=1").is_err());
    }
}
