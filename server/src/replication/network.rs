//! The RPC client openraft sends votes, entries and snapshots through.
//!
//! The cluster transport (QUIC, `basalt-net`) does not carry Raft traffic yet, so a node
//! reaches no peer: every RPC fails as "unreachable", which openraft treats as a peer that
//! is down (it retries, and a group of one never sends any).

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{AnyError, BasicNode};

use super::TypeConfig;

/// Makes a [`NoPeer`] client for every target.
#[derive(Debug, Clone, Default)]
pub struct NoTransport;

/// A client of a peer this node cannot reach (see the module docs).
#[derive(Debug, Clone)]
pub struct NoPeer {
    /// The target node.
    target: u64,
}

impl NoPeer {
    fn unreachable<E: std::error::Error>(&self) -> RPCError<u64, BasicNode, E> {
        let why = format!("node {}: the cluster transport does not carry Raft messages yet", self.target);
        RPCError::Unreachable(Unreachable::new(&AnyError::error(why)))
    }
}

impl RaftNetworkFactory<TypeConfig> for NoTransport {
    type Network = NoPeer;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> NoPeer {
        NoPeer { target }
    }
}

impl RaftNetwork<TypeConfig> for NoPeer {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(self.unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>> {
        Err(self.unreachable())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        Err(self.unreachable())
    }
}
