//! `messenger-core check-config`: the effective settings with secrets
//! masked, and a refusal of contradictory ones.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn check_config(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-core"));
    command.arg("check-config");
    let names = [
        "REDIS_URL",
        "NATS_URL",
        "EDGE_SECRET",
        "EDGE_SECRET_FILE",
        "DATABASE_URL",
    ];
    let cluster = ["CLUSTER_SECRET", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN"];
    for name in names.into_iter().chain(cluster) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    core_service::testing::run_to_end(&mut command)
}

#[test]
fn check_config_shows_the_settings_with_secrets_masked() {
    let secret = "an-edge-secret-of-some-length";
    let (ok, text) = check_config(&[
        (
            "DATABASE_URL",
            "postgres://app:s3cret-password@db:5432/messenger",
        ),
        ("EDGE_SECRET", secret),
        ("MAX_CHATS_PER_USER", "77"),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("DATABASE_URL=postgres://app:***@db:5432/messenger  (environment)"),
        "{text}"
    );
    assert!(
        text.contains("MAX_CHATS_PER_USER=77  (environment)"),
        "{text}"
    );
    assert!(
        text.contains("MAX_GROUPS_PER_USER=500  (default)"),
        "{text}"
    );
    assert!(text.contains("EDGE_SECRET: set"), "{text}");
    assert!(
        !text.contains("s3cret-password") && !text.contains(secret),
        "{text}"
    );
}

/// A second core on a machine, left at the first one's metrics address.
#[test]
fn check_config_warns_of_a_metrics_address_another_process_holds() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let secret = ("EDGE_SECRET", "an-edge-secret-of-some-length");
    let (ok, text) = check_config(&[secret, ("CORE_METRICS_LISTEN", &address)]);
    assert!(ok, "a warning, not a refusal: {text}");
    let warning = format!("warning: CORE_METRICS_LISTEN={address} cannot be served");
    assert!(text.contains(&warning), "{text}");
    drop(taken);
    let (ok, text) = check_config(&[secret, ("CORE_METRICS_LISTEN", &address)]);
    assert!(ok && !text.contains("warning"), "{text}");
}

#[test]
fn check_config_refuses_a_cluster_without_shared_counters() {
    let (ok, text) = check_config(&[("NATS_URL", "nats://127.0.0.1:4222")]);
    assert!(!ok, "{text}");
    assert!(text.contains("REDIS_URL"), "{text}");
}

#[test]
fn check_config_refuses_a_cluster_without_a_strong_secret_and_never_shows_it() {
    let cluster = [
        ("NATS_URL", "nats://127.0.0.1:4222"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
    ];
    let (ok, text) = check_config(&cluster);
    assert!(!ok && text.contains("CLUSTER_SECRET"), "{text}");
    let short = [cluster.as_slice(), &[("CLUSTER_SECRET", "too-short")]].concat();
    let (ok, text) = check_config(&short);
    assert!(!ok && text.contains("at least 32 characters"), "{text}");

    let secret = "a-cluster-secret-long-enough-to-use-0123";
    let password = "the-nats-password";
    let given = [
        ("CLUSTER_SECRET", secret),
        ("NATS_USER", "core"),
        ("NATS_PASSWORD", password),
    ];
    let (ok, text) = check_config(&[cluster.as_slice(), &given].concat());
    assert!(ok, "{text}");
    assert!(text.contains("CLUSTER_SECRET: set"), "{text}");
    assert!(text.contains("UserPassword(core, ***)"), "{text}");
    assert!(!text.contains(secret) && !text.contains(password), "{text}");
    let half = [cluster.as_slice(), &given[..2]].concat();
    let (ok, text) = check_config(&half);
    assert!(
        !ok && text.contains("NATS_USER and NATS_PASSWORD go together"),
        "{text}"
    );
}

#[test]
fn the_edge_secret_is_no_flag() {
    // A flag would show the secret to every user of the machine (`ps`).
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-core"));
    command.args(["serve", "--edge-secret", "an-edge-secret-of-some-length"]);
    let (ok, text) = core_service::testing::run_to_end(&mut command);
    assert!(!ok && text.contains("--edge-secret"), "{text}");
}
