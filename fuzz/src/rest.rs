//! The edge's REST routes, called as a client would call them: any
//! method, path, query and body. The cores are unreachable, so a request
//! that passes its checks ends with 503; what the fuzzing looks for is
//! a panic, or a 500 (an input the edge did not expect).

use clap::Parser;
use edge::config::EdgeConfig;
use edge::core_client::Cores;
use messenger_proto::EdgeSecret;
use std::sync::Arc;
use tokio::runtime::Runtime;
use warp::Filter;
use warp::http::Uri;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    config: EdgeConfig,
}

/// The target: a request for each input. The first byte chooses the
/// method (bit 0: POST, else GET), a bearer credential (bit 1) and a form
/// body (bit 2, else JSON); up to the first newline is the path and
/// query; the rest is the body.
pub fn target() -> impl FnMut(&[u8]) {
    let runtime = Runtime::new().expect("a runtime");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let routes = runtime.block_on(async {
        let config = Flags::parse_from(["edge"]).config;
        // Nothing listens on port 1: every call to a core fails at once.
        let cores = Cores::connect_lazy(&["http://127.0.0.1:1".into()], &EdgeSecret::random())
            .expect("a valid URL");
        edge::routes(config, Arc::new(cores), shutdown, Default::default())
    });
    move |data| {
        let _running = &stop;
        runtime.block_on(request(&routes, data));
    }
}

async fn request<F>(routes: &F, data: &[u8])
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply + Send,
{
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let split = rest
        .iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(rest.len());
    let (path, body) = rest.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let path = format!("/{}", path.trim_start_matches('/'));
    // A request line that is not a URI never reaches the routes.
    if path.parse::<Uri>().is_err() {
        return;
    }
    let mut request = warp::test::request()
        .method(if flags & 1 == 1 { "POST" } else { "GET" })
        .path(&path)
        .header("host", "127.0.0.1:8000")
        .body(body);
    if flags & 2 == 2 {
        request = request.header("authorization", "Bearer not-a-real-token");
    }
    let content_type = if flags & 4 == 4 {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let response = request
        .header("content-type", content_type)
        .reply(routes)
        .await;
    assert_ne!(response.status(), 500, "{path}: {:?}", response.body());
}
