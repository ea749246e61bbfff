//! The membership driver: dials members and seeds, accepts links, carries [`View`](crate::membership::View)s both
//! ways and feeds them to the [`Members`] table, logging every change.
//!
//! Tasks: one *core* task owns the table (no locks); one *dialer* per address to dial (each
//! member's cluster address, each seed, each address discovery found), which keeps one
//! outgoing link up, redialling with a doubling back-off ([`GossipOptions`]); one task per
//! link (dialled or accepted) that sends our view whenever it changes and hands the peer's
//! views to the core; one accept loop. All of them sit in one `JoinSet` owned by the core,
//! so stopping the core stops everything.
//!
//! Reachability of a member is this node's *outgoing* link to it: up once a dialled link to
//! its address said hello, down when that link is lost (QUIC keep-alives and the idle
//! timeout of [`crate::EndpointOptions`], on tokio's clock) or a dial fails. So a killed node
//! is reported `unreachable` within the idle timeout plus two keep-alive intervals, and
//! `back` at the first successful redial.
//!
//! Bounds: at most [`GossipOptions::links_max`] accepted links at once (more are closed at once, logged),
//! [`MEMBERS_MAX`] members and [`DISCOVERED_MAX`] discovered addresses; the core's inbox
//! holds [`INBOX_MAX`] messages (link tasks wait when it is full).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};

use crate::endpoint::NodeEndpoint;
use crate::error::Error;
use crate::frame::Message;
use crate::link::Link;
use crate::membership::{
    decode_view, encode_view, Event, Member, MemberInfo, Members, RemoveError, MEMBERSHIP_CHANNEL, MEMBERS_MAX,
};

/// Most accepted links at once.
pub const LINKS_MAX: usize = 2 * MEMBERS_MAX;
/// Most addresses discovery may add (beyond members and seeds).
pub const DISCOVERED_MAX: usize = MEMBERS_MAX;
/// The core's inbox size.
pub const INBOX_MAX: usize = 1024;

/// Tunables of the driver.
#[derive(Debug, Clone)]
pub struct GossipOptions {
    /// First wait before redialling an address.
    pub retry_ms: u64,
    /// Longest wait between two dials of one address.
    pub retry_max_ms: u64,
    /// Most accepted links at once (default [`LINKS_MAX`]).
    pub links_max: usize,
}

impl Default for GossipOptions {
    fn default() -> Self {
        Self { retry_ms: 250, retry_max_ms: 2_000, links_max: LINKS_MAX }
    }
}

/// What the node's table looks like now.
#[derive(Debug, Clone)]
pub struct Status {
    /// This node.
    pub me: MemberInfo,
    /// The other members, by name.
    pub members: Vec<Member>,
    /// Names an operator removed.
    pub removed: Vec<String>,
}

/// Called with the new status whenever the member set (not only reachability) changed:
/// the server persists it.
pub type OnChange = Box<dyn FnMut(&Status) + Send>;

/// Requests to the core.
enum Command {
    /// `HA REMOVE SERVER`.
    Remove(String, oneshot::Sender<Result<Event, RemoveError>>),
    /// Discovery found an address.
    Discovered(SocketAddr),
}

/// What link tasks tell the core.
enum Inbound {
    /// A dialled link to `addr` said hello as `name`.
    Up { addr: SocketAddr, name: String },
    /// The dialled link to `addr` (peer `name`) was lost.
    Down { addr: SocketAddr, name: String },
    /// Dialling `addr` failed.
    Failed { addr: SocketAddr },
    /// A view from `peer`, seen at `seen`; `outgoing` if it came over a dialled link.
    View { peer: String, seen: SocketAddr, outgoing: bool, view: crate::membership::View },
}

/// A running membership driver.
#[derive(Debug)]
pub struct Gossip {
    /// Requests to the core.
    commands: mpsc::Sender<Command>,
    /// The latest status.
    status: watch::Receiver<Arc<Status>>,
    /// The core task.
    core: tokio::task::JoinHandle<()>,
    /// The endpoint, to close it at stop.
    endpoint: NodeEndpoint,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Remove(n, _) => write!(f, "Remove({n})"),
            Command::Discovered(a) => write!(f, "Discovered({a})"),
        }
    }
}

impl Gossip {
    /// Starts the driver on `endpoint` with the `table` (persisted members), dialling
    /// `seeds` too. `on_change` gets every change of the member set.
    pub fn start(
        endpoint: NodeEndpoint,
        mut table: Members,
        seeds: Vec<SocketAddr>,
        options: GossipOptions,
        on_change: OnChange,
    ) -> Result<Self, Error> {
        table.set_my_addr(SocketAddr::new(table.me().cluster_addr.ip(), endpoint.local_addr()?.port()));
        let (commands, commands_rx) = mpsc::channel(64);
        let (status_tx, status) = watch::channel(Arc::new(status_of(&table)));
        let (inbox_tx, inbox) = mpsc::channel(INBOX_MAX);
        let (view_tx, _) = watch::channel(Arc::new(encode_view(&table.view())));
        let core = Core {
            endpoint: endpoint.clone(),
            table,
            seeds: seeds.into_iter().collect(),
            discovered: BTreeSet::new(),
            self_addrs: BTreeSet::new(),
            dialers: BTreeMap::new(),
            tasks: JoinSet::new(),
            inbox_tx,
            view_tx,
            status_tx,
            options,
            on_change,
        };
        let core = tokio::spawn(core.run(commands_rx, inbox));
        Ok(Self { commands, status, core, endpoint })
    }

    /// The latest status.
    pub fn status(&self) -> Arc<Status> {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<Arc<Status>> {
        self.status.clone()
    }

    /// Removes a member (the operator's `HA REMOVE SERVER`).
    pub async fn remove(&self, name: &str) -> Result<Event, RemoveError> {
        let (tx, rx) = oneshot::channel();
        let gone = || RemoveError::Unknown(name.to_owned());
        self.commands.send(Command::Remove(name.to_owned(), tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Tells the driver discovery found `addr` (dialled from now on).
    pub async fn discovered(&self, addr: SocketAddr) {
        self.handle().discovered(addr).await;
    }

    /// A handle for discovery tasks.
    pub fn handle(&self) -> GossipHandle {
        GossipHandle { commands: self.commands.clone() }
    }

    /// Stops every task and closes the endpoint.
    pub async fn stop(&self) {
        self.core.abort();
        self.endpoint.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}

/// What discovery needs of a running driver.
#[derive(Debug, Clone)]
pub struct GossipHandle {
    /// Requests to the core.
    commands: mpsc::Sender<Command>,
}

impl GossipHandle {
    /// Tells the driver discovery found `addr` (dialled from now on).
    pub async fn discovered(&self, addr: SocketAddr) {
        let _ = self.commands.send(Command::Discovered(addr)).await;
    }
}

fn status_of(table: &Members) -> Status {
    Status {
        me: table.me().clone(),
        members: table.members().cloned().collect(),
        removed: table.removed().cloned().collect(),
    }
}

/// The task that owns the table.
struct Core {
    /// Our endpoint.
    endpoint: NodeEndpoint,
    /// The member table.
    table: Members,
    /// Configured seeds.
    seeds: BTreeSet<SocketAddr>,
    /// Addresses discovery found.
    discovered: BTreeSet<SocketAddr>,
    /// Addresses that turned out to be this node.
    self_addrs: BTreeSet<SocketAddr>,
    /// One dialer per address.
    dialers: BTreeMap<SocketAddr, AbortHandle>,
    /// Every task: dialers, accepted links, the accept loop.
    tasks: JoinSet<()>,
    /// Where link tasks write.
    inbox_tx: mpsc::Sender<Inbound>,
    /// Our encoded view, watched by every link task.
    view_tx: watch::Sender<Arc<Vec<u8>>>,
    /// The status for readers.
    status_tx: watch::Sender<Arc<Status>>,
    /// Tunables.
    options: GossipOptions,
    /// Persistence.
    on_change: OnChange,
}

impl Core {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut inbox: mpsc::Receiver<Inbound>) {
        let accept =
            accept_loop(self.endpoint.clone(), self.options.links_max, self.inbox_tx.clone(), self.view_tx.subscribe());
        self.tasks.spawn(accept);
        self.ensure_dialers();
        loop {
            tokio::select! {
                Some(m) = inbox.recv() => self.on_inbound(m),
                Some(c) = commands.recv() => self.on_command(c),
                Some(_) = self.tasks.join_next() => {}
            }
        }
    }

    fn on_command(&mut self, c: Command) {
        match c {
            Command::Remove(name, reply) => {
                let result = self.table.remove(&name);
                if let Ok(e) = &result {
                    self.publish(vec![e.clone()]);
                }
                let _ = reply.send(result);
            }
            Command::Discovered(addr) => {
                let known = self.dialers.contains_key(&addr) || self.self_addrs.contains(&addr);
                if !known && self.discovered.len() < DISCOVERED_MAX && self.discovered.insert(addr) {
                    tracing::debug!(%addr, "discovery found a node; dialling it");
                    self.ensure_dialers();
                }
            }
        }
    }

    fn on_inbound(&mut self, m: Inbound) {
        let mut events = Vec::new();
        match m {
            Inbound::Up { addr, name } if name == self.table.me().name => {
                tracing::debug!(%addr, "that address is this node; not dialling it again");
                self.self_addrs.insert(addr);
                if let Some(h) = self.dialers.remove(&addr) {
                    h.abort();
                }
            }
            Inbound::Up { addr, name } => {
                if self.table.get(&name).is_some_and(|m| m.info.cluster_addr == addr) {
                    events.extend(self.table.link_up(&name));
                }
            }
            Inbound::Down { addr, name } => {
                if self.table.get(&name).is_some_and(|m| m.info.cluster_addr == addr) {
                    events.extend(self.table.link_down(&name));
                }
            }
            Inbound::Failed { addr } => {
                if let Some(name) = self.table.name_at(addr).map(str::to_owned) {
                    events.extend(self.table.link_down(&name));
                }
            }
            Inbound::View { peer, seen, outgoing, view } => {
                events.extend(self.table.learn(&peer, seen, &view));
                if outgoing && self.table.get(&peer).is_some_and(|m| m.info.cluster_addr == seen) {
                    events.extend(self.table.link_up(&peer));
                }
            }
        }
        // Published even without events: a first link (Unknown to Up) logs nothing.
        self.publish(events);
    }

    /// Logs `events`, persists and re-gossips if the member set changed, publishes the status.
    fn publish(&mut self, events: Vec<Event>) {
        for e in &events {
            match e {
                Event::Unreachable { .. } | Event::Full { .. } => tracing::warn!("{}", e.describe()),
                _ => tracing::info!("{}", e.describe()),
            }
        }
        let status = status_of(&self.table);
        if events.iter().any(Event::changes_members) {
            (self.on_change)(&status);
            self.view_tx.send_replace(Arc::new(encode_view(&self.table.view())));
            self.ensure_dialers();
        }
        self.status_tx.send_replace(Arc::new(status));
    }

    /// One dialer per wanted address; dialers of addresses no longer wanted stop.
    fn ensure_dialers(&mut self) {
        let mut wanted: BTreeSet<SocketAddr> = self.table.members().map(|m| m.info.cluster_addr).collect();
        wanted.extend(self.seeds.iter().copied());
        wanted.extend(self.discovered.iter().copied());
        for a in &self.self_addrs {
            wanted.remove(a);
        }
        self.dialers.retain(|addr, h| {
            let keep = wanted.contains(addr);
            if !keep {
                h.abort();
            }
            keep
        });
        for addr in wanted {
            if !self.dialers.contains_key(&addr) {
                let d = dialer(
                    self.endpoint.clone(),
                    addr,
                    self.options.clone(),
                    self.inbox_tx.clone(),
                    self.view_tx.subscribe(),
                );
                let h = self.tasks.spawn(d);
                self.dialers.insert(addr, h);
            }
        }
    }
}

/// Keeps one outgoing link to `addr` up.
async fn dialer(
    endpoint: NodeEndpoint,
    addr: SocketAddr,
    options: GossipOptions,
    inbox: mpsc::Sender<Inbound>,
    views: watch::Receiver<Arc<Vec<u8>>>,
) {
    let mut wait = options.retry_ms;
    loop {
        match endpoint.connect(addr).await {
            Ok(link) => {
                let name = link.peer_name().to_owned();
                if inbox.send(Inbound::Up { addr, name: name.clone() }).await.is_err() {
                    return;
                }
                let lost = carry(link, addr, true, inbox.clone(), views.clone()).await;
                tracing::debug!(%addr, peer = %name, "link lost: {lost}");
                if inbox.send(Inbound::Down { addr, name }).await.is_err() {
                    return;
                }
                wait = options.retry_ms;
            }
            Err(e) => {
                tracing::debug!(%addr, "dialling failed: {e}");
                if inbox.send(Inbound::Failed { addr }).await.is_err() {
                    return;
                }
                wait = (wait * 2).min(options.retry_max_ms.max(options.retry_ms));
            }
        }
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// Accepts links until the endpoint closes; each gets a task (at most `links_max`).
async fn accept_loop(
    endpoint: NodeEndpoint,
    links_max: usize,
    inbox: mpsc::Sender<Inbound>,
    views: watch::Receiver<Arc<Vec<u8>>>,
) {
    let mut links = JoinSet::new();
    while let Some(accepted) = endpoint.accept().await {
        while links.try_join_next().is_some() {}
        // Refusals were logged by the endpoint, in words; nothing more to do.
        let Ok(link) = accepted else { continue };
        if links.len() >= links_max {
            tracing::warn!(peer = %link.peer_name(), "closing a link: {links_max} links are open already");
            link.close("too many links").await;
            continue;
        }
        let seen = link.remote_addr();
        links.spawn(carry(link, seen, false, inbox.clone(), views.clone()));
    }
}

/// Sends our view now and whenever it changes; hands the peer's views to the core. Returns
/// why the link ended.
async fn carry(
    link: Link,
    seen: SocketAddr,
    outgoing: bool,
    inbox: mpsc::Sender<Inbound>,
    mut views: watch::Receiver<Arc<Vec<u8>>>,
) -> Error {
    let (mut tx, mut rx) = link.split();
    let peer = rx.peer_name().to_owned();
    let sender = async move {
        loop {
            let bytes = views.borrow_and_update().clone();
            if let Err(e) = tx.send(&Message::Data { channel: MEMBERSHIP_CHANNEL, bytes: bytes.to_vec() }).await {
                return e;
            }
            if views.changed().await.is_err() {
                tx.close("node stopping").await;
                return Error::EndpointClosed;
            }
        }
    };
    let receiver = async move {
        loop {
            match rx.recv().await {
                Ok(Message::Data { channel: MEMBERSHIP_CHANNEL, bytes }) => match decode_view(&bytes) {
                    Ok(view) => {
                        let m = Inbound::View { peer: peer.clone(), seen, outgoing, view };
                        if inbox.send(m).await.is_err() {
                            return Error::EndpointClosed;
                        }
                    }
                    Err(e) => tracing::warn!(%seen, peer = %peer, "ignored a malformed membership view: {e}"),
                },
                Ok(Message::Goodbye { reason }) => {
                    return Error::Protocol { addr: seen, what: format!("the peer closed the link: {reason}") }
                }
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    };
    tokio::select! {
        e = sender => e,
        e = receiver => e,
    }
}
