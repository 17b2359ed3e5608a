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
        leaf: Some(leaf),
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

/// A verifier that checks the handshake's signatures and accepts the
/// certificate `leaf` alone (`healthcheck`), or, with `None`, any
/// certificate (PostgreSQL's `prefer` and `require`, as libpq's).
#[derive(Debug)]
struct Pinned {
    leaf: Option<CertificateDer<'static>>,
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
        if self
            .leaf
            .as_ref()
            .is_none_or(|leaf| end_entity.as_ref() == leaf.as_ref())
        {
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

/// How a PostgreSQL connection is protected, from the URL's `sslmode`
/// (libpq's names and meanings) and `sslrootcert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresTls {
    /// `disable`, or no `sslmode`: plain TCP.
    Disable,
    /// `prefer`: TLS when the server offers it, the certificate unchecked
    /// (libpq's meaning: it stops a passive listener, not an impostor).
    Prefer,
    /// `require`: TLS or no connection, the certificate unchecked.
    Require,
    /// `verify-ca`: TLS, the chain checked against `sslrootcert`.
    VerifyCa(Roots),
    /// `verify-full`: `verify-ca` and the host name in the certificate.
    VerifyFull(Roots),
}

/// The certificate authorities a `verify-*` mode trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// `sslrootcert=PATH`: the PEM certificates in that file.
    File(PathBuf),
    /// `sslrootcert=system`: the Mozilla roots built in.
    System,
}

impl PostgresTls {
    /// Splits `sslmode` and `sslrootcert` off a `postgres://` URL: the
    /// mode, and the URL that tokio-postgres reads (which knows
    /// `disable`, `prefer` and `require` only, and no `sslrootcert`).
    ///
    /// # Errors
    /// A message naming the parameter that is wrong; never the URL (it
    /// may hold a password).
    pub fn split_url(url: &str) -> Result<(Self, String), String> {
        // The query starts at the first `?` after the user information: a
        // password may hold a `?` of its own (libpq reads it up to the `@`).
        // As libpq: the user information runs to an `@` met before any `/`.
        let authority = url.find("://").map_or(0, |at| at + 3);
        let after_user = match url[authority..].find(['@', '/']) {
            Some(at) if url[authority + at..].starts_with('@') => authority + at + 1,
            _ => authority,
        };
        let (base, query) = match url[after_user..].find('?') {
            Some(at) => (&url[..after_user + at], &url[after_user + at + 1..]),
            None => (url, ""),
        };
        let mut kept = Vec::new();
        let mut mode = None;
        let mut root = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "sslmode" => &mut mode,
                "sslrootcert" => &mut root,
                _ => {
                    kept.push(pair);
                    continue;
                }
            };
            let decoded = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("the PostgreSQL URL's {key} is not UTF-8"))?
                .into_owned();
            if slot.replace(decoded).is_some() {
                return Err(format!("the PostgreSQL URL gives {key} twice"));
            }
        }
        let roots = || {
            match root.as_deref() {
            Some("system") => Ok(Roots::System),
            Some(path) if !path.is_empty() => Ok(Roots::File(PathBuf::from(path))),
            _ => Err("sslmode verify-ca and verify-full need sslrootcert=PATH (a PEM file of the CA) or sslrootcert=system".to_owned()),
        }
        };
        let (tls, passed) = match mode.as_deref() {
            None | Some("disable") => (Self::Disable, "disable"),
            Some("prefer") => (Self::Prefer, "prefer"),
            Some("require") => (Self::Require, "require"),
            Some("verify-ca") => (Self::VerifyCa(roots()?), "require"),
            Some("verify-full") => (Self::VerifyFull(roots()?), "require"),
            Some(_) => {
                return Err(
                    "the PostgreSQL URL's sslmode: give disable, prefer, require, verify-ca or verify-full"
                        .into(),
                );
            }
        };
        if root.is_some() && !matches!(tls, Self::VerifyCa(_) | Self::VerifyFull(_)) {
            return Err(
                "the PostgreSQL URL has sslrootcert without sslmode=verify-ca or verify-full: it would check nothing".into(),
            );
        }
        kept.push(match passed {
            "disable" => "sslmode=disable",
            "prefer" => "sslmode=prefer",
            _ => "sslmode=require",
        });
        Ok((tls, format!("{base}?{}", kept.join("&"))))
    }

    /// The rustls client configuration of this mode; `None` for
    /// [`PostgresTls::Disable`].
    ///
    /// # Errors
    /// A message naming the root certificate file that cannot be read.
    pub fn client_config(&self) -> Result<Option<rustls::ClientConfig>, String> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?;
        let config = match self {
            Self::Disable => return Ok(None),
            Self::Prefer | Self::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned {
                    leaf: None,
                    provider,
                }))
                .with_no_client_auth(),
            Self::VerifyFull(roots) => builder
                .with_root_certificates(roots.load()?)
                .with_no_client_auth(),
            Self::VerifyCa(roots) => {
                let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots.load()?),
                    provider,
                )
                .build()
                .map_err(|e| format!("sslrootcert: {e}"))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyName { inner }))
                    .with_no_client_auth()
            }
        };
        Ok(Some(config))
    }
}

impl Roots {
    fn load(&self) -> Result<rustls::RootCertStore, String> {
        let mut store = rustls::RootCertStore::empty();
        match self {
            Self::System => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Self::File(path) => {
                for cert in read_chain(path).map_err(|e| format!("sslrootcert: {e}"))? {
                    store
                        .add(cert)
                        .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                }
            }
        }
        Ok(store)
    }
}

/// `verify-ca`: the chain checked, the host name not.
#[derive(Debug)]
struct AnyName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_split_their_tls_parameters_off() {
        let split = |url: &str| PostgresTls::split_url(url);
        assert_eq!(
            split("postgres://u@h/d"),
            Ok((
                PostgresTls::Disable,
                "postgres://u@h/d?sslmode=disable".into()
            ))
        );
        assert_eq!(
            split("postgres://u@h/d?application_name=x&sslmode=require"),
            Ok((
                PostgresTls::Require,
                "postgres://u@h/d?application_name=x&sslmode=require".into()
            ))
        );
        assert_eq!(
            split("postgres://u@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"),
            Ok((
                PostgresTls::VerifyFull(Roots::File("/etc/ca.pem".into())),
                "postgres://u@h/d?sslmode=require".into()
            ))
        );
        assert_eq!(
            split("postgres://u@h/d?sslrootcert=system&sslmode=verify-ca"),
            Ok((
                PostgresTls::VerifyCa(Roots::System),
                "postgres://u@h/d?sslmode=require".into()
            ))
        );
        assert_eq!(
            split("postgres://u@h/d?sslmode=prefer").map(|s| s.0),
            Ok(PostgresTls::Prefer)
        );
        // A password with `?`, `&` and `=` in it: the query is after the `@`.
        assert_eq!(
            split("postgres://u:p?w&x=y@h:5432/d?sslmode=require"),
            Ok((
                PostgresTls::Require,
                "postgres://u:p?w&x=y@h:5432/d?sslmode=require".into()
            ))
        );
        assert_eq!(
            split("postgres://u:p?sslmode=disable@h/d").map(|s| s.0),
            Ok(PostgresTls::Disable)
        );
        assert_eq!(
            split("postgres://h?sslmode=verify-ca&sslrootcert=system").map(|s| s.0),
            Ok(PostgresTls::VerifyCa(Roots::System))
        );
        for wrong in [
            "postgres://u:secret@h/d?sslmode=require&sslmode=disable",
            "postgres://u:secret@h/d?sslmode=verify-full",
            "postgres://u:secret@h/d?sslmode=allow-all",
            "postgres://u:secret@h/d?sslmode=require&sslrootcert=/ca.pem",
            "postgres://u:secret@h/d?sslmode=%FF",
        ] {
            let message = split(wrong).unwrap_err();
            assert!(!message.contains("secret"), "{message}");
            assert!(message.contains("ssl"), "{message}");
        }
    }
}
