//! Links over real loopback UDP: the hello exchange, messages, bulk streams, and every
//! refusal (wrong secret, another cluster, another protocol version, malformed frames).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use basalt_net::error::Error;
use basalt_net::frame::DecodeError;
use basalt_net::{bind_udp, udp_socket, ClusterIdentity, EndpointOptions, Message, NodeEndpoint};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn node(cluster: &str, secret: &str, name: &str) -> NodeEndpoint {
    let id = ClusterIdentity::derive(cluster, secret.as_bytes(), name).unwrap();
    let socket = udp_socket(bind_udp(LOCALHOST, 0).unwrap()).unwrap();
    NodeEndpoint::new(id, EndpointOptions::default(), socket).unwrap()
}

/// Log lines written during a test (all its tasks run on the test's one thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let me = self.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || me.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn members_exchange_messages_and_bulk_streams() {
    let a = node("prod", "a long shared secret", "alpha");
    let b = node("prod", "a long shared secret", "beta");
    let b_addr = b.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut link = b.accept().await.unwrap().unwrap();
        assert_eq!(link.peer_name(), "alpha");
        while let Ok(Message::Data { channel, bytes }) = link.recv().await {
            link.send(&Message::Data { channel, bytes }).await.unwrap();
        }
        let mut bulk = link.accept_bulk().await.unwrap();
        let mut total = 0u64;
        let mut sum = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = bulk.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
            sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
        }
        (bulk.channel, total, sum)
    });
    let mut link = a.connect(b_addr).await.unwrap();
    assert_eq!(link.peer_name(), "beta");
    for i in 0..10u8 {
        link.send(&Message::Data { channel: 7, bytes: vec![i; 100] }).await.unwrap();
        assert_eq!(link.recv().await.unwrap(), Message::Data { channel: 7, bytes: vec![i; 100] });
    }
    link.send(&Message::Ping { nonce: 1 }).await.unwrap();
    let total: u64 = 5 << 20;
    let mut bulk = link.open_bulk(3, total).await.unwrap();
    let chunk = vec![1u8; 256 * 1024];
    for _ in 0..(total / chunk.len() as u64) {
        bulk.write_all(&chunk).await.unwrap();
    }
    bulk.finish().await.unwrap();
    assert_eq!(server.await.unwrap(), (3, total, total));
}

/// Dials `b` from `a`, and returns both sides' errors and the log.
async fn refused_pair(a: NodeEndpoint, b: NodeEndpoint) -> (Error, Error, String) {
    let log = Captured::default();
    let _guard = log.install();
    let b_addr = b.local_addr().unwrap();
    let accept = async { b.accept().await.unwrap().unwrap_err() };
    let (dialled, accepted) = tokio::join!(a.connect(b_addr), accept);
    (dialled.unwrap_err(), accepted, log.text())
}

fn assert_refusal(e: &Error, peer: &str, cluster: &str) {
    assert!(matches!(e, Error::NotAMember { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.starts_with(&format!("refused node {peer} at 127.0.0.1:")), "{text}");
    assert!(text.ends_with(&format!(": not a member of cluster {cluster}")), "{text}");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_both_sides_log_it() {
    let intruder = node("prod", "a guessed wrong secret", "mallory");
    let member = node("prod", "a long shared secret", "beta");
    let (dialler, acceptor, log) = refused_pair(intruder, member).await;
    assert_refusal(&dialler, "beta", "prod");
    assert_refusal(&acceptor, "mallory", "prod");
    assert!(log.contains(&dialler.to_string()), "{log}");
    assert!(log.contains(&acceptor.to_string()), "{log}");
}

#[tokio::test]
async fn another_cluster_name_is_refused_both_ways() {
    let (dialler, acceptor, _) =
        refused_pair(node("staging", "a long shared secret", "s1"), node("prod", "a long shared secret", "p1")).await;
    assert_refusal(&dialler, "p1", "staging");
    assert_refusal(&acceptor, "s1", "prod");
    let (dialler, acceptor, _) =
        refused_pair(node("prod", "a long shared secret", "p2"), node("staging", "a long shared secret", "s2")).await;
    assert_refusal(&dialler, "s2", "prod");
    assert_refusal(&acceptor, "p2", "staging");
}

#[tokio::test]
async fn another_protocol_version_gets_a_refusal_naming_both_versions() {
    let log = Captured::default();
    let _guard = log.install();
    let a = node("prod", "a long shared secret", "new");
    let b = node("prod", "a long shared secret", "old");
    let b_addr = b.local_addr().unwrap();
    let (dialled, accepted) = tokio::join!(a.connect_speaking(b_addr, 2), async { b.accept().await.unwrap() });
    let dialled = dialled.unwrap_err();
    let accepted = accepted.unwrap_err();
    assert!(matches!(dialled, Error::VersionMismatch { ours: 2, theirs: 1, .. }), "{dialled:?}");
    assert!(dialled.to_string().contains("refused node old at 127.0.0.1:"), "{dialled}");
    assert!(dialled.to_string().ends_with("it speaks protocol version 1, this node speaks version 2"), "{dialled}");
    assert!(accepted.to_string().ends_with("it speaks protocol version 2, this node speaks version 1"), "{accepted}");
    assert!(log.text().contains(&accepted.to_string()));
}

#[tokio::test]
async fn a_malformed_frame_closes_the_connection_naming_the_fault() {
    let a = node("prod", "a long shared secret", "a");
    let b = node("prod", "a long shared secret", "b");
    let b_addr = b.local_addr().unwrap();
    let (dialled, accepted) = tokio::join!(a.connect(b_addr), async { b.accept().await.unwrap() });
    let mut client = dialled.unwrap();
    let mut server = accepted.unwrap();
    client.send_raw_for_tests(&[0xff, 0xff, 0xff, 0xff]).await.unwrap();
    let err = server.recv().await.unwrap_err();
    assert!(matches!(err, Error::Decode { source: DecodeError::TooLarge { .. }, .. }), "{err:?}");
    let closed = client.closed().await.to_string();
    assert!(closed.contains("exceeds the bound"), "{closed}");
}

#[tokio::test]
async fn a_taken_cluster_port_moves_to_the_next_free_one() {
    let log = Captured::default();
    let _guard = log.install();
    let first = bind_udp(LOCALHOST, 0).unwrap();
    let port = first.local_addr().unwrap().port();
    // Ephemeral ports sit well below 65535 - PORT_TRIES_MAX on Linux (32768..60999).
    assert!(port < u16::MAX - basalt_net::endpoint::PORT_TRIES_MAX);
    let second = bind_udp(LOCALHOST, port).unwrap();
    let taken = second.local_addr().unwrap().port();
    assert!(taken > port && taken < port + basalt_net::endpoint::PORT_TRIES_MAX, "{port} -> {taken}");
    assert!(
        log.text().contains(&format!("cluster port {port} is taken on 127.0.0.1; this node took port {taken}")),
        "{}",
        log.text()
    );
}

#[tokio::test]
async fn a_gossip_node_accepts_at_most_links_max_links() {
    use basalt_net::gossip::{Gossip, GossipOptions};
    use basalt_net::membership::{MemberInfo, Members, Role};
    let hub = node("prod", "a long shared secret", "hub");
    let hub_addr = hub.local_addr().unwrap();
    let me = MemberInfo { name: "hub".into(), role: Role::Master, cluster_addr: hub_addr, http_address: String::new() };
    let options = GossipOptions { links_max: 1, ..GossipOptions::default() };
    let gossip = Gossip::start(hub, Members::new(me, vec![], vec![]), vec![], options, Box::new(|_| {})).unwrap();
    let first = node("prod", "a long shared secret", "first");
    let second = node("prod", "a long shared secret", "second");
    let mut kept = first.connect(hub_addr).await.unwrap();
    // The hub sends its view on every link it keeps.
    assert!(matches!(kept.recv().await.unwrap(), Message::Data { channel: 1, .. }));
    // The goodbye, or the close carrying the same reason when it overtook the goodbye (or
    // even the hello's answer).
    // (quinn's display of a lost connection hides the peer's reason; its debug form shows it.)
    let said = match second.connect(hub_addr).await {
        Err(e) => format!("{e:?}"),
        Ok(mut refused) => match refused.recv().await {
            Ok(Message::Goodbye { reason }) => reason,
            Ok(other) => panic!("expected the link to close, got {other:?}"),
            Err(e) => format!("{e:?}"),
        },
    };
    assert!(said.contains("too many links"), "{said}");
    // The first link still carries views: the hub answers a change (a new member) on it.
    let view = basalt_net::membership::View {
        me: MemberInfo {
            name: "first".into(),
            role: Role::Replica,
            cluster_addr: hub_addr,
            http_address: String::new(),
        },
        members: vec![],
        removed: vec![],
    };
    kept.send(&Message::Data { channel: 1, bytes: basalt_net::membership::encode_view(&view) }).await.unwrap();
    let mut watch = gossip.watch();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while gossip.status().members.is_empty() {
            watch.changed().await.unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(gossip.status().members[0].info.name, "first");
    gossip.stop().await;
}
