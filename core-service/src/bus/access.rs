//! How a core proves itself to NATS: credentials and TLS, from the
//! configuration (`NATS_*`). async-nats takes nothing from the URL but
//! the address, so each credential is given on its own.

use std::fmt;
use std::path::PathBuf;

/// The credential a core presents to NATS; at most one.
#[derive(Clone, Default)]
pub enum NatsCredentials {
    /// None: the server lets anyone connect (a development server).
    #[default]
    None,
    /// A `.creds` file (a user JWT and its NKey seed).
    CredsFile(PathBuf),
    /// An NKey seed (`SU…`), read from a file.
    NKey(String),
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
}

impl fmt::Debug for NatsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsCredentials::None => f.write_str("None"),
            NatsCredentials::CredsFile(path) => write!(f, "CredsFile({})", path.display()),
            NatsCredentials::NKey(_) => f.write_str("NKey(***)"),
            NatsCredentials::UserPassword { user, .. } => write!(f, "UserPassword({user}, ***)"),
            NatsCredentials::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// TLS towards NATS beyond what a `tls://` URL asks for.
#[derive(Debug, Clone, Default)]
pub struct NatsTls {
    /// PEM certificates the server's certificate must chain to (else the
    /// system's roots).
    pub ca_file: Option<PathBuf>,
    /// PEM certificate and key this core presents (mutual TLS).
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// Credentials and TLS together.
#[derive(Debug, Clone, Default)]
pub struct NatsAccess {
    pub credentials: NatsCredentials,
    pub tls: NatsTls,
}

impl NatsAccess {
    /// Connection options carrying this access.
    pub async fn options(&self) -> std::io::Result<async_nats::ConnectOptions> {
        let options = async_nats::ConnectOptions::new();
        let mut options = match &self.credentials {
            NatsCredentials::None => options,
            NatsCredentials::CredsFile(path) => options.credentials_file(path).await?,
            NatsCredentials::NKey(seed) => options.nkey(seed.clone()),
            NatsCredentials::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            NatsCredentials::Token(token) => options.token(token.clone()),
        };
        if let Some(ca) = &self.tls.ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.tls.client_cert {
            options = options
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true);
        }
        Ok(options)
    }
}
