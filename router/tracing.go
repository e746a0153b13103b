package router

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// noSpan is what the router ends when tracing is off: no span is made, and
// the context is left as it was.
var noSpan trace.Span = noop.Span{}

// startSpan begins the span of an event's handling, with its platform and
// kind (never its text or its user), when tracing is on.
func (r *Router) startSpan(ctx context.Context, name string, ev Event) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, noSpan
	}
	return r.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("waddle.platform", ev.Platform),
		attribute.String("waddle.event.kind", string(ev.Kind))))
}

// endSpan ends span, marking it failed when err is not nil. The error's
// text is left out: it may quote the event.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, "event failed")
	}
	span.End()
}

// traceCommand names the command an event ran on its span.
func (h *handling) traceCommand(ctx context.Context, cmd *Command) {
	if h.r.tracer == nil {
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("waddle.command", cmd.Name))
}
