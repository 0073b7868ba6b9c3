//! What the tests that run the `messenger` binary share: its command, on
//! a test database and ports of its own.

use core_service::testing::TestDatabase;
use std::path::PathBuf;
use std::process::Command;

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The messenger on `db`, its edge on `edge_port` and its core on
/// `core_port` (metrics on free ports), logging warnings only.
pub fn messenger(db: &TestDatabase, edge_port: u16, core_port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger"));
    command
        .current_dir(workspace())
        .env("DATABASE_URL", db.url())
        .env("MEDIA_URL", db.media_url())
        .env("EDGE_LISTEN", format!("127.0.0.1:{edge_port}"))
        .env("CORE_LISTEN", format!("127.0.0.1:{core_port}"))
        .env("CORE_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("EDGE_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "warn");
    command
}
