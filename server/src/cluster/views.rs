//! What `/distributed/status` and `/distributed/node` show of the cluster: every member
//! with its role, addresses and reachability, and per database its write quorum and
//! leader.
//!
//! The leader is a seam for replication: until it lands, a node that knows no other member
//! (standalone, or a cluster of one) names itself, and a node with peers names none
//! (`null`), rather than claim a leadership nothing elected.

use basalt_net::membership::{Member, Reach, Role};
use serde_json::{json, Map, Value};

use super::db_config;
use crate::app::App;

/// `UP`, `DOWN` or `UNKNOWN` (not linked since this node started).
fn reachability(reach: Reach) -> &'static str {
    match reach {
        Reach::Up => "UP",
        Reach::Down => "DOWN",
        Reach::Unknown => "UNKNOWN",
    }
}

fn remote_node(m: &Member) -> Value {
    json!({
        "name": m.info.name,
        "role": m.info.role.name(),
        "httpAddress": m.info.http_address,
        "clusterAddress": m.info.cluster_addr.to_string(),
        "reachable": m.reach == Reach::Up,
        "reachability": reachability(m.reach),
        // What a remote node holds comes with replication.
        "databases": {},
    })
}

/// The other members, as `/distributed/status` lists them (none when standalone).
pub fn remote_nodes(app: &App) -> Vec<Value> {
    match &app.cluster {
        Some(c) => c.status().members.iter().map(remote_node).collect(),
        None => Vec::new(),
    }
}

/// The cluster port this node listens on (the configured one when standalone: none bound).
pub fn cluster_port(app: &App) -> u16 {
    app.cluster.as_ref().map_or(app.settings.cluster_port, |c| c.port)
}

/// The leader of every database (see the module doc).
pub fn leader(app: &App) -> Value {
    let alone = app.cluster.as_ref().is_none_or(|c| c.status().members.is_empty());
    if alone {
        Value::from(app.settings.node_name.clone())
    } else {
        Value::Null
    }
}

/// MASTER servers configured, this node included.
fn masters(app: &App) -> usize {
    let me = usize::from(super::role(&app.settings) == Role::Master);
    let others =
        app.cluster.as_ref().map_or(0, |c| c.status().members.iter().filter(|m| m.info.role == Role::Master).count());
    me + others
}

/// `databases` of `/distributed/status`: leader, write quorum and config version.
pub fn databases(app: &App) -> Map<String, Value> {
    let masters = masters(app);
    let mut dbs = Map::new();
    for name in app.registry.names() {
        let config = db_config::read(&app.registry.dir().join(&name)).unwrap_or_default();
        dbs.insert(
            name,
            json!({
                "leader": leader(app),
                "writeQuorum": db_config::write_quorum(&config, masters),
                "configVersion": db_config::version(&config),
            }),
        );
    }
    dbs
}

/// The other members in `/distributed/node`'s shape (OrientDB's agent).
pub fn remote_members(app: &App) -> Vec<Value> {
    let Some(c) = &app.cluster else { return Vec::new() };
    c.status()
        .members
        .iter()
        .map(|m| {
            json!({
                "id": m.info.name, "name": m.info.name,
                "status": if m.reach == Reach::Up { "ONLINE" } else { "UNREACHABLE" },
                "role": m.info.role.name(),
                "listeners": [{"protocol": "ONetworkProtocolHttpDb", "listen": m.info.http_address}],
                "databases": [],
            })
        })
        .collect()
}
