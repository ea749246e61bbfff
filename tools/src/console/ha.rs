//! `HA STATUS -servers | -db | -latency` views of a `GET /distributed/status` answer.
//!
//! They follow OrientDB's text output of `HA STATUS` (`ODistributedOutput.java` in
//! `orientechnologies/orientdb`, `formatServerStatus`, `formatClusterTable`, `formatLatency`):
//! - `-servers`: one row per server, the local one marked `(*)`, its first database as
//!   `db=STATUS (ROLE)` in its row and each further database in a row of its own;
//! - `-db`: for each database (the current one when one is selected) its leader and write quorum,
//!   and a row per server with its role, status and applied LSN;
//! - `-latency`: `REPLICATION LATENCY AVERAGE (in milliseconds)`, a matrix from each server
//!   (row) to each other server (column), the local one marked `*`. The values come from a
//!   node's optional `latencies` object (`{"<to>": {"averageMs": 1.5}}`); a server that reports
//!   none (a cluster of one has no replication) leaves the cells empty, and a line says so.

use super::json::{Json, JsonText};
use super::table::render_table;

fn text(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => String::new(),
        Some(v) => v.to_cell(),
    }
}

fn nodes(status: &Json) -> Vec<&Json> {
    let mut nodes: Vec<&Json> =
        status.get("nodes").and_then(Json::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    nodes.sort_by_key(|n| n.get("name").and_then(Json::as_str).unwrap_or("").to_owned());
    nodes
}

fn name(node: &Json) -> &str {
    node.get("name").and_then(Json::as_str).unwrap_or("?")
}

fn local(status: &Json) -> &str {
    status.get("localNode").and_then(Json::as_str).unwrap_or("")
}

/// The server's status: its own `status` field when it sends one, else from `reachable`.
fn node_status(node: &Json) -> String {
    match node.get("status") {
        Some(Json::String(s)) => s.clone(),
        _ if node.get("reachable").and_then(Json::as_bool) == Some(false) => "UNREACHABLE".into(),
        _ => "ONLINE".into(),
    }
}

/// `HA STATUS -servers`.
pub fn servers_view(status: &Json) -> String {
    let headers: Vec<String> = ["Name", "Status", "Role", "Databases", "HTTP", "Cluster"].map(String::from).into();
    let mut rows = Vec::new();
    for node in nodes(status) {
        let label = if name(node) == local(status) { format!("{}(*)", name(node)) } else { name(node).to_owned() };
        let role = text(node.get("role"));
        let no_dbs = serde_json::Map::new();
        let dbs = node.get("databases").and_then(Json::as_object).unwrap_or(&no_dbs);
        let db_text: Vec<String> =
            dbs.iter().map(|(db, s)| format!("{db}={} ({role})", text(s.get("status")))).collect();
        rows.push(vec![
            label,
            node_status(node),
            role.clone(),
            db_text.first().cloned().unwrap_or_default(),
            text(node.get("httpAddress")),
            text(node.get("clusterAddress")),
        ]);
        for more in db_text.iter().skip(1) {
            rows.push(vec![String::new(), String::new(), String::new(), more.clone()]);
        }
    }
    format!("\nSERVERS\n{}", render_table(&headers, &rows))
}

/// `HA STATUS -db`, for `database` when given, else for every database.
pub fn databases_view(status: &Json, database: Option<&str>) -> String {
    let no_dbs = serde_json::Map::new();
    let dbs = status.get("databases").and_then(Json::as_object).unwrap_or(&no_dbs);
    let mut out = String::new();
    let names: Vec<&String> = dbs.keys().filter(|db| database.is_none_or(|d| d == db.as_str())).collect();
    if names.is_empty() {
        let which = database.map_or(String::new(), |d| format!(" '{d}'"));
        return format!("\nThe cluster reports no database{which}.\n");
    }
    for db in names {
        let info = &dbs[db];
        let leader = info.get("leader").and_then(Json::as_str).unwrap_or("none");
        out.push_str(&format!(
            "\nDATABASE '{db}' [writeQuorum: {}, leader: {leader}]\n",
            text(info.get("writeQuorum"))
        ));
        let headers: Vec<String> = ["SERVER", "ROLE", "STATUS", "APPLIED LSN", "LEADER"].map(String::from).into();
        let rows: Vec<Vec<String>> = nodes(status)
            .into_iter()
            .filter_map(|node| {
                let state = node.get("databases")?.get(db.as_str())?;
                Some(vec![
                    if name(node) == local(status) { format!("{}(*)", name(node)) } else { name(node).to_owned() },
                    text(node.get("role")),
                    text(state.get("status")),
                    text(state.get("appliedLsn")),
                    if name(node) == leader { "X".into() } else { String::new() },
                ])
            })
            .collect();
        out.push_str(&render_table(&headers, &rows));
    }
    out
}

/// `HA STATUS -latency`.
pub fn latency_view(status: &Json) -> String {
    let nodes = nodes(status);
    let label = |n: &str| if n == local(status) { format!("{n}*") } else { n.to_owned() };
    let mut headers = vec!["Servers".to_owned()];
    headers.extend(nodes.iter().map(|n| label(name(n))));
    let mut reported = false;
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|from| {
            let mut row = vec![label(name(from))];
            for to in &nodes {
                let latency = from.get("latencies").and_then(|l| l.get(name(to)));
                let ms = latency.and_then(|l| l.get("averageMs").or_else(|| l.get("average"))).and_then(Json::as_f64);
                reported |= ms.is_some();
                row.push(if name(from) == name(to) {
                    String::new()
                } else {
                    ms.map_or(String::new(), |ms| format!("{ms:.2}"))
                });
            }
            row
        })
        .collect();
    let mut out = format!("\nREPLICATION LATENCY AVERAGE (in milliseconds)\n{}", render_table(&headers, &rows));
    if !reported {
        out.push_str("No server reports replication latencies (a cluster of one replicates to no one).\n");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn status() -> Json {
        serde_json::json!({"localNode": "n2", "clusterName": "basalt", "nodes": [
            {"name": "n2", "role": "REPLICA", "httpAddress": "h2:2480", "clusterAddress": "h2:2434", "reachable": true,
             "databases": {"demo": {"status": "SYNCHRONIZING", "appliedLsn": 40}, "logs": {"status": "ONLINE", "appliedLsn": 1}},
             "latencies": {"n1": {"averageMs": 1.25}}},
            {"name": "n1", "role": "MASTER", "httpAddress": "h1:2480", "clusterAddress": "h1:2434", "reachable": false,
             "databases": {"demo": {"status": "ONLINE", "appliedLsn": 57}}}
        ], "databases": {"demo": {"leader": "n1", "writeQuorum": 2}, "logs": {"leader": "n2", "writeQuorum": 1}}})
    }

    #[test]
    fn servers_golden() {
        let want = "
SERVERS
+-------+-------------+---------+------------------------+---------+---------+
| Name  | Status      | Role    | Databases              | HTTP    | Cluster |
+-------+-------------+---------+------------------------+---------+---------+
| n1    | UNREACHABLE | MASTER  | demo=ONLINE (MASTER)   | h1:2480 | h1:2434 |
| n2(*) | ONLINE      | REPLICA | demo=SYNCHRONIZING (REPLICA) | h2:2480 | h2:2434 |
|       |             |         | logs=ONLINE (REPLICA)  |         |         |
+-------+-------------+---------+------------------------+---------+---------+
";
        let got = servers_view(&status());
        let cells = |text: &str| -> Vec<Vec<String>> {
            text.lines()
                .filter(|l| l.starts_with('|'))
                .map(|l| l.split('|').map(|c| c.trim().to_owned()).collect())
                .collect()
        };
        assert_eq!(cells(&got), cells(want));
    }

    #[test]
    fn databases_golden() {
        let got = databases_view(&status(), Some("demo"));
        assert!(got.starts_with("\nDATABASE 'demo' [writeQuorum: 2, leader: n1]\n"), "{got}");
        assert!(got.contains("| n1     | MASTER  | ONLINE        | 57          | X      |"), "{got}");
        assert!(got.contains("| n2(*)  | REPLICA | SYNCHRONIZING | 40          |        |"), "{got}");
        assert!(!got.contains("logs"));
        assert!(databases_view(&status(), None).contains("DATABASE 'logs' [writeQuorum: 1, leader: n2]"));
        assert!(databases_view(&status(), Some("x")).contains("no database 'x'"));
    }

    #[test]
    fn latency_golden() {
        let got = latency_view(&status());
        assert!(got.contains("| Servers | n1   | n2* |\n"), "{got}");
        assert!(got.contains("| n1      |      |     |\n| n2*     | 1.25 |     |\n"), "{got}");
        assert!(!got.contains("No server reports"));
        let alone = serde_json::json!({"localNode": "n1", "nodes": [{"name": "n1"}]});
        assert!(latency_view(&alone).contains("No server reports replication latencies"));
    }
}
