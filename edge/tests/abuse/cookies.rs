//! Cookies a sibling site could plant: with `COOKIE_SECURE` the session
//! cookie is `__Host-` prefixed, and only that name is honoured.

use crate::common::{Stack, World, get_with, post_json};
use core_service::state::Limits;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_secure_cookies_only_the_host_prefixed_cookie_counts() {
    let stack = Stack::start_configured(Limits::default(), |config| {
        config.cookie_secure = Some(true)
    })
    .await;
    let world = World::new();
    stack.load(&world).await;
    let user = &world.users[0];
    let login = json!({"email": user.email, "password": user.password});
    let (status, headers, _) = post_json(&stack, "/auth/login", login, &[]).await;
    assert_eq!(status, 200);
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-messenger_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let host = format!("__Host-messenger_session={token}");
    assert_eq!(get_with(&stack, "/me", &[("cookie", &host)]).await.0, 200);
    // The same token under the plain name, as a sibling subdomain could set it.
    let planted = format!("messenger_session={token}");
    assert_eq!(
        get_with(&stack, "/me", &[("cookie", &planted)]).await.0,
        401
    );
    stack.stop().await;
}
