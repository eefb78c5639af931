//! HTTPS for `warden serve --tls-cert --tls-key`: the certificate chain and
//! private key are read from PEM files once at start-up, with errors that
//! name the file, and served with rustls (the `ring` provider).

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded, checked TLS server configuration.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("cert", &self.cert).field("key", &self.key).finish_non_exhaustive()
    }
}

/// Why the certificate or key could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read TLS key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    })
}

fn pem_reason(e: pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "no PEM section found".into(),
        other => format!("not valid PEM ({other})"),
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), and checks that the key is the certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let cert_err = |reason: String| TlsError::Certificate { path: cert.to_path_buf(), reason };
        let key_err = |reason: String| TlsError::Key { path: key.to_path_buf(), reason };

        let cert_pem = read(cert).map_err(cert_err)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| cert_err(pem_reason(e)))?;
        if chain.is_empty() {
            return Err(cert_err("no certificate found".into()));
        }
        let key_pem = read(key).map_err(key_err)?;
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            key_err(match e {
                pem::Error::NoItemsFound => "no private key found".into(),
                other => pem_reason(other),
            })
        })?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| cert_err(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    key_err(format!("the key does not match the certificate in {}", cert.display()))
                }
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown) => {
                    key_err(format!("cannot check that the key matches the certificate in {}", cert.display()))
                }
                rustls::Error::InvalidCertificate(c) => cert_err(format!("invalid certificate ({c:?})")),
                other => key_err(format!("unusable private key ({other})")),
            })?;
        let mut config = config;
        // HTTP/2 when the client offers it, else HTTP/1.1 (axum serves both).
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig { config: Arc::new(config), cert: cert.to_path_buf(), key: key.to_path_buf() })
    }
}
