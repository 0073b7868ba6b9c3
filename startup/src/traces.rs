//! Traces across processes: the edge starts a span for each client
//! operation and REST call and hands its W3C trace context (`traceparent`)
//! to the core, which continues it (its operation, the store, the
//! fan-out). Spans are exported with OTLP/gRPC when an endpoint is
//! configured (`OTEL_EXPORTER_OTLP_ENDPOINT`); without one, [`Traces`] is
//! off and every call here is a branch on `None`, so the hot path pays
//! nothing.
//!
//! Sampling follows the standard variables (`OTEL_TRACES_SAMPLER`,
//! `OTEL_TRACES_SAMPLER_ARG`; by default every trace, and a process always
//! follows the decision of the trace it continues).

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
pub use opentelemetry::trace::SpanKind;
use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::borrow::Cow;
use std::sync::Arc;

/// The header (HTTP) and metadata entry (gRPC) a trace context travels in.
pub const TRACEPARENT: &str = "traceparent";

/// Where a process sends its spans, if anywhere.
#[derive(Clone, Default)]
pub struct Traces(Option<Arc<Exporting>>);

struct Exporting {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

/// Why spans cannot be exported.
#[derive(Debug, thiserror::Error)]
#[error("cannot export traces to OTEL_EXPORTER_OTLP_ENDPOINT: {0}")]
pub struct TracesError(#[from] opentelemetry_otlp::ExporterBuildError);

impl Traces {
    /// Exports spans of `service` (its `service.name`) to the OTLP/gRPC
    /// collector at `endpoint` (e.g. `http://127.0.0.1:4317`), or nothing
    /// when there is none. Call within the tokio runtime: the exporter's
    /// connection lives on it.
    pub fn export(endpoint: Option<&str>, service: &'static str) -> Result<Traces, TracesError> {
        let Some(endpoint) = endpoint.map(str::trim).filter(|url| !url.is_empty()) else {
            return Ok(Traces::default());
        };
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        let tracer = provider.tracer(service);
        Ok(Traces(Some(Arc::new(Exporting { provider, tracer }))))
    }

    /// Whether spans are exported.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Starts a span that continues the trace of `parent` (a `traceparent`
    /// value; a new trace when it is absent or invalid).
    pub fn start(
        &self,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        parent: Option<&str>,
    ) -> Trace {
        let Some(exporting) = &self.0 else {
            return Trace(None);
        };
        let parent = parent.map_or_else(Context::new, |value| {
            TraceContextPropagator::new().extract(&Traceparent(value))
        });
        let span = exporting
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .start_with_context(&exporting.tracer, &parent);
        Trace(Some(Arc::new(Spanned {
            context: parent.with_span(span),
            tracer: exporting.tracer.clone(),
        })))
    }

    /// Exports the spans not sent yet and stops exporting. Blocking work,
    /// done on a thread of its own: the export runs on the runtime.
    pub async fn shutdown(&self) {
        let Some(exporting) = self.0.clone() else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || {
            exporting.provider.shutdown().map_err(|e| e.to_string())
        })
        .await;
        if let Ok(Err(error)) = done {
            tracing::warn!(%error, "some spans could not be exported");
        }
    }
}

/// One span, open until the last clone of it is dropped; `Trace(None)`
/// when traces are off.
#[derive(Clone, Default)]
pub struct Trace(Option<Arc<Spanned>>);

struct Spanned {
    context: Context,
    tracer: SdkTracer,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(spanned) => write!(
                formatter,
                "Trace({:?})",
                spanned.context.span().span_context()
            ),
            None => formatter.write_str("Trace(off)"),
        }
    }
}

impl Trace {
    /// A span within this one (none when this is none).
    pub fn child(&self, name: &'static str) -> Trace {
        let Some(spanned) = &self.0 else {
            return Trace(None);
        };
        let span = spanned.tracer.start_with_context(name, &spanned.context);
        Trace(Some(Arc::new(Spanned {
            context: spanned.context.with_span(span),
            tracer: spanned.tracer.clone(),
        })))
    }

    /// The `traceparent` value that continues this span in another process.
    pub fn traceparent(&self) -> Option<String> {
        let spanned = self.0.as_ref()?;
        let mut carrier = Carrier(None);
        TraceContextPropagator::new().inject_context(&spanned.context, &mut carrier);
        carrier.0
    }

    /// Records a fact about the span's work (an attribute); `value` is
    /// only worked out when the span is recorded.
    pub fn record<V: Into<Value>>(&self, key: &'static str, value: impl FnOnce() -> V) {
        if let Some(spanned) = &self.0 {
            let span = spanned.context.span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new(key, value()));
            }
        }
    }

    /// Marks the span's work as failed, with why.
    pub fn fail(&self, why: impl Into<Cow<'static, str>>) {
        if let Some(spanned) = &self.0 {
            spanned.context.span().set_status(Status::error(why));
        }
    }

    /// Ends the span now rather than when it is dropped.
    pub fn end(self) {
        if let Some(spanned) = &self.0 {
            spanned.context.span().end();
        }
    }
}

/// A `traceparent` value read by the propagator.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// The `traceparent` value the propagator writes.
struct Carrier(Option<String>);

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_traces_start_nothing_and_pass_nothing_on() {
        let traces = Traces::default();
        assert!(!traces.is_on());
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = traces.start("send_message", SpanKind::Server, Some(parent));
        assert_eq!(trace.traceparent(), None);
        assert_eq!(trace.child("store").traceparent(), None);
    }

    #[tokio::test]
    async fn a_span_continues_the_trace_it_is_given() {
        let traces = Traces::export(Some("http://127.0.0.1:9"), "test").expect("a valid URL");
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = traces.start("operation", SpanKind::Server, Some(parent));
        let passed = trace.traceparent().expect("a trace context");
        assert!(passed.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(passed.ends_with("-01"), "sampled, as its parent: {passed}");
        assert_ne!(passed, parent, "a span of its own");
        let child = trace.child("store").traceparent().expect("a trace context");
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert_ne!(child, passed);

        let fresh = traces.start("operation", SpanKind::Server, Some("garbage"));
        let fresh = fresh.traceparent().expect("a new trace");
        assert!(!fresh.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let follows = traces.start("operation", SpanKind::Server, Some(unsampled));
        let follows = follows.traceparent().expect("a trace context");
        assert!(follows.ends_with("-00"), "not sampled, as its parent");
        traces.shutdown().await;
    }
}
