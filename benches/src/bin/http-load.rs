//! `http-load`: durable single-vertex writes through a running server's HTTP API, the path
//! users touch, from N clients at once; and the two physical floors a one-client write
//! cannot beat, measured in the same run: one 4 KiB write + fdatasync, and one loopback TCP
//! round trip.
//!
//! ```text
//! http-load write --addr 127.0.0.1:2480 --db bench --user root --password P --clients 64 --seconds 20
//! http-load floors --dir /path/on/the/same/disk
//! ```
//!
//! Each client keeps one HTTP/1.1 connection and sends `POST /command/{db}/sql` with
//! `CREATE VERTEX V SET c = <client>, n = <i>` one after the other; a write counts once the
//! server answered 2xx (the server answers only when the write is durable and applied).
//! Prints one JSON object: ops/s, median and p99 latency in microseconds, errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads one HTTP response; returns its status.
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok(status)
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn write_load(args: &[String]) -> Result<(), String> {
    let addr = arg(args, "--addr").unwrap_or_else(|| "127.0.0.1:2480".into());
    let db = arg(args, "--db").unwrap_or_else(|| "bench".into());
    let user = arg(args, "--user").unwrap_or_else(|| "root".into());
    let password = arg(args, "--password").ok_or("--password is required")?;
    let clients: usize = arg(args, "--clients").and_then(|v| v.parse().ok()).unwrap_or(1);
    let seconds: f64 = arg(args, "--seconds").and_then(|v| v.parse().ok()).unwrap_or(10.0);
    let auth = base64(format!("{user}:{password}").as_bytes());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, db, auth) = (addr.clone(), db.clone(), auth.clone());
            std::thread::spawn(move || -> Result<(Vec<u64>, u64), String> {
                let stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let mut w = stream.try_clone().map_err(|e| e.to_string())?;
                let mut r = BufReader::new(stream);
                let (mut lat, mut errors, mut i) = (Vec::new(), 0u64, 0u64);
                while Instant::now() < deadline {
                    let sql = format!("CREATE VERTEX V SET c = {c}, n = {i}");
                    let req = format!(
                        "POST /command/{db}/sql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
                         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{sql}",
                        sql.len()
                    );
                    let t = Instant::now();
                    w.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
                    let status = read_response(&mut r).map_err(|e| e.to_string())?;
                    if (200..300).contains(&status) {
                        lat.push(t.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                    i += 1;
                }
                Ok((lat, errors))
            })
        })
        .collect();
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in threads {
        let (l, e) = t.join().map_err(|_| "a client thread panicked")??;
        lat.extend(l);
        errors += e;
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "{{\"clients\": {clients}, \"ops\": {}, \"seconds\": {wall:.2}, \"ops_per_s\": {:.0}, \"p50_us\": {}, \"p99_us\": {}, \"errors\": {errors}}}",
        lat.len(),
        lat.len() as f64 / wall,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    Ok(())
}

fn floors(args: &[String]) -> Result<(), String> {
    let dir = std::path::PathBuf::from(arg(args, "--dir").unwrap_or_else(|| ".".into()));
    let n = 2000;
    let path = dir.join(format!("http-load-fsync-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let block = [0x5au8; 4096];
    let mut fsync = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
        fsync.push(t.elapsed().as_micros() as u64);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let at = listener.local_addr().map_err(|e| e.to_string())?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 64];
        while s.read_exact(&mut b).is_ok() {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let mut s = TcpStream::connect(at).map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut rtt = Vec::with_capacity(20_000);
    let mut b = [7u8; 64];
    for _ in 0..20_000 {
        let t = Instant::now();
        s.write_all(&b).map_err(|e| e.to_string())?;
        s.read_exact(&mut b).map_err(|e| e.to_string())?;
        rtt.push(t.elapsed().as_micros() as u64);
    }
    drop(s);
    let _ = echo.join();
    fsync.sort_unstable();
    rtt.sort_unstable();
    println!(
        "{{\"fdatasync_4k_p50_us\": {}, \"tcp_rtt_p50_us\": {}, \"floor_p50_us\": {}}}",
        percentile(&fsync, 0.5),
        percentile(&rtt, 0.5),
        percentile(&fsync, 0.5) + percentile(&rtt, 0.5)
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("write") => write_load(&args),
        Some("floors") => floors(&args),
        _ => Err("usage: http-load write --addr HOST:PORT --db DB --user U --password P --clients N --seconds S\n       http-load floors --dir DIR".into()),
    };
    if let Err(e) = result {
        eprintln!("http-load: {e}");
        std::process::exit(2);
    }
}
