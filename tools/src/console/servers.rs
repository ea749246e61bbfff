//! Server addresses and server lists as users type them.
//!
//! Accepted forms, alone or as a list separated by `,` (or `;`, as in OrientDB's
//! `remote:host1;host2/db`):
//! - `http://host:2480/db`, `https://host:2480/db`
//! - `remote:host:2480/db` (OrientDB's console spelling; means plain HTTP here)
//! - `host:2480`, `host`, `[::1]:2480`, `host/db`
//!
//! The port defaults to 2480. An entry without a scheme takes the scheme of the entry before it,
//! so `https://a:2480,b:2480` is two https servers. The database may be named on any entry; two
//! entries naming different databases is an error. Duplicate servers are dropped, order is kept.

use std::fmt;

/// The HTTP port a Basalt server listens on unless told otherwise.
pub const DEFAULT_HTTP_PORT: u16 = 2480;

/// Plain HTTP or HTTP over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

/// One server: where to send HTTP requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// http or https.
    pub scheme: Scheme,
    /// Host name or IP address; IPv6 addresses without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Server {
    /// `scheme://host:port`, the prefix of every request URL for this server.
    pub fn base_url(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A parsed server list: the servers in order, and the database if one was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The servers, first to try first; never empty.
    pub servers: Vec<Server>,
    /// The database named in the address, if any.
    pub database: Option<String>,
}

/// Parses one address or a `,`/`;`-separated list of them (see the module doc for the forms).
pub fn parse_target(text: &str) -> Result<Target, String> {
    let mut servers: Vec<Server> = Vec::new();
    let mut database: Option<String> = None;
    let mut scheme = Scheme::Http;
    for entry in text.split([',', ';']).map(str::trim).filter(|e| !e.is_empty()) {
        let (server, db) = parse_entry(entry, scheme)?;
        scheme = server.scheme;
        if let Some(db) = db {
            match &database {
                Some(existing) if *existing != db => {
                    return Err(format!("the server list names two databases: '{existing}' and '{db}'"));
                }
                _ => database = Some(db),
            }
        }
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    if servers.is_empty() {
        return Err(format!("no server address in '{text}' (expected e.g. http://host:2480/db or host:2480)"));
    }
    Ok(Target { servers, database })
}

/// Parses one entry; `inherited` is the scheme used when the entry names none.
fn parse_entry(entry: &str, inherited: Scheme) -> Result<(Server, Option<String>), String> {
    let lower = entry.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("http://") {
        (Scheme::Http, &entry["http://".len()..])
    } else if lower.starts_with("https://") {
        (Scheme::Https, &entry["https://".len()..])
    } else if lower.starts_with("remote:") {
        (Scheme::Http, &entry["remote:".len()..])
    } else if lower.contains("://") {
        return Err(format!("unsupported scheme in '{entry}' (use http://, https:// or remote:)"));
    } else {
        (inherited, entry)
    };
    if rest.contains(char::is_whitespace) {
        return Err(format!("'{entry}' contains a space"));
    }
    if rest.contains('@') {
        return Err(format!("'{entry}': credentials in the address are not supported; use --user and --password"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (host, port) = parse_authority(authority).map_err(|why| format!("'{entry}': {why}"))?;
    let path = path.trim_end_matches('/');
    let database = if path.is_empty() {
        None
    } else if path.contains('/') {
        return Err(format!("'{entry}': expected at most one path segment (the database name), got '{path}'"));
    } else {
        Some(path.to_owned())
    };
    Ok((Server { scheme, host, port }, database))
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`.
fn parse_authority(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("an IPv6 address opened with '[' is not closed")?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected '{after}' after the IPv6 address")),
        };
        (&rest[..end], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("an IPv6 address needs brackets, as in [::1]:2480".to_owned());
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host name".to_owned());
    }
    let port = match port {
        None => DEFAULT_HTTP_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => return Err(format!("'{p}' is not a port number (1-65535)")),
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn http(host: &str, port: u16) -> Server {
        Server { scheme: Scheme::Http, host: host.into(), port }
    }

    #[test]
    fn single_forms() {
        let t = parse_target("http://db1.example:2480/demo").unwrap();
        assert_eq!(t, Target { servers: vec![http("db1.example", 2480)], database: Some("demo".into()) });
        assert_eq!(parse_target("localhost:2481").unwrap().servers, vec![http("localhost", 2481)]);
        assert_eq!(parse_target("localhost").unwrap().servers, vec![http("localhost", 2480)]);
        let t = parse_target("remote:10.0.0.5/graph/").unwrap();
        assert_eq!((t.servers, t.database), (vec![http("10.0.0.5", 2480)], Some("graph".into())));
        let t = parse_target("HTTPS://Secure:443").unwrap();
        assert_eq!(t.servers[0].scheme, Scheme::Https);
        assert_eq!(t.servers[0].base_url(), "https://Secure:443");
        assert_eq!(t.database, None);
    }

    #[test]
    fn lists_inherit_scheme_share_database_and_drop_duplicates() {
        let t = parse_target("https://a:1/db, b:2 ,http://c;a:1,").unwrap();
        let urls: Vec<String> = t.servers.iter().map(Server::base_url).collect();
        assert_eq!(urls, ["https://a:1", "https://b:2", "http://c:2480", "http://a:1"]);
        assert_eq!(t.database.as_deref(), Some("db"));
        let t = parse_target("remote:h1:2480;h2:2481/demo").unwrap();
        assert_eq!(t.servers, vec![http("h1", 2480), http("h2", 2481)]);
        assert_eq!(t.database.as_deref(), Some("demo"));
        assert_eq!(parse_target("a/x,b/x").unwrap().database.as_deref(), Some("x"));
    }

    #[test]
    fn ipv6() {
        let t = parse_target("http://[::1]:2490/db,[fe80::2]").unwrap();
        assert_eq!(t.servers[0].host, "::1");
        assert_eq!(t.servers[0].base_url(), "http://[::1]:2490");
        assert_eq!(t.servers[1].port, 2480);
        assert!(parse_target("::1:2480").unwrap_err().contains("brackets"));
        assert!(parse_target("[::1").unwrap_err().contains("not closed"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse_target("").unwrap_err().contains("no server address"));
        assert!(parse_target(" , ").unwrap_err().contains("no server address"));
        assert!(parse_target("host:http").unwrap_err().contains("not a port"));
        assert!(parse_target("host:0").unwrap_err().contains("not a port"));
        assert!(parse_target("host:70000").unwrap_err().contains("not a port"));
        assert!(parse_target("ftp://host").unwrap_err().contains("unsupported scheme"));
        assert!(parse_target("http://u:p@host").unwrap_err().contains("--user"));
        assert!(parse_target("a/x,b/y").unwrap_err().contains("two databases"));
        assert!(parse_target("a/x/y").unwrap_err().contains("one path segment"));
        assert!(parse_target(":2480").unwrap_err().contains("no host"));
    }
}
