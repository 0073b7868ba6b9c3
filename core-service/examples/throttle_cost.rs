//! What the login throttle costs per login, in memory and through Redis
//! (`REDIS_URL`, or 127.0.0.1:6379). Run by hand:
//! `cargo run --release -p core-service --example throttle_cost`.

use core_service::auth::throttle::{Limits, Throttle};
use core_service::email::Email;
use core_service::redis_link::RedisLink;
use std::time::{Duration, Instant};

const LOGINS: u32 = 5000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Limits no run reaches: every attempt is counted, none refused.
    let limits = Limits {
        per_account: 1_000_000,
        per_address: 1_000_000,
        window: Duration::from_secs(60),
    };
    let throttles = [
        ("in memory", Throttle::local(limits)),
        (
            "through Redis",
            Throttle::shared(limits, RedisLink::new(&url, None)?),
        ),
    ];
    for (name, throttle) in throttles {
        // The first call connects.
        let _ = throttle
            .begin(&Email::normalize("warm-up@cost.test")?, None)
            .await;
        let started = Instant::now();
        for n in 0..LOGINS {
            let email = Email::normalize(&format!("user{}@cost.test", n % 100))?;
            let Ok(attempt) = throttle.begin(&email, Some("192.0.2.1")).await else {
                return Err("an attempt was refused".into());
            };
            // Half the logins succeed, which costs a second call.
            if n % 2 == 0 {
                throttle.succeeded(&attempt).await;
            }
        }
        println!("{name}: {:?} per login", started.elapsed() / LOGINS);
    }
    Ok(())
}
