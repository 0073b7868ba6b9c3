//! `CheckLogin`.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_login_answers_without_revealing_which_part_was_wrong() {
    let core = start(Limits::default()).await;
    let mut client = MessengerClient::new(core.channel().await);
    let user = &core.data.users[0];
    let ok = client
        .check_login(Login {
            email: user.email.clone(),
            password: user.password.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.id, user.id.to_string());
    let wrong_password = client
        .check_login(Login {
            email: user.email.clone(),
            password: "x".into(),
        })
        .await
        .unwrap_err();
    let unknown = client
        .check_login(Login {
            email: "nobody@example.com".into(),
            password: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!(wrong_password.message(), unknown.message());
    core.stop().await;
}
