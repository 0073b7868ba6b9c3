//! TLS to PostgreSQL: used when the database URL asks for it
//! (`sslmode=require`). The server's certificate is always verified, for
//! its name and against the roots: a CA file (`DATABASE_CA_FILE`) when
//! given, else the system's. An unverified connection would let anyone on
//! the path read and change every message, which is what TLS is asked for
//! to prevent.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why TLS to the database could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseTlsError {
    #[error("cannot read the database CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("the database CA file {0} holds no certificate")]
    NoCertificate(String),
    #[error("no trusted roots for the database's certificate: give DATABASE_CA_FILE")]
    NoRoots,
    #[error("cannot set up TLS: {0}")]
    Setup(#[from] rustls::Error),
}

/// A connector that verifies the server against `ca_file`'s certificates,
/// or the system's roots without one.
pub fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, DatabaseTlsError> {
    let roots = match ca_file {
        Some(path) => roots_from(path)?,
        None => system_roots(),
    };
    if roots.is_empty() {
        return Err(DatabaseTlsError::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn roots_from(path: &Path) -> Result<RootCertStore, DatabaseTlsError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| DatabaseTlsError::CaFile {
        path: shown.clone(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| unreadable(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(error.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(DatabaseTlsError::NoCertificate(shown));
    }
    Ok(roots)
}

fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a system root certificate could not be read");
    }
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    roots
}
