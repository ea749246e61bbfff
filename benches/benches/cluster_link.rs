//! `cluster_link`: the cluster transport against plain TCP on loopback, measured in the same
//! run: the round trip of a 64-byte message over a QUIC link (mutual TLS, framed `Data`
//! on the control stream, echoed by the peer) beside a 64-byte TCP echo (`TCP_NODELAY`),
//! and the throughput of one bulk stream (16 MiB per iteration, `Link::open_bulk`, timed
//! until the receiver has every byte) beside one TCP stream carrying the same bytes (timed
//! until the receiver's one-byte acknowledgement). The target is a QUIC round trip within
//! 2x of the TCP one.
//!
//! Both ends run in this process on one tokio runtime: two workers by default, as the server
//! runs; `BASALT_BENCH_RUNTIME=current` runs everything on one thread, which removes the
//! cross-thread wake-ups between quinn's connection and endpoint driver tasks (the larger
//! part of a QUIC round trip on this 2-core machine). Run with
//! `cargo bench -p basalt-benches --bench cluster_link` (and again with the variable).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use basalt_net::{bind_udp, udp_socket, ClusterIdentity, EndpointOptions, Link, Message, NodeEndpoint};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// Size of the round-trip message.
const SMALL_BYTES: usize = 64;
/// Bytes per bulk iteration.
const BULK_BYTES: usize = 16 << 20;
/// Size of one bulk write.
const CHUNK_BYTES: usize = 256 << 10;

fn runtime() -> Runtime {
    match std::env::var("BASALT_BENCH_RUNTIME").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime"),
        _ => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime"),
    }
}

fn endpoint(name: &str) -> NodeEndpoint {
    let id = ClusterIdentity::derive("bench", b"benchmark cluster secret", name).expect("identity");
    let socket = udp_socket(bind_udp(IpAddr::V4(Ipv4Addr::LOCALHOST), 0).expect("bind")).expect("socket");
    NodeEndpoint::new(id, EndpointOptions::default(), socket).expect("endpoint")
}

/// A QUIC link from `a` to an echoing `b`, which also drains bulk streams.
async fn quic_pair() -> (Link, NodeEndpoint, NodeEndpoint) {
    let a = endpoint("a");
    let b = endpoint("b");
    let addr = b.local_addr().expect("addr");
    let acceptor = b.clone();
    tokio::spawn(async move {
        let Some(Ok(link)) = acceptor.accept().await else { return };
        let (mut tx, mut rx) = link.split();
        while let Ok(m) = rx.recv().await {
            if tx.send(&m).await.is_err() {
                return;
            }
        }
    });
    let link = a.connect(addr).await.expect("connect");
    (link, a, b)
}

async fn tcp_echo_pair() -> TcpStream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("listen");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        s.set_nodelay(true).expect("nodelay");
        let mut buf = [0u8; SMALL_BYTES];
        while s.read_exact(&mut buf).await.is_ok() {
            if s.write_all(&buf).await.is_err() {
                return;
            }
        }
    });
    let s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

fn round_trips(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cluster_link_rtt");
    let (mut link, _a, _b) = rt.block_on(quic_pair());
    let msg = Message::Data { channel: 9, bytes: vec![7u8; SMALL_BYTES] };
    group.bench_function("quic_64B", |bench| {
        bench.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    link.send(&msg).await.expect("send");
                    let back = link.recv().await.expect("recv");
                    assert_eq!(back, msg);
                }
                start.elapsed()
            })
        })
    });
    let mut tcp = rt.block_on(tcp_echo_pair());
    group.bench_function("tcp_64B", |bench| {
        bench.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = [7u8; SMALL_BYTES];
                let start = Instant::now();
                for _ in 0..iters {
                    tcp.write_all(&buf).await.expect("write");
                    tcp.read_exact(&mut buf).await.expect("read");
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// Drains one bulk stream per iteration on the accepting side.
async fn quic_bulk_pair() -> (Link, NodeEndpoint, NodeEndpoint) {
    let a = endpoint("a");
    let b = endpoint("b");
    let addr = b.local_addr().expect("addr");
    let acceptor = b.clone();
    tokio::spawn(async move {
        let Some(Ok(link)) = acceptor.accept().await else { return };
        let mut buf = vec![0u8; CHUNK_BYTES];
        while let Ok(mut bulk) = link.accept_bulk().await {
            while bulk.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        }
    });
    let link = a.connect(addr).await.expect("connect");
    (link, a, b)
}

async fn tcp_bulk_pair() -> TcpStream {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("listen");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let mut got = 0;
            while got < BULK_BYTES {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got += n,
                }
            }
            if s.write_all(&[1]).await.is_err() {
                return;
            }
        }
    });
    TcpStream::connect(addr).await.expect("connect")
}

fn bulk(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cluster_link_bulk");
    group.throughput(Throughput::Bytes(BULK_BYTES as u64)).sample_size(10).measurement_time(Duration::from_secs(10));
    let chunk = vec![0x5Au8; CHUNK_BYTES];
    let (link, _a, _b) = rt.block_on(quic_bulk_pair());
    group.bench_function("quic_one_stream_16MiB", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let mut s = link.open_bulk(3, BULK_BYTES as u64).await.expect("open");
                for _ in 0..BULK_BYTES / CHUNK_BYTES {
                    s.write_all(&chunk).await.expect("write");
                }
                s.finish().await.expect("finish");
            })
        })
    });
    let mut tcp = rt.block_on(tcp_bulk_pair());
    group.bench_function("tcp_one_stream_16MiB", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                for _ in 0..BULK_BYTES / CHUNK_BYTES {
                    tcp.write_all(&chunk).await.expect("write");
                }
                let mut ack = [0u8; 1];
                tcp.read_exact(&mut ack).await.expect("ack");
            })
        })
    });
    group.finish();
}

criterion_group!(benches, round_trips, bulk);
criterion_main!(benches);
