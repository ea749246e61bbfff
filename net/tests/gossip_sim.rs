//! Three nodes find each other through seeds under turmoil (real QUIC, TLS and the
//! membership driver over simulated UDP, on the simulated clock), for several seeds: n2
//! seeds n1, n3 seeds n2 only, so n3 learns n1 by gossip. Then n3 is cut off from both:
//! both report it unreachable within the idle timeout plus three keep-alives, n3 reports
//! both; the partition heals and every node reports every other back.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use basalt_net::gossip::{Gossip, GossipOptions, Status};
use basalt_net::membership::{MemberInfo, Members, Reach, Role};
use basalt_net::sim::SimUdp;
use basalt_net::{ClusterIdentity, EndpointOptions, NodeEndpoint};
use tokio::time::Instant;

const PORT: u16 = 2434;
const SEEDS: [u64; 3] = [3, 11, 2026];
const IDLE_MS: u64 = 2_000;
const KEEP_ALIVE_MS: u64 = 400;

type Board = Arc<Mutex<BTreeMap<String, Arc<Status>>>>;

fn options() -> EndpointOptions {
    EndpointOptions {
        idle_timeout_ms: IDLE_MS,
        keep_alive_ms: KEEP_ALIVE_MS,
        hello_timeout_ms: IDLE_MS,
        ..EndpointOptions::default()
    }
}

/// A node: its endpoint on simulated UDP, its driver, and its status posted on `board`.
fn node(sim: &mut turmoil::Sim<'_>, name: &'static str, seed_host: Option<&'static str>, board: Board) {
    sim.host(name, move || {
        let board = board.clone();
        async move {
            let id = ClusterIdentity::derive("sim", b"simulation secret", name)?;
            let socket = SimUdp::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
            let ep = NodeEndpoint::new(id, options(), socket)?;
            let me = MemberInfo {
                name: name.into(),
                role: Role::Master,
                cluster_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT),
                http_address: format!("{name}:2480"),
            };
            let seeds: Vec<SocketAddr> =
                seed_host.map(|h| SocketAddr::new(turmoil::lookup(h), PORT)).into_iter().collect();
            let gossip =
                Gossip::start(ep, Members::new(me, vec![], vec![]), seeds, GossipOptions::default(), Box::new(|_| {}))?;
            let mut watch = gossip.watch();
            loop {
                board.lock().unwrap().insert(name.to_owned(), watch.borrow_and_update().clone());
                if watch.changed().await.is_err() {
                    return Ok(());
                }
            }
        }
    });
}

fn reach(board: &Board, of: &str, peer: &str) -> Option<Reach> {
    let b = board.lock().unwrap();
    b.get(of)?.members.iter().find(|m| m.info.name == peer).map(|m| m.reach)
}

/// Waits (in simulated time) until `cond` holds; fails after `limit`.
async fn until(limit: Duration, what: &str, cond: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

const NAMES: [&str; 3] = ["n1", "n2", "n3"];

fn all_up(board: &Board) -> bool {
    NAMES.iter().all(|a| NAMES.iter().filter(|b| *b != a).all(|b| reach(board, a, b) == Some(Reach::Up)))
}

#[test]
fn three_nodes_find_each_other_and_survive_a_healed_partition() {
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_test_writer().try_init();
    for seed in SEEDS {
        let board: Board = Arc::default();
        let mut sim = turmoil::Builder::new().rng_seed(seed).simulation_duration(Duration::from_secs(120)).build();
        node(&mut sim, "n1", None, board.clone());
        node(&mut sim, "n2", Some("n1"), board.clone());
        node(&mut sim, "n3", Some("n2"), board.clone());
        let b = board.clone();
        sim.client("checker", async move {
            let shown = b.clone();
            let linked = async { until(Duration::from_secs(20), "x", || all_up(&b)).await };
            if tokio::time::timeout(Duration::from_secs(19), linked).await.is_err() {
                panic!("seed {seed}: not all linked: {:#?}", shown.lock().unwrap());
            }
            for n in NAMES {
                let status = b.lock().unwrap()[n].clone();
                assert_eq!(status.members.len(), 2, "seed {seed}: {n} knows {:?}", status.members);
            }
            turmoil::partition("n3", "n1");
            turmoil::partition("n3", "n2");
            // The idle timeout plus up to two keep-alives until quinn restarts its idle timer,
            // plus slack for the simulated latency (up to 100 ms a message), which also
            // inflates quinn's probe timeout (the idle timer is at least three of them).
            let bound = Duration::from_millis(IDLE_MS + 3 * KEEP_ALIVE_MS + 200);
            let cut_off = || {
                reach(&b, "n1", "n3") == Some(Reach::Down)
                    && reach(&b, "n2", "n3") == Some(Reach::Down)
                    && reach(&b, "n3", "n1") == Some(Reach::Down)
                    && reach(&b, "n3", "n2") == Some(Reach::Down)
            };
            let took = until(bound, &format!("seed {seed}: the partition is seen"), cut_off).await;
            assert!(took >= Duration::from_millis(IDLE_MS / 2), "seed {seed}: unreachable after only {took:?}");
            assert_eq!(reach(&b, "n1", "n2"), Some(Reach::Up), "seed {seed}: n1-n2 is not cut");
            // Down nodes stay members.
            assert_eq!(b.lock().unwrap()["n1"].members.len(), 2);
            turmoil::repair("n3", "n1");
            turmoil::repair("n3", "n2");
            until(Duration::from_secs(20), &format!("seed {seed}: back after the heal"), || all_up(&b)).await;
            Ok(())
        });
        sim.run().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
}
