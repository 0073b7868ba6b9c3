//! Traces across the edge and the core, exported with OTLP to a collector
//! the test runs (OTLP's own gRPC service): one WebSocket send is one
//! trace, edge → core operation → store and fan-out; a REST call continues
//! the trace its `traceparent` header names, edge → core call; a refused
//! operation's span is marked as failed.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World, send_frame};
use core_service::state::Settings;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// A span as exported, with the name of the service that exported it.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    span: Span,
}

/// An OTLP trace collector that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Exported>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
                .map(|value| match value {
                    AnyValue::StringValue(name) => name.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                kept.extend(scope.spans.into_iter().map(|span| Exported {
                    service: service.clone(),
                    span,
                }));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// Serves the collector on a port of its own; its endpoint URL.
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        format!("http://{address}")
    }

    fn spans(&self) -> Vec<Exported> {
        self.0.lock().unwrap().clone()
    }
}

/// The one span of `service` named `name` in `trace_id` (any trace when
/// `None`) whose parent is `parent` (any when `None`).
fn one<'a>(
    spans: &'a [Exported],
    service: &str,
    name: &str,
    parent: Option<&[u8]>,
) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|exported| exported.service == service && exported.span.name == name)
        .map(|exported| &exported.span)
        .filter(|span| parent.is_none_or(|parent| span.parent_span_id == parent))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_and_a_rest_call_are_each_one_trace_across_edge_and_core() {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let settings = Settings {
        otlp_endpoint: Some(endpoint.clone()),
        ..Settings::default()
    };
    let stack = Stack::start_configured(settings, |config| {
        config.otlp_endpoint = Some(endpoint);
    })
    .await;
    let world = World::new();
    stack.load(&world).await;
    let [sender, reader] = [&world.users[0], &world.users[1]];
    let mut sending = stack.login(sender).await;
    let mut reading = stack.login(reader).await;
    let (_, frame) = send_frame(sender, world.personal_chat, "traced");
    sending.send(frame).await;
    assert_eq!(sending.recv().await["type"], "message_ack");
    assert_eq!(reading.recv().await["type"], "message");
    sending
        .send(json!({"type": "typing", "chat_id": world.other_chat}))
        .await;
    sending.recv_error("not_a_member").await;
    let token = stack.access_token(reader).await;
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let url = stack.http_url(&format!("/history/{}", world.personal_chat));
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(&token)
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sending.close().await;
    reading.close().await;
    // Stopping flushes both processes' exporters.
    stack.stop().await;
    let spans = collector.spans();

    check_send(&spans);
    check_refused(&spans);
    check_rest_call(&spans, caller_trace, caller_span);
}

/// The send: the edge's span hands the operation over; the core's
/// continues it, and the store and the fan-out are within that.
fn check_send(spans: &[Exported]) {
    let core_send = one(spans, "messenger-core", "send_message", None);
    assert_eq!(core_send.len(), 1, "one core span per send: {spans:#?}");
    let core_send = core_send[0];
    assert_eq!(core_send.kind, SpanKind::Consumer as i32);
    let edge_send = one(spans, "messenger-edge", "send_message", None);
    assert_eq!(edge_send.len(), 1);
    let edge_send = edge_send[0];
    assert_eq!(edge_send.kind, SpanKind::Producer as i32);
    assert_eq!(core_send.trace_id, edge_send.trace_id, "one trace");
    assert_eq!(core_send.parent_span_id, edge_send.span_id);
    for step in ["store", "fan_out"] {
        let within = one(spans, "messenger-core", step, Some(&core_send.span_id));
        assert_eq!(within.len(), 1, "{step} within the send");
        assert_eq!(within[0].trace_id, core_send.trace_id);
        assert!(within[0].start_time_unix_nano >= core_send.start_time_unix_nano);
        assert!(within[0].end_time_unix_nano <= core_send.end_time_unix_nano);
    }
    assert!(
        core_send
            .attributes
            .iter()
            .any(|attribute| attribute.key == "messenger.seq"),
        "the send records its seq"
    );
}

/// The refused operation is one trace too, marked as failed.
fn check_refused(spans: &[Exported]) {
    let typing = one(spans, "messenger-core", "typing", None);
    assert_eq!(typing.len(), 1);
    let status = typing[0].status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "not_a_member");
}

/// The REST call continues the caller's trace: caller → edge → core.
fn check_rest_call(spans: &[Exported], caller_trace: &str, caller_span: &str) {
    let edge_get = spans
        .iter()
        .filter(|exported| exported.service == "messenger-edge")
        .map(|exported| &exported.span)
        .find(|span| hex(&span.trace_id) == caller_trace)
        .expect("the edge continued the caller's trace");
    assert_eq!(edge_get.name, "GET");
    assert_eq!(hex(&edge_get.parent_span_id), caller_span);
    assert_eq!(edge_get.kind, SpanKind::Server as i32);
    let core_get = one(
        spans,
        "messenger-core",
        "GetHistory",
        Some(&edge_get.span_id),
    );
    assert_eq!(core_get.len(), 1, "the core's call within the edge's");
    assert_eq!(hex(&core_get[0].trace_id), caller_trace);
}
