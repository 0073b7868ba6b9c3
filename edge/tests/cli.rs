//! `messenger-edge --check-config`: the effective settings with secrets
//! masked, warnings for doubtful ones, a refusal of contradictory ones.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const SECRET: &str = "an-edge-secret-of-some-length";

fn check_config(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-edge"));
    command.arg("--check-config");
    for name in [
        "EDGE_SECRET",
        "EDGE_SECRET_FILE",
        "ALLOWED_ORIGINS",
        "COOKIE_SECURE",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    core_service::testing::run_to_end(&mut command)
}

#[test]
fn an_https_origin_without_secure_cookies_is_a_warning() {
    let (ok, text) = check_config(&[
        ("EDGE_SECRET", SECRET),
        ("ALLOWED_ORIGINS", "https://chat.example.com"),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("warning: COOKIE_SECURE=false"), "{text}");
    assert!(
        text.contains("EDGE_SECRET: set") && !text.contains(SECRET),
        "{text}"
    );
    let (ok, text) = check_config(&[
        ("EDGE_SECRET", SECRET),
        ("ALLOWED_ORIGINS", "https://chat.example.com"),
        ("COOKIE_SECURE", "true"),
        ("EDGE_METRICS_LISTEN", "off"),
    ]);
    assert!(ok && !text.contains("warning"), "{text}");
}

/// A second edge on a machine, left at the first one's metrics address.
#[test]
fn a_metrics_address_another_process_holds_is_a_warning() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let env = [("EDGE_SECRET", SECRET), ("EDGE_METRICS_LISTEN", &address)];
    let (ok, text) = check_config(&env);
    assert!(ok, "a warning, not a refusal: {text}");
    let warning = format!("warning: EDGE_METRICS_LISTEN={address} cannot be served");
    assert!(text.contains(&warning), "{text}");
    drop(taken);
    let (ok, text) = check_config(&env);
    assert!(ok && !text.contains("warning"), "{text}");
}

#[test]
fn contradictions_are_refused() {
    let (ok, text) = check_config(&[]);
    assert!(!ok && text.contains("no EDGE_SECRET"), "{text}");
    let (ok, text) = check_config(&[("EDGE_SECRET", SECRET), ("TLS_CERT_FILE", "/tmp/cert.pem")]);
    assert!(!ok && text.contains("TLS_KEY_FILE"), "{text}");
    let (ok, text) = check_config(&[
        ("EDGE_SECRET", SECRET),
        ("ALLOWED_ORIGINS", "not an origin"),
    ]);
    assert!(!ok, "{text}");
}

#[test]
fn the_secret_comes_from_the_environment_or_a_file_never_a_flag() {
    // A flag would show the secret to every user of the machine (`ps`).
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-edge"));
    command.args(["--check-config", "--edge-secret", SECRET]);
    command
        .env_remove("EDGE_SECRET")
        .env_remove("EDGE_SECRET_FILE");
    let (ok, text) = core_service::testing::run_to_end(&mut command);
    assert!(!ok && text.contains("--edge-secret"), "{text}");

    let file = std::env::temp_dir().join(format!("edge-secret-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let path = file.to_str().unwrap();
    let (ok, text) = check_config(&[("EDGE_SECRET_FILE", path)]);
    assert!(
        ok && text.contains("EDGE_SECRET: set") && !text.contains(SECRET),
        "{text}"
    );
    let (ok, text) = check_config(&[("EDGE_SECRET_FILE", path), ("EDGE_SECRET", SECRET)]);
    assert!(!ok && text.contains("not both"), "{text}");
    std::fs::remove_file(&file).unwrap();
}
