//! The transport seam's simulated side: quinn over turmoil's simulated UDP.
//!
//! [`SimUdp`] implements quinn's `AsyncUdpSocket` on a `turmoil::net::UdpSocket`, so a
//! [`NodeEndpoint`](crate::NodeEndpoint) built on it runs the real QUIC, TLS and framing
//! code over turmoil's network (partitions, loss, latency) and on its paused clock.
//! Available to this crate's tests and, with the `sim` feature, to other crates.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// A pending wait for the simulated socket to become readable.
type Readable = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// A turmoil UDP socket seen through quinn's socket trait.
pub struct SimUdp {
    /// The simulated socket.
    socket: Arc<turmoil::net::UdpSocket>,
    /// The readiness wait in progress, kept across polls so its waker stays registered.
    readable: Mutex<Option<Readable>>,
}

impl fmt::Debug for SimUdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimUdp").field("local_addr", &self.socket.local_addr().ok()).finish()
    }
}

impl SimUdp {
    /// Binds a simulated socket on `addr`; call from inside a turmoil host.
    pub async fn bind(addr: SocketAddr) -> io::Result<Arc<Self>> {
        let socket = turmoil::net::UdpSocket::bind(addr).await?;
        Ok(Arc::new(Self { socket: Arc::new(socket), readable: Mutex::new(None) }))
    }
}

/// turmoil's UDP never pushes back, so the socket is always writable.
#[derive(Debug)]
struct AlwaysWritable;

impl UdpPoller for AlwaysWritable {
    fn poll_writable(self: Pin<&mut Self>, _cx: &mut Context) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncUdpSocket for SimUdp {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(AlwaysWritable)
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        // One datagram per transmit: max_transmit_segments is 1, so no GSO batches arrive.
        self.socket.try_send_to(transmit.contents, transmit.destination).map(|_| ())
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [io::IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let Ok(mut wait) = self.readable.lock() else {
            return Poll::Ready(Err(io::Error::other("the simulated socket's lock is poisoned")));
        };
        let (Some(buf), Some(slot)) = (bufs.first_mut(), meta.first_mut()) else {
            return Poll::Ready(Ok(0));
        };
        loop {
            if wait.is_none() {
                match self.socket.try_recv_from(buf) {
                    Ok((len, from)) => {
                        *slot = RecvMeta { addr: from, len, stride: len, ..RecvMeta::default() };
                        return Poll::Ready(Ok(1));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        let socket = self.socket.clone();
                        *wait = Some(Box::pin(async move { socket.readable().await }));
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            let Some(fut) = wait.as_mut() else { continue };
            match fut.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    *wait = None;
                    result?;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

#[cfg(test)]
mod tests {
    //! Links under turmoil: a partition that heals keeps the same connection; one longer
    //! than the idle timeout is detected in time on both sides, and a new link follows.

    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::{ClusterIdentity, EndpointOptions, Message, NodeEndpoint};

    const PORT: u16 = 2434;
    const SEEDS: [u64; 3] = [1, 7, 42];

    async fn sim_node(name: &str, options: EndpointOptions) -> turmoil::Result<NodeEndpoint> {
        let id = ClusterIdentity::derive("sim", b"simulation secret", name)?;
        let socket = SimUdp::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
        Ok(NodeEndpoint::new(id, options, socket)?)
    }

    fn options() -> EndpointOptions {
        EndpointOptions { idle_timeout_ms: 3_000, keep_alive_ms: 500, ..EndpointOptions::default() }
    }

    /// Node `b` accepts links forever and echoes their messages.
    fn echo_host(sim: &mut turmoil::Sim<'_>) {
        sim.host("b", || async {
            let ep = sim_node("b", options()).await?;
            while let Some(link) = ep.accept().await {
                let Ok(mut link) = link else { continue };
                tokio::spawn(async move {
                    while let Ok(m) = link.recv().await {
                        if link.send(&m).await.is_err() {
                            break;
                        }
                    }
                });
            }
            Ok(())
        });
    }

    #[test]
    fn a_healed_partition_keeps_the_same_connection() {
        for seed in SEEDS {
            let mut sim = turmoil::Builder::new().rng_seed(seed).simulation_duration(Duration::from_secs(60)).build();
            echo_host(&mut sim);
            sim.client("a", async move {
                let ep = sim_node("a", options()).await?;
                let mut link = ep.connect(SocketAddr::new(turmoil::lookup("b"), PORT)).await?;
                assert_eq!(link.peer_name(), "b");
                link.send(&Message::Ping { nonce: 1 }).await?;
                assert_eq!(link.recv().await?, Message::Ping { nonce: 1 });
                turmoil::partition("a", "b");
                let cut = Instant::now();
                link.send(&Message::Ping { nonce: 2 }).await?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                turmoil::repair("a", "b");
                assert_eq!(link.recv().await?, Message::Ping { nonce: 2 }, "seed {seed}");
                assert!(cut.elapsed() >= Duration::from_secs(2), "seed {seed}: answered through a partition");
                Ok(())
            });
            sim.run().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
    }

    #[test]
    fn an_unreachable_peer_is_detected_within_the_idle_timeout() {
        for seed in SEEDS {
            let mut sim = turmoil::Builder::new().rng_seed(seed).simulation_duration(Duration::from_secs(60)).build();
            echo_host(&mut sim);
            sim.client("a", async move {
                let ep = sim_node("a", options()).await?;
                let b = SocketAddr::new(turmoil::lookup("b"), PORT);
                let mut link = ep.connect(b).await?;
                link.send(&Message::Ping { nonce: 1 }).await?;
                assert_eq!(link.recv().await?, Message::Ping { nonce: 1 });
                turmoil::partition("a", "b");
                let cut = Instant::now();
                let lost = link.closed().await;
                let detected = cut.elapsed();
                assert!(lost.to_string().contains("timed out"), "seed {seed}: {lost}");
                let idle = Duration::from_millis(options().idle_timeout_ms);
                assert!(detected >= idle - Duration::from_millis(600), "seed {seed}: detected after {detected:?}");
                // quinn restarts the idle timer on the first packet sent after the last one
                // received, so the bound is the idle timeout plus two keep-alive intervals.
                let bound = idle + 2 * Duration::from_millis(options().keep_alive_ms);
                assert!(detected <= bound, "seed {seed}: detected after {detected:?}");
                turmoil::repair("a", "b");
                let mut again = ep.connect(b).await?;
                again.send(&Message::Ping { nonce: 3 }).await?;
                assert_eq!(again.recv().await?, Message::Ping { nonce: 3 });
                Ok(())
            });
            sim.run().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
    }
}
