//! The SIGKILL harness the crash tests share: run a child program that prints `ready` once
//! it has opened its store and `ack LSN THREAD COUNTER` after each acknowledged write, kill
//! it after a delay, and return what it acknowledged.
//!
//! Only whole lines count: a line cut by the kill has no newline, so the child had not
//! finished saying it and the write is not counted as acknowledged.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A write the child acknowledged: (lsn, thread, counter).
pub type Ack = (u64, u64, u64);

/// What one child run left behind.
#[derive(Debug)]
pub struct ChildRun {
    /// Acknowledged writes, in the order the child printed them.
    pub acks: Vec<Ack>,
    /// True if it was killed before it said `ready` (while opening and recovering).
    pub killed_early: bool,
}

/// Runs `command`, kills it with SIGKILL after `delay` (counted from its `ready` line, or
/// from its start when `early`), and returns what it acknowledged. The `ready` line may
/// carry words after `ready`.
pub fn run_child(
    mut command: Command,
    early: bool,
    delay: Duration,
    ready_timeout: Duration,
) -> Result<ChildRun, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", command.get_program()))?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
            if line.ends_with('\n') && tx.send(line.trim_end().to_string()).is_err() {
                break;
            }
            line.clear();
        }
    });
    let is_ready = |line: &str| line == "ready" || line.starts_with("ready ");
    let mut ready = false;
    if !early {
        match rx.recv_timeout(ready_timeout) {
            Ok(line) if is_ready(&line) => ready = true,
            Ok(line) => return Err(format!("child's first line is {line:?}, expected `ready`")),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("child never became ready: {}", stderr_of(&mut child)));
            }
        }
    }
    std::thread::sleep(delay);
    child.kill().map_err(|e| format!("kill: {e}"))?;
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    if status.signal() != Some(9) {
        return Err(format!("child ended by itself ({status}) before the kill: {}", stderr_of(&mut child)));
    }
    let _ = reader.join();
    let mut acks = Vec::new();
    for line in rx.try_iter() {
        if is_ready(&line) {
            ready = true;
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let ack = match words[..] {
            ["ack", lsn, t, c] => (lsn.parse().ok(), t.parse().ok(), c.parse().ok()),
            _ => (None, None, None),
        };
        match ack {
            (Some(lsn), Some(t), Some(c)) => acks.push((lsn, t, c)),
            _ => return Err(format!("unexpected line from the child: {line:?}")),
        }
    }
    Ok(ChildRun { acks, killed_early: !ready })
}

fn stderr_of(child: &mut std::process::Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}
