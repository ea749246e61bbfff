//! The console's errors and the exit codes they map to.
//!
//! Every failure a user can meet is a value here with a message saying what went wrong and,
//! where there is one, what to do. Printed as `Error: <message>`.

use std::fmt;

/// Something a statement could not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleError {
    /// The server answered with a non-2xx status.
    Http {
        /// The HTTP status.
        status: u16,
        /// The short reason from the error envelope (or the status text).
        reason: String,
        /// The longer explanation from the envelope, possibly empty.
        content: String,
        /// The `Retry-After` header, as sent, when there was one.
        retry_after: Option<String>,
    },
    /// No server could be reached: each server with why.
    Unreachable(Vec<(String, String)>),
    /// The connection broke after a write was sent: it may or may not have been applied.
    OutcomeUnknown {
        /// The server the write was sent to.
        server: String,
        /// What happened to the connection.
        cause: String,
    },
    /// A 2xx answer that is not the JSON the contract promises.
    BadAnswer {
        /// The server that answered.
        server: String,
        /// What was wrong with it.
        why: String,
    },
    /// A console command that cannot run as typed, or a local problem (a file, a setting).
    Usage(String),
}

impl ConsoleError {
    /// The exit code of a one-shot run that fails with this error: 2 when no server could be
    /// reached, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ConsoleError::Unreachable(_) => 2,
            _ => 1,
        }
    }
}

impl From<String> for ConsoleError {
    fn from(message: String) -> ConsoleError {
        ConsoleError::Usage(message)
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleError::Http { status, reason, content, retry_after } => {
                if content.is_empty() {
                    write!(f, "{reason} (HTTP {status})")?;
                } else {
                    write!(f, "{reason}: {content} (HTTP {status})")?;
                }
                if let Some(after) = retry_after {
                    write!(f, ". The server asks to retry after {after} s")?;
                }
                Ok(())
            }
            ConsoleError::Unreachable(attempts) => {
                write!(f, "no server could be reached:")?;
                for (server, why) in attempts {
                    write!(f, "\n  {server}: {why}")?;
                }
                Ok(())
            }
            ConsoleError::OutcomeUnknown { server, cause } => write!(
                f,
                "the connection to {server} broke after the command was sent ({cause}); it may or may not have \
                 been applied. It was not repeated on another server, so that it cannot be applied twice: \
                 check the data before running it again"
            ),
            ConsoleError::BadAnswer { server, why } => write!(f, "unexpected answer from {server}: {why}"),
            ConsoleError::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ConsoleError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn messages_and_exit_codes() {
        let http = ConsoleError::Http {
            status: 409,
            reason: "version conflict".into(),
            content: "record #9:0 changed; reload it".into(),
            retry_after: None,
        };
        assert_eq!(http.to_string(), "version conflict: record #9:0 changed; reload it (HTTP 409)");
        assert_eq!(http.exit_code(), 1);
        let busy = ConsoleError::Http {
            status: 503,
            reason: "quorum not reached".into(),
            content: String::new(),
            retry_after: Some("2".into()),
        };
        assert_eq!(busy.to_string(), "quorum not reached (HTTP 503). The server asks to retry after 2 s");
        let down = ConsoleError::Unreachable(vec![
            ("http://a:1".into(), "connection refused".into()),
            ("http://b:2".into(), "host not found".into()),
        ]);
        assert_eq!(
            down.to_string(),
            "no server could be reached:\n  http://a:1: connection refused\n  http://b:2: host not found"
        );
        assert_eq!(down.exit_code(), 2);
        let unknown = ConsoleError::OutcomeUnknown { server: "http://a:1".into(), cause: "connection reset".into() };
        assert!(unknown.to_string().contains("may or may not have been applied"));
        assert_eq!(unknown.exit_code(), 1);
    }
}
