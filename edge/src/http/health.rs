//! `GET /healthz` and `GET /readyz`, for load balancers and orchestrators:
//! the edge process is alive; the edge can serve (some core answers that
//! it can: its database answers and, in a cluster, its bus is up).

use crate::core_client::Cores;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// How long `/readyz` waits for each core's answer.
const CORE_PATIENCE: Duration = Duration::from_secs(1);

/// The two routes.
pub fn routes(cores: Arc<Cores>) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let alive = warp::path!("healthz")
        .and(warp::get())
        .map(|| reply(StatusCode::OK, "alive"));
    let ready = warp::path!("readyz").and(warp::get()).then(move || {
        let cores = cores.clone();
        async move {
            if cores.any_ready(CORE_PATIENCE).await {
                reply(StatusCode::OK, "ready")
            } else {
                reply(StatusCode::SERVICE_UNAVAILABLE, "no core can serve")
            }
        }
    });
    alive.or(ready).unify()
}

fn reply(status: StatusCode, text: &str) -> Response {
    let body = warp::reply::json(&json!({ "status": text }));
    warp::reply::with_status(body, status).into_response()
}
