//! Membership: the member table and the view nodes gossip to each other, without I/O.
//!
//! Every node keeps a table of the cluster's members (name, role, cluster address, HTTP
//! address) and their reachability as *this* node sees it. Nodes exchange [`View`]s over
//! their links (as `Data` on [`MEMBERSHIP_CHANNEL`]): the sender's own facts and the members
//! it knows. [`Members`] merges what it hears and returns [`Event`]s, each with the log line
//! an operator reads (`added new node X at ADDR, now N nodes are configured`, `node X is
//! unreachable`, `node X is back`). The driver ([`crate::gossip`]) owns the sockets and the
//! clock; this module is a plain struct, so it is tested without either.
//!
//! Promises: a member stays in the table however long it is unreachable, until
//! [`Members::remove`] (the operator's `HA REMOVE SERVER`); a removed name is not re-added
//! from third parties' gossip (it is remembered as removed and gossiped as such), only when
//! that node itself links to us again. The table holds at most [`MEMBERS_MAX`] members.
//! Iteration is by name (a `BTreeMap`), so views and logs are deterministic.
//!
//! View encoding (inside a `Data` frame; integers LE):
//! ```text
//! 1   format version (1)
//! ..  member: the sender itself
//! 2   member count (<= MEMBERS_MAX), then each member
//! 2   removed count (<= MEMBERS_MAX), then each name (u16 length + UTF-8)
//! member = name (u16 length + UTF-8), role u8 (0 MASTER, 1 REPLICA),
//!          address (u8 4 or 6, the IP's bytes, u16 port), http address (u16 length + UTF-8)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The `Data` channel membership views travel on.
pub const MEMBERSHIP_CHANNEL: u16 = 1;
/// Most members a table (and a view) holds.
pub const MEMBERS_MAX: usize = 256;
/// Longest name or HTTP address in a view.
const TEXT_MAX: usize = 255;
const VIEW_VERSION: u8 = 1;

/// A node's role, as OrientDB names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads and writes; votes.
    Master,
    /// Reads only.
    Replica,
}

impl Role {
    /// `MASTER` or `REPLICA`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "MASTER",
            Role::Replica => "REPLICA",
        }
    }

    /// The role named (either case), if any.
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_uppercase().as_str() {
            "MASTER" => Some(Role::Master),
            "REPLICA" => Some(Role::Replica),
            _ => None,
        }
    }
}

/// The facts about one member that travel in views and are persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Node name (proven by its certificate when it came over its own link).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Where its QUIC endpoint listens.
    pub cluster_addr: SocketAddr,
    /// Its HTTP `host:port`.
    pub http_address: String,
}

/// What one node tells another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The sender (its cluster address as it believes it to be; receivers of a direct link
    /// use the address they see instead).
    pub me: MemberInfo,
    /// The members the sender knows, itself excluded.
    pub members: Vec<MemberInfo>,
    /// Names the operator removed.
    pub removed: Vec<String>,
}

/// Reachability as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Not linked yet since this node started.
    Unknown,
    /// A live link.
    Up,
    /// The link was lost, or could not be made.
    Down,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its facts.
    pub info: MemberInfo,
    /// Its reachability.
    pub reach: Reach,
}

/// Something that changed, for the log and for persistence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new member.
    Added {
        /// Its name.
        name: String,
        /// Its cluster address.
        addr: SocketAddr,
        /// Members now configured, this node included.
        count: usize,
    },
    /// A member's role or addresses changed.
    Updated {
        /// Its name.
        name: String,
    },
    /// A member stopped answering (or never answered since this node started).
    Unreachable {
        /// Its name.
        name: String,
    },
    /// A member answers again.
    Back {
        /// Its name.
        name: String,
    },
    /// The operator removed a member.
    Removed {
        /// Its name.
        name: String,
        /// Members now configured, this node included.
        count: usize,
    },
    /// The table is full; a node was not added.
    Full {
        /// The node left out.
        name: String,
    },
}

impl Event {
    /// The log line an operator reads.
    pub fn describe(&self) -> String {
        match self {
            Event::Added { name, addr, count } => {
                format!("added new node {name} at {addr}, now {count} nodes are configured")
            }
            Event::Updated { name } => format!("node {name} changed its role or addresses"),
            Event::Unreachable { name } => format!("node {name} is unreachable"),
            Event::Back { name } => format!("node {name} is back"),
            Event::Removed { name, count } => {
                format!("removed node {name} from the cluster, now {count} nodes are configured")
            }
            Event::Full { name } => format!("node {name} was not added: the cluster holds at most {MEMBERS_MAX} nodes"),
        }
    }

    /// True if the persisted member set changed.
    pub fn changes_members(&self) -> bool {
        matches!(self, Event::Added { .. } | Event::Updated { .. } | Event::Removed { .. })
    }
}

/// Why a removal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoveError {
    /// The name is this node.
    #[error("'{0}' is this node (the local node); a server cannot remove itself from the cluster: stop it, or ask another member to remove it")]
    Local(String),
    /// No such member.
    #[error("no server named {0} in this cluster")]
    Unknown(String),
}

/// The member table of one node.
#[derive(Debug, Clone)]
pub struct Members {
    /// This node.
    me: MemberInfo,
    /// The others, by name.
    members: BTreeMap<String, Member>,
    /// Names removed by an operator.
    removed: BTreeSet<String>,
}

impl Members {
    /// A table for `me`, with the members and removals persisted from an earlier run (all
    /// [`Reach::Unknown`] until linked).
    pub fn new(me: MemberInfo, known: Vec<MemberInfo>, removed: Vec<String>) -> Self {
        let mut members = BTreeMap::new();
        for info in known.into_iter().filter(|m| m.name != me.name).take(MEMBERS_MAX) {
            members.insert(info.name.clone(), Member { info, reach: Reach::Unknown });
        }
        let removed = removed.into_iter().filter(|n| !members.contains_key(n)).take(MEMBERS_MAX).collect();
        Self { me, members, removed }
    }

    /// This node.
    pub fn me(&self) -> &MemberInfo {
        &self.me
    }

    /// Sets this node's own cluster address (once the port is bound).
    pub fn set_my_addr(&mut self, addr: SocketAddr) {
        self.me.cluster_addr = addr;
    }

    /// The other members, by name.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// One member.
    pub fn get(&self, name: &str) -> Option<&Member> {
        self.members.get(name)
    }

    /// Names removed by an operator.
    pub fn removed(&self) -> impl Iterator<Item = &String> {
        self.removed.iter()
    }

    /// Members configured, this node included.
    pub fn count(&self) -> usize {
        self.members.len() + 1
    }

    /// The view this node sends.
    pub fn view(&self) -> View {
        View {
            me: self.me.clone(),
            members: self.members.values().map(|m| m.info.clone()).collect(),
            removed: self.removed.iter().cloned().collect(),
        }
    }

    /// A view that came over a link to `peer` (its name proven by the certificate) at
    /// `seen_addr` (the peer's cluster address as we see it). `direct_addr` says whether
    /// `seen_addr` is the peer's listening address (a link we dialled, or the source of an
    /// incoming link, which is the peer's endpoint socket). Returns what changed.
    pub fn learn(&mut self, peer: &str, seen_addr: SocketAddr, view: &View) -> Vec<Event> {
        let mut events = Vec::new();
        if view.me.name != peer {
            // A view whose sender is not the link's peer is ignored: names are proven by
            // certificates, not by what a node says.
            return events;
        }
        let own = MemberInfo { cluster_addr: seen_addr, ..view.me.clone() };
        self.removed.remove(peer);
        events.extend(self.upsert(own, true));
        for name in &view.removed {
            if name != &self.me.name && self.members.remove(name).is_some() {
                events.push(Event::Removed { name: name.clone(), count: self.count() });
            }
            if name != &self.me.name && self.removed.len() < MEMBERS_MAX {
                self.removed.insert(name.clone());
            }
        }
        for info in &view.members {
            if info.name == self.me.name || self.removed.contains(&info.name) || info.name == peer {
                continue;
            }
            events.extend(self.upsert(info.clone(), false));
        }
        events
    }

    /// Adds or updates a member; a third party's word (`firsthand` false) never changes the
    /// facts of a member we already know.
    fn upsert(&mut self, info: MemberInfo, firsthand: bool) -> Option<Event> {
        let full = self.members.len() >= MEMBERS_MAX;
        match self.members.get_mut(&info.name) {
            Some(m) if m.info == info || !firsthand => None,
            Some(m) => {
                m.info = info;
                Some(Event::Updated { name: m.info.name.clone() })
            }
            None if full => Some(Event::Full { name: info.name }),
            None => {
                let (name, addr) = (info.name.clone(), info.cluster_addr);
                self.members.insert(name.clone(), Member { info, reach: Reach::Unknown });
                Some(Event::Added { name, addr, count: self.count() })
            }
        }
    }

    /// A link to `name` is up.
    pub fn link_up(&mut self, name: &str) -> Option<Event> {
        let m = self.members.get_mut(name)?;
        let was = std::mem::replace(&mut m.reach, Reach::Up);
        (was == Reach::Down).then(|| Event::Back { name: name.to_owned() })
    }

    /// The link to `name` was lost, or dialling it failed.
    pub fn link_down(&mut self, name: &str) -> Option<Event> {
        let m = self.members.get_mut(name)?;
        let was = std::mem::replace(&mut m.reach, Reach::Down);
        (was != Reach::Down).then(|| Event::Unreachable { name: name.to_owned() })
    }

    /// Removes `name` (the operator's decision).
    pub fn remove(&mut self, name: &str) -> Result<Event, RemoveError> {
        if name == self.me.name {
            return Err(RemoveError::Local(name.to_owned()));
        }
        self.members.remove(name).ok_or_else(|| RemoveError::Unknown(name.to_owned()))?;
        if self.removed.len() < MEMBERS_MAX {
            self.removed.insert(name.to_owned());
        }
        Ok(Event::Removed { name: name.to_owned(), count: self.count() })
    }

    /// The member whose cluster address is `addr`, if any.
    pub fn name_at(&self, addr: SocketAddr) -> Option<&str> {
        self.members.values().find(|m| m.info.cluster_addr == addr).map(|m| m.info.name.as_str())
    }
}

/// Encodes a view (texts longer than the bound are cut; lists beyond [`MEMBERS_MAX`] too).
pub fn encode_view(view: &View) -> Vec<u8> {
    let mut out = vec![VIEW_VERSION];
    put_member(&mut out, &view.me);
    let members: Vec<&MemberInfo> = view.members.iter().take(MEMBERS_MAX).collect();
    out.extend_from_slice(&u16::try_from(members.len()).unwrap_or(0).to_le_bytes());
    for m in members {
        put_member(&mut out, m);
    }
    let removed: Vec<&String> = view.removed.iter().take(MEMBERS_MAX).collect();
    out.extend_from_slice(&u16::try_from(removed.len()).unwrap_or(0).to_le_bytes());
    for name in removed {
        put_text(&mut out, name);
    }
    out
}

/// Decodes a view; every malformed input is an error naming the fault.
pub fn decode_view(bytes: &[u8]) -> Result<View, String> {
    let mut r = bytes;
    if take(&mut r, 1)? != [VIEW_VERSION] {
        return Err("unknown membership view version".into());
    }
    let me = member(&mut r)?;
    let n = count(&mut r, "member count")?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push(member(&mut r)?);
    }
    let n = count(&mut r, "removed count")?;
    let mut removed = Vec::with_capacity(n);
    for _ in 0..n {
        removed.push(text(&mut r, "removed name")?);
    }
    if !r.is_empty() {
        return Err(format!("{} bytes after the membership view", r.len()));
    }
    Ok(View { me, members, removed })
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(TEXT_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&u16::try_from(end).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

fn put_member(out: &mut Vec<u8>, m: &MemberInfo) {
    put_text(out, &m.name);
    out.push(match m.role {
        Role::Master => 0,
        Role::Replica => 1,
    });
    match m.cluster_addr.ip() {
        IpAddr::V4(ip) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(6);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&m.cluster_addr.port().to_le_bytes());
    put_text(out, &m.http_address);
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if r.len() < n {
        return Err(format!("membership view truncated: need {n} bytes, have {}", r.len()));
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

fn u16_le(r: &mut &[u8]) -> Result<u16, String> {
    let b = take(r, 2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn count(r: &mut &[u8], what: &str) -> Result<usize, String> {
    let n = usize::from(u16_le(r)?);
    if n > MEMBERS_MAX {
        return Err(format!("{what} {n} exceeds {MEMBERS_MAX}"));
    }
    Ok(n)
}

fn text(r: &mut &[u8], what: &str) -> Result<String, String> {
    let n = usize::from(u16_le(r)?);
    if n > TEXT_MAX {
        return Err(format!("{what} of {n} bytes exceeds {TEXT_MAX}"));
    }
    String::from_utf8(take(r, n)?.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

fn member(r: &mut &[u8]) -> Result<MemberInfo, String> {
    let name = text(r, "member name")?;
    let role = match take(r, 1)?[0] {
        0 => Role::Master,
        1 => Role::Replica,
        other => return Err(format!("unknown role {other}")),
    };
    let ip = match take(r, 1)?[0] {
        4 => {
            let b = take(r, 4)?;
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
        6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(take(r, 16)?);
            IpAddr::V6(Ipv6Addr::from(o))
        }
        other => return Err(format!("unknown address family {other}")),
    };
    let port = u16_le(r)?;
    let http_address = text(r, "http address")?;
    Ok(MemberInfo { name, role, cluster_addr: SocketAddr::new(ip, port), http_address })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info(name: &str, port: u16) -> MemberInfo {
        MemberInfo {
            name: name.into(),
            role: Role::Master,
            cluster_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            http_address: format!("127.0.0.1:{}", port + 1000),
        }
    }

    fn view_of(me: MemberInfo, members: Vec<MemberInfo>) -> View {
        View { me, members, removed: vec![] }
    }

    #[test]
    fn a_peer_and_its_members_are_added_and_logged() {
        let mut t = Members::new(info("a", 1), vec![], vec![]);
        let events = t.learn("b", info("b", 2).cluster_addr, &view_of(info("b", 2), vec![info("c", 3), info("a", 1)]));
        let lines: Vec<String> = events.iter().map(Event::describe).collect();
        assert_eq!(
            lines,
            [
                "added new node b at 127.0.0.1:2, now 2 nodes are configured",
                "added new node c at 127.0.0.1:3, now 3 nodes are configured"
            ]
        );
        assert_eq!(t.count(), 3);
        // A view claiming to come from someone else than the link's peer is ignored.
        assert!(t.learn("b", info("b", 2).cluster_addr, &view_of(info("d", 4), vec![])).is_empty());
        // Hearsay does not change what we know of c; c's own word does.
        assert!(t.learn("b", info("b", 2).cluster_addr, &view_of(info("b", 2), vec![info("c", 9)])).is_empty());
        assert_eq!(t.learn("c", info("c", 9).cluster_addr, &view_of(info("c", 9), vec![])).len(), 1);
        assert_eq!(t.get("c").unwrap().info.cluster_addr.port(), 9);
    }

    #[test]
    fn reachability_is_logged_on_change_only() {
        let mut t = Members::new(info("a", 1), vec![info("b", 2)], vec![]);
        assert_eq!(t.link_up("b"), None, "first link after start");
        assert_eq!(t.link_down("b").unwrap().describe(), "node b is unreachable");
        assert_eq!(t.link_down("b"), None);
        assert_eq!(t.link_up("b").unwrap().describe(), "node b is back");
        assert_eq!(t.link_up("b"), None);
        // A persisted member that never answered is reported unreachable once.
        let mut t = Members::new(info("a", 1), vec![info("b", 2)], vec![]);
        assert_eq!(t.link_down("b").unwrap().describe(), "node b is unreachable");
    }

    #[test]
    fn a_removed_member_stays_out_of_gossip_until_it_links_again() {
        let mut t = Members::new(info("a", 1), vec![info("b", 2), info("c", 3)], vec![]);
        assert_eq!(t.remove("a"), Err(RemoveError::Local("a".into())));
        assert_eq!(t.remove("zz"), Err(RemoveError::Unknown("zz".into())));
        assert_eq!(t.remove("c").unwrap().describe(), "removed node c from the cluster, now 2 nodes are configured");
        assert!(t.learn("b", info("b", 2).cluster_addr, &view_of(info("b", 2), vec![info("c", 3)])).is_empty());
        assert!(t.get("c").is_none());
        assert_eq!(t.view().removed, ["c"]);
        assert_eq!(t.learn("c", info("c", 3).cluster_addr, &view_of(info("c", 3), vec![])).len(), 1);
        assert!(t.view().removed.is_empty());
        // A removal heard from a peer applies here too.
        let mut v = view_of(info("b", 2), vec![]);
        v.removed = vec!["c".into()];
        assert!(matches!(t.learn("b", info("b", 2).cluster_addr, &v)[..], [Event::Removed { .. }]));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = Members::new(info("a", 1), vec![], vec![]);
        let many: Vec<MemberInfo> = (0..MEMBERS_MAX as u16 + 5).map(|i| info(&format!("m{i}"), 100 + i)).collect();
        let events = t.learn("m0", many[0].cluster_addr, &view_of(many[0].clone(), many[1..].to_vec()));
        assert_eq!(t.count() - 1, MEMBERS_MAX);
        assert!(events.iter().any(|e| matches!(e, Event::Full { .. })));
    }

    fn arb_info() -> impl Strategy<Value = MemberInfo> {
        ("[a-z0-9_.-]{1,64}", any::<bool>(), any::<[u8; 4]>(), any::<u16>(), "\\PC{0,40}").prop_map(
            |(name, replica, ip, port, http_address)| MemberInfo {
                name,
                role: if replica { Role::Replica } else { Role::Master },
                cluster_addr: SocketAddr::from((ip, port)),
                http_address,
            },
        )
    }

    proptest! {
        #[test]
        fn views_round_trip(me in arb_info(), members in proptest::collection::vec(arb_info(), 0..8),
                            removed in proptest::collection::vec("[a-z]{1,8}", 0..4)) {
            let v = View { me, members, removed };
            prop_assert_eq!(decode_view(&encode_view(&v)).unwrap(), v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Err(e) = decode_view(&bytes) {
                prop_assert!(!e.is_empty());
            }
        }
    }
}
