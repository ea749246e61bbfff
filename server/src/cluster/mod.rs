//! The node's place in the cluster: binds the cluster port, runs discovery and the
//! membership driver (`basalt_net::gossip`), persists the member set, and answers what
//! `/distributed/*` shows.
//!
//! A node runs *standalone* (no cluster port bound, a cluster of one) when no cluster
//! secret is set; `--seeds` or `--discovery multicast` without a secret is refused at start,
//! since nodes without the secret could never authenticate each other. With a secret:
//! - the identity (cluster CA and node certificate) is derived from name and secret;
//! - with `--discovery multicast` the group socket is bound first, then the cluster port
//!   (the next free one when taken; the log says which was taken);
//! - the members persisted in `<home>/cluster/members.json` ([`store`]) and the seeds are
//!   dialled, and every change of the member set is written back.
//!
//! Timers are tokio's: a member is reported unreachable when its link has been silent for
//! `[cluster] unreachable_after_ms` (plus two keep-alives of a fifth of it).
//!
//! Not done yet (the replication issue): leaders, per-node database states of remote
//! members, keeping `distributed-config.json` the same on every node ([`db_config::change`]
//! is the seam it calls).

pub mod db_config;
pub mod store;
pub mod views;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use basalt_net::discovery::{self, AnnounceKey, MulticastOptions};
use basalt_net::gossip::{Gossip, GossipOptions, Status};
use basalt_net::membership::{Event, MemberInfo, Members, RemoveError, Role};
use basalt_net::{bind_udp, udp_socket, ClusterIdentity, EndpointOptions, NodeEndpoint};
use tokio::task::JoinHandle;

use crate::config::{self, Discovery, Settings};

/// A running cluster membership.
#[derive(Debug)]
pub struct ClusterNode {
    /// The membership driver.
    gossip: Gossip,
    /// The cluster port actually bound.
    pub port: u16,
    /// Multicast discovery, when on.
    discovery: Option<JoinHandle<()>>,
    /// The home (for the members file and the databases' configs).
    home: PathBuf,
}

/// The node's role in `net`'s terms.
pub fn role(settings: &Settings) -> Role {
    match settings.role {
        config::Role::Master => Role::Master,
        config::Role::Replica => Role::Replica,
    }
}

/// Starts the cluster side of the node, or `None` when it runs standalone. `http_address`
/// is this node's HTTP `host:port` as other nodes should show it.
pub async fn start(settings: &Settings, http_address: String) -> Result<Option<ClusterNode>, String> {
    let Some(secret) = settings.cluster_secret.as_deref() else {
        if !settings.seeds.is_empty() || settings.discovery == Discovery::Multicast {
            return Err("--seeds and --discovery multicast need the cluster secret (--cluster-secret or \
                        BASALT_CLUSTER_SECRET): nodes without it cannot authenticate each other"
                .into());
        }
        tracing::info!("no cluster secret set: running standalone (a cluster of one; no cluster port bound)");
        return Ok(None);
    };
    let cluster = &settings.cluster;
    let identity = ClusterIdentity::derive(&settings.cluster_name, secret.as_bytes(), &settings.node_name)
        .map_err(|e| e.to_string())?;
    let seeds = discovery::parse_seeds(&settings.seeds)?;
    let multicast =
        MulticastOptions { group: cluster.multicast_group, port: cluster.multicast_port, ..Default::default() };
    // The group socket first: a cluster port equal to the group's port then moves on.
    let group_socket = match settings.discovery {
        Discovery::Multicast => Some(
            discovery::bind_multicast(&multicast)
                .map_err(|e| format!("cannot join multicast group {}:{}: {e}", multicast.group, multicast.port))?,
        ),
        Discovery::Seeds => None,
    };
    let socket = bind_udp(cluster.bind, settings.cluster_port).map_err(|e| format!("cluster port: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let socket = udp_socket(socket).map_err(|e| e.to_string())?;
    let unreachable_ms = cluster.unreachable_after_ms;
    let options = EndpointOptions {
        idle_timeout_ms: unreachable_ms,
        keep_alive_ms: (unreachable_ms / 5).max(50),
        hello_timeout_ms: unreachable_ms,
        ..EndpointOptions::default()
    };
    let endpoint = NodeEndpoint::new(identity, options, socket).map_err(|e| e.to_string())?;
    let (known, removed) = store::load(&settings.home)?;
    let me = MemberInfo {
        name: settings.node_name.clone(),
        role: role(settings),
        cluster_addr: SocketAddr::new(advertised_ip(cluster.bind), local.port()),
        http_address,
    };
    let configured = known.len() + 1;
    let table = Members::new(me, known, removed);
    let home = settings.home.clone();
    let persist = Box::new(move |s: &Status| store::save(&home, s));
    let gossip =
        Gossip::start(endpoint, table, seeds.clone(), GossipOptions::default(), persist).map_err(|e| e.to_string())?;
    tracing::info!(
        "cluster {}: this node ({}) listens on {local}, {configured} nodes configured, seeds {seeds:?}, discovery {}",
        settings.cluster_name,
        role(settings).name(),
        match settings.discovery {
            Discovery::Multicast => format!("multicast {}:{}", multicast.group, multicast.port),
            Discovery::Seeds => "seeds".to_string(),
        }
    );
    let mut node = ClusterNode { gossip, port: local.port(), discovery: None, home: settings.home.clone() };
    if let Some(group_socket) = group_socket {
        let key = AnnounceKey::derive(&settings.cluster_name, secret.as_bytes()).map_err(|e| e.to_string())?;
        node.discovery = Some(spawn_multicast(&node, group_socket, multicast, key, settings.node_name.clone()));
    }
    Ok(Some(node))
}

/// The IP to show for this node when it binds `bind`: itself, or loopback for any-address
/// (peers record the address they see; this one is only for this node's own status).
fn advertised_ip(bind: IpAddr) -> IpAddr {
    if bind.is_unspecified() {
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    } else {
        bind
    }
}

/// Runs multicast discovery, handing every address heard to the driver.
fn spawn_multicast(
    node: &ClusterNode,
    socket: std::net::UdpSocket,
    options: MulticastOptions,
    key: AnnounceKey,
    name: String,
) -> JoinHandle<()> {
    let (found_tx, mut found_rx) = tokio::sync::mpsc::channel(64);
    let port = node.port;
    let announcer = tokio::spawn(async move {
        if let Err(e) = discovery::run_multicast(socket, options, key, name, port, found_tx).await {
            tracing::error!("multicast discovery stopped: {e}");
        }
    });
    let commands = node.gossip.handle();
    tokio::spawn(async move {
        while let Some(addr) = found_rx.recv().await {
            commands.discovered(addr).await;
        }
        announcer.abort();
    })
}

impl ClusterNode {
    /// The current member table.
    pub fn status(&self) -> Arc<Status> {
        self.gossip.status()
    }

    /// Removes a member (`HA REMOVE SERVER`), from the member set and from every database's
    /// `distributed-config.json` that names it.
    pub async fn remove(&self, name: &str, db_dirs: Vec<PathBuf>) -> Result<Event, RemoveError> {
        let event = self.gossip.remove(name).await?;
        let name = name.to_owned();
        let _ = tokio::task::spawn_blocking(move || {
            for dir in db_dirs {
                let listed = db_config::read(&dir)
                    .is_ok_and(|c| c.get("servers").and_then(|s| s.as_object()).is_some_and(|m| m.contains_key(&name)));
                if listed {
                    if let Err(e) = db_config::change(&dir, |c| {
                        db_config::remove_server(c, &name);
                    }) {
                        tracing::error!("removing {name} from the distributed config: {e}");
                    }
                }
            }
        })
        .await;
        Ok(event)
    }

    /// The home this node runs on.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    /// Stops discovery and membership and closes every link.
    pub async fn stop(&self) {
        if let Some(d) = &self.discovery {
            d.abort();
        }
        self.gossip.stop().await;
    }
}
