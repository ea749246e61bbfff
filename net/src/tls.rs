//! TLS configuration for both ends of a link: mutual authentication against the cluster CA.
//!
//! Each connection gets its own verifier holding a [`Claim`] slot, filled with the name the
//! peer's certificate claims whether or not it verifies, so a refusal can be logged with
//! the peer's name. The server sends no CA hints (`root_hint_subjects` is empty), so an
//! outsider is not told the cluster's CA subject.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::error::Error;
use crate::identity::{claimed_node_name, ClusterIdentity};

/// ALPN protocol id of Basalt's cluster links.
pub const ALPN: &[u8] = b"basalt-cluster";

/// The node name a peer's certificate claimed during one handshake (unverified).
#[derive(Debug, Clone, Default)]
pub struct Claim(Arc<Mutex<Option<String>>>);

impl Claim {
    fn set(&self, cert: &CertificateDer<'_>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = claimed_node_name(cert);
        }
    }

    /// The claimed name, or `unknown` when the peer showed no certificate we could read.
    pub fn name_or_unknown(&self) -> String {
        self.0.lock().ok().and_then(|s| s.clone()).unwrap_or_else(|| "unknown".to_owned())
    }
}

/// The ring provider, passed explicitly so no process default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client-side (dialling) rustls config that records the server's claimed name.
pub fn client_config(id: &ClusterIdentity, claim: Claim) -> Result<rustls::ClientConfig, Error> {
    let provider = provider();
    let verifier = Arc::new(ServerVerifier { roots: Arc::new(id.roots.clone()), provider: provider.clone(), claim });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![id.node_cert.clone()], id.private_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// A server-side (accepting) rustls config that requires a client certificate signed by
/// the cluster CA and records the client's claimed name.
pub fn server_config(id: &ClusterIdentity, claim: Claim) -> Result<rustls::ServerConfig, Error> {
    let provider = provider();
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(id.roots.clone()), provider.clone())
        .build()
        .map_err(|e| Error::Identity(format!("client verifier: {e}")))?;
    let verifier = Arc::new(ClientVerifier { inner, claim });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![id.node_cert.clone()], id.private_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Checks a server's certificate against the cluster CA, ignoring the dialled name: nodes
/// are dialled by address (seeds, announcements), and membership is what the CA proves.
#[derive(Debug)]
struct ServerVerifier {
    /// The cluster CA.
    roots: Arc<rustls::RootCertStore>,
    /// Signature algorithms.
    provider: Arc<CryptoProvider>,
    /// Where the server's claimed name goes.
    claim: Claim,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.claim.set(end_entity);
        let cert = ParsedCertificate::try_from(end_entity)?;
        let algs = self.provider.signature_verification_algorithms.all;
        rustls::client::verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, algs)?;
        if claimed_node_name(end_entity).is_none() {
            return Err(rustls::Error::General("the certificate names no Basalt node".into()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// webpki's client verifier, recording the claimed name first.
#[derive(Debug)]
struct ClientVerifier {
    /// The real check.
    inner: Arc<dyn ClientCertVerifier>,
    /// Where the client's claimed name goes.
    claim: Claim,
}

impl ClientCertVerifier for ClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.claim.set(end_entity);
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        if claimed_node_name(end_entity).is_none() {
            return Err(rustls::Error::General("the certificate names no Basalt node".into()));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
