//! Access that outlives its grant: sessions past their token's expiry or
//! their login's end, and a logout racing a refresh.

use crate::common::*;
use messenger_proto::v1::EndReason;
use messenger_proto::v1::{RefreshGrant, RevokeRequest, TokenGrant, TokenRequest, token_request};

/// A fresh token pair of demo user `user` (a login of its own).
async fn token_pair(core: &Core, user: usize) -> TokenGrant {
    use messenger_proto::v1::PasswordGrant;
    let user = &core.data.users[user];
    let grant = token_request::Grant::Password(PasswordGrant {
        username: user.email.clone(),
        password: user.password.clone(),
    });
    let mut client = MessengerClient::new(core.channel().await);
    let request = TokenRequest { grant: Some(grant) };
    client.grant_tokens(request).await.unwrap().into_inner()
}

/// Exchanges `refresh_token` for a new pair.
async fn refresh(core: &Core, refresh_token: &str) -> Result<TokenGrant, tonic::Status> {
    let grant = token_request::Grant::Refresh(RefreshGrant {
        refresh_token: refresh_token.into(),
    });
    let mut client = MessengerClient::new(core.channel().await);
    let request = TokenRequest { grant: Some(grant) };
    client
        .grant_tokens(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Logs out the login of `access_token`.
async fn logout(core: &Core, access_token: &str) -> Result<(), tonic::Status> {
    let mut client = MessengerClient::new(core.channel().await);
    let request = authorized(RevokeRequest {}, access_token);
    client.revoke(request).await.map(drop)
}

/// Whether `access_token` is accepted.
async fn accepted(core: &Core, access_token: &str) -> bool {
    let mut client = MessengerClient::new(core.channel().await);
    let request = authorized(pb::AuthenticateRequest {}, access_token);
    client.authenticate(request).await.is_ok()
}

/// Opens session `number` with `token` and takes its `auth_success` and
/// `resumable`; the resumable's token.
async fn open_with_token(
    signals: &mpsc::Sender<pb::LinkSignal>,
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
    number: u64,
    token: &str,
) -> String {
    open_linked(signals, number, token).await;
    let success = event_of(delivery(link).await);
    assert!(
        matches!(success, Some(Event::AuthSuccess(_))),
        "{success:?}"
    );
    resumable(link, number).await.token
}

/// The reason the next delivery ends `number` with.
async fn ended(
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
    number: u64,
) -> EndReason {
    let delivery = delivery(link).await;
    assert_eq!(delivery.sessions, vec![number], "{delivery:?}");
    delivery.ended.expect("the session ended").reason()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_with_an_access_token_ends_when_the_token_expires() {
    let settings = Settings {
        auth: AuthSettings {
            access_token_ttl: Duration::from_secs(2),
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let core = start(settings).await;
    let tokens = token_pair(&core, 0).await;
    let (signals, mut link) = edge_link(&core).await;
    let resume = open_with_token(&signals, &mut link, 1, &tokens.access_token).await;
    assert_eq!(ended(&mut link, 1).await, EndReason::Expired);
    // Moving the session elsewhere does not extend it: its resume token
    // expired with the access token.
    open_linked(&signals, 2, &resume).await;
    assert_eq!(ended(&mut link, 2).await, EndReason::LoggedOut);
    let sql = "SELECT count(*) FROM connections WHERE end_reason = 'expired'";
    wait_for_count(&core, sql, 1).await;
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_ends_the_sessions_its_login_moved_elsewhere() {
    let core = start(Limits::default()).await;
    let tokens = token_pair(&core, 0).await;
    let other = token_pair(&core, 0).await;
    let (signals, mut link) = edge_link(&core).await;
    let resume = open_with_token(&signals, &mut link, 1, &tokens.access_token).await;
    // The edge moves the session (here: opens it again with its token).
    open_with_token(&signals, &mut link, 2, &resume).await;
    open_with_token(&signals, &mut link, 3, &other.access_token).await;
    logout(&core, &tokens.access_token).await.unwrap();
    // Both end, in either order.
    let mut endings = Vec::new();
    for _ in 0..2 {
        let delivery = delivery(&mut link).await;
        let reason = delivery.ended.expect("a session ended").reason();
        endings.push((delivery.sessions[0], reason));
    }
    endings.sort_by_key(|(session, _)| *session);
    assert_eq!(
        endings,
        [(1, EndReason::LoggedOut), (2, EndReason::LoggedOut)]
    );
    assert!(
        accepted(&core, &other.access_token).await,
        "another login lives on"
    );
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_its_logins_sessions_only() {
    let core = start(Limits::default()).await;
    let tokens = token_pair(&core, 0).await;
    let other = token_pair(&core, 0).await;
    let (signals, mut link) = edge_link(&core).await;
    open_with_token(&signals, &mut link, 1, &tokens.access_token).await;
    open_with_token(&signals, &mut link, 2, &other.access_token).await;
    let rotated = refresh(&core, &tokens.refresh_token).await.unwrap();
    // The first refresh token again, as a thief who copied it would.
    let reused = refresh(&core, &tokens.refresh_token).await.unwrap_err();
    assert_eq!(reused.code(), Code::Unauthenticated, "{reused:?}");
    assert_eq!(ended(&mut link, 1).await, EndReason::LoggedOut);
    assert!(!accepted(&core, &rotated.access_token).await);
    assert!(accepted(&core, &other.access_token).await);
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_racing_a_refresh_leaves_no_live_token() {
    let core = start(Limits::default()).await;
    for _ in 0..30 {
        let tokens = token_pair(&core, 0).await;
        let (rotated, logged_out) = tokio::join!(
            refresh(&core, &tokens.refresh_token),
            logout(&core, &tokens.access_token)
        );
        logged_out.unwrap();
        if let Ok(rotated) = rotated {
            assert!(
                !accepted(&core, &rotated.access_token).await,
                "a pair issued while logging out outlived the logout"
            );
            let again = refresh(&core, &rotated.refresh_token).await;
            assert!(again.is_err(), "its refresh token is revoked too");
        }
    }
    core.stop().await;
}
