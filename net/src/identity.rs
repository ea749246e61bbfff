//! Cluster identity: the cluster CA derived from the cluster name and secret, and this
//! node's certificate signed by it.
//!
//! Promises: every node given the same cluster name and secret derives the same CA key
//! (HKDF-SHA256, salt = cluster name, input = secret, info = [`CA_KEY_INFO`]) and so trusts
//! the same certificates; a different name or secret gives an unrelated key. The CA's
//! private key lives only in memory, long enough to sign this node's certificate, and is
//! dropped with the [`ClusterIdentity`] builder. Each node's own key is random and never
//! leaves the process.
//!
//! Node names travel inside the certificate as a DNS subject-alternative name: the name's
//! bytes in hex, split into labels, under [`NODE_NAME_SUFFIX`], because webpki exposes only
//! DNS names and Basalt node names (`_`, up to 64 characters) are not always valid labels.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ED25519,
};
use ring::hkdf;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::Error;

/// HKDF `info` for the cluster CA's Ed25519 seed; bump the suffix to change every key.
pub const CA_KEY_INFO: &[u8] = b"basalt cluster ca v1";
/// HKDF `info` for the discovery announcements' HMAC key.
pub const DISCOVERY_KEY_INFO: &[u8] = b"basalt discovery hmac v1";
/// DNS suffix under which a node's hex-encoded name sits in its certificate.
pub const NODE_NAME_SUFFIX: &str = "node.basalt";
/// Shortest cluster secret accepted, in bytes. Shorter secrets are guessable offline by
/// anyone who has seen one node certificate (see the crate docs' threat model).
pub const SECRET_BYTES_MIN: usize = 8;
/// Longest node name accepted, in bytes (the server's own limit).
pub const NODE_NAME_BYTES_MAX: usize = 64;

/// PKCS#8 v1 prefix of an Ed25519 private key whose 32-byte seed follows (RFC 8410).
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// What a node proves and checks at every handshake.
#[derive(Debug)]
pub struct ClusterIdentity {
    /// The cluster's name, shown in refusals.
    pub cluster_name: String,
    /// This node's name, carried in its certificate.
    pub node_name: String,
    /// The cluster CA certificate (derived; identical in subject and key on every node).
    pub ca_cert: CertificateDer<'static>,
    /// This node's certificate, signed by the cluster CA.
    pub node_cert: CertificateDer<'static>,
    /// This node's private key (PKCS#8).
    node_key: PrivatePkcs8KeyDer<'static>,
    /// The trust anchors: the cluster CA only.
    pub roots: RootCertStore,
}

/// Length type for ring's HKDF output.
struct OutputLen(usize);

impl hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// 32 bytes derived from the cluster name and secret for one purpose (`info`).
pub fn derive_key(cluster_name: &str, secret: &[u8], info: &[u8]) -> Result<[u8; 32], Error> {
    check_secret(secret)?;
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, cluster_name.as_bytes());
    let prk = salt.extract(secret);
    let mut out = [0u8; 32];
    let infos = [info];
    prk.expand(&infos, OutputLen(out.len()))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| Error::Identity("HKDF expansion failed".into()))?;
    Ok(out)
}

fn check_secret(secret: &[u8]) -> Result<(), Error> {
    if secret.len() < SECRET_BYTES_MIN {
        return Err(Error::Identity(format!(
            "the cluster secret has {} bytes; at least {SECRET_BYTES_MIN} are required",
            secret.len()
        )));
    }
    Ok(())
}

impl ClusterIdentity {
    /// Derives the cluster CA from `cluster_name` and `secret` and issues this node's
    /// certificate under it.
    pub fn derive(cluster_name: &str, secret: &[u8], node_name: &str) -> Result<Self, Error> {
        if cluster_name.is_empty() {
            return Err(Error::Identity("the cluster name is empty".into()));
        }
        check_node_name(node_name)?;
        let seed = derive_key(cluster_name, secret, CA_KEY_INFO)?;
        let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(&seed);
        let ca_key = KeyPair::try_from(pkcs8.as_slice()).map_err(rcgen_err)?;
        let ca_params = ca_params(cluster_name);
        let ca_cert = ca_params.self_signed(&ca_key).map_err(rcgen_err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let node_key = KeyPair::generate_for(&PKCS_ED25519).map_err(rcgen_err)?;
        let mut params = CertificateParams::new(vec![encode_node_name(node_name)]).map_err(rcgen_err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, node_name);
        dn.push(DnType::OrganizationName, cluster_name);
        params.distinguished_name = dn;
        let node_cert = params.signed_by(&node_key, &issuer).map_err(rcgen_err)?;

        let ca_der = ca_cert.der().clone();
        let mut roots = RootCertStore::empty();
        roots.add(ca_der.clone()).map_err(|e| Error::Identity(format!("the cluster CA is not a usable root: {e}")))?;
        Ok(Self {
            cluster_name: cluster_name.to_owned(),
            node_name: node_name.to_owned(),
            ca_cert: ca_der,
            node_cert: node_cert.der().clone(),
            node_key: PrivatePkcs8KeyDer::from(node_key.serialize_der()),
            roots,
        })
    }

    /// This node's private key, for rustls.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.node_key.clone_key())
    }
}

/// The CA's parameters: a fixed subject naming the cluster, so every node derives the same
/// trust anchor (webpki anchors on subject and key only).
fn ca_params(cluster_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Basalt cluster CA");
    dn.push(DnType::OrganizationName, cluster_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn rcgen_err(e: rcgen::Error) -> Error {
    Error::Identity(format!("certificate generation failed: {e}"))
}

/// Refuses names the certificate cannot carry.
pub fn check_node_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > NODE_NAME_BYTES_MAX {
        return Err(Error::Identity(format!("node name {name:?} must have 1 to {NODE_NAME_BYTES_MAX} bytes")));
    }
    Ok(())
}

/// Hex labels of at most 62 characters (31 bytes each) under [`NODE_NAME_SUFFIX`].
pub fn encode_node_name(name: &str) -> String {
    let mut out = String::new();
    for chunk in name.as_bytes().chunks(31) {
        for b in chunk {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('.');
    }
    out.push_str(NODE_NAME_SUFFIX);
    out
}

/// The node name inside a DNS name made by [`encode_node_name`], if it is one.
pub fn decode_node_name(dns: &str) -> Option<String> {
    let hex = dns.strip_suffix(NODE_NAME_SUFFIX)?.strip_suffix('.')?;
    let mut bytes = Vec::new();
    for label in hex.split('.') {
        if label.len() % 2 != 0 || label.is_empty() {
            return None;
        }
        for pair in label.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).ok()?;
            bytes.push(u8::from_str_radix(s, 16).ok()?);
        }
    }
    String::from_utf8(bytes).ok()
}

/// The node name a certificate claims (unverified: for log lines only).
pub fn claimed_node_name(cert: &CertificateDer<'_>) -> Option<String> {
    // rustls's ParsedCertificate hides its names; webpki's own type shows them.
    let ee = webpki::EndEntityCert::try_from(cert).ok()?;
    ee.valid_dns_names().find_map(decode_node_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_round_trip_through_dns_labels() {
        for name in ["n1", "node_1.a-b", &"x".repeat(64), "Node.With.Dots"] {
            let dns = encode_node_name(name);
            assert!(dns.split('.').all(|l| l.len() <= 63), "{dns}");
            assert_eq!(decode_node_name(&dns).as_deref(), Some(name));
        }
        assert_eq!(decode_node_name("example.com"), None);
        assert_eq!(decode_node_name("zz.node.basalt"), None);
    }

    #[test]
    fn same_name_and_secret_derive_the_same_ca_key() {
        let a = derive_key("c", b"secret-123", CA_KEY_INFO).unwrap();
        assert_eq!(a, derive_key("c", b"secret-123", CA_KEY_INFO).unwrap());
        assert_ne!(a, derive_key("d", b"secret-123", CA_KEY_INFO).unwrap());
        assert_ne!(a, derive_key("c", b"secret-124", CA_KEY_INFO).unwrap());
        assert_ne!(a, derive_key("c", b"secret-123", DISCOVERY_KEY_INFO).unwrap());
    }

    #[test]
    fn short_secrets_and_bad_names_are_refused() {
        let e = ClusterIdentity::derive("c", b"short", "n1").unwrap_err();
        assert!(e.to_string().contains("at least 8"), "{e}");
        assert!(ClusterIdentity::derive("c", b"long enough", "").is_err());
        assert!(ClusterIdentity::derive("", b"long enough", "n").is_err());
    }

    #[test]
    fn a_node_certificate_carries_its_name() {
        let id = ClusterIdentity::derive("c", b"long enough", "node_7").unwrap();
        assert_eq!(claimed_node_name(&id.node_cert).as_deref(), Some("node_7"));
    }
}
