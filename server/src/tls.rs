//! HTTPS: rustls (TLS 1.2 and 1.3) over the connection loop of
//! [`crate::connections`], with a certificate that a SIGHUP replaces
//! without dropping a connection.
//!
//! The crypto provider is `ring`, the one the server's outgoing HTTPS
//! (reqwest) already links: no OpenSSL and no second provider.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The provider every TLS configuration of the server uses.
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate chain and key files, read again on every reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads and checks both files: a chain, a key, and a key that is the
    /// certificate's. Errors name the file, never its contents.
    ///
    /// # Errors
    /// A message naming the file that is wrong.
    pub fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
        let chain = read_chain(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| {
            format!(
                "TLS key {}: {} (a PEM private key: PKCS#8, PKCS#1 or SEC1)",
                self.key.display(),
                pem_error(&e)
            )
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|e| {
            format!(
                "TLS certificate {} and key {}: {e}",
                self.cert.display(),
                self.key.display()
            )
        })
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("TLS certificate {}: {}", path.display(), pem_error(&e)))?;
    if chain.is_empty() {
        return Err(format!(
            "TLS certificate {}: no CERTIFICATE block in it",
            path.display()
        ));
    }
    Ok(chain)
}

/// A PEM error in words; never the file's bytes.
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM block of that kind in it".into(),
        _ => "not valid PEM".into(),
    }
}

/// The server's certificate, swapped whole by [`Reloadable::reload`].
/// Connections already open keep the session they made; new handshakes
/// get the new certificate.
#[derive(Debug)]
pub struct Reloadable {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloadable {
    /// Loads the files once.
    ///
    /// # Errors
    /// As [`TlsFiles::load`].
    pub fn new(files: TlsFiles, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let current = RwLock::new(Arc::new(files.load(&provider)?));
        Ok(Self {
            files,
            provider,
            current,
        })
    }

    /// Reads the files again; on any error the certificate in use stays.
    ///
    /// # Errors
    /// As [`TlsFiles::load`].
    pub fn reload(&self) -> Result<(), String> {
        let loaded = Arc::new(self.files.load(&self.provider)?);
        // A poisoned lock only means a panic elsewhere held it: the value
        // inside is whole (one pointer store), so take it over.
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = loaded;
        Ok(())
    }

    /// The rustls configuration that serves from this: TLS 1.3 and 1.2,
    /// HTTP/1.1 by ALPN.
    ///
    /// # Errors
    /// When the provider offers neither version (it offers both).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

/// The client side of `healthcheck` over TLS: it trusts exactly the
/// certificate in the server's own certificate file (pinned by its bytes),
/// so it needs no CA and no host name, and still checks the handshake's
/// signatures.
///
/// # Errors
/// A message naming the certificate file that cannot be read.
pub fn pinned_client(cert: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let leaf = read_chain(cert)?.swap_remove(0);
    let provider = provider();
    let verifier = Arc::new(Pinned {
        leaf,
        provider: Arc::clone(&provider),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
