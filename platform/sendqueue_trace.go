package platform

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// traced sends m within a span "outbox.send" when tracing is on: the
// platform and the attempt, never the channel or the message.
func (o *SendQueue) traced(ctx context.Context, m *outMsg) error {
	if o.cfg.Tracer == nil {
		return safeSend(ctx, m.send)
	}
	ctx, span := o.cfg.Tracer.Start(ctx, "outbox.send", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("waddle.platform", o.cfg.Platform), attribute.Int("waddle.attempt", m.attempts+1)))
	defer span.End()
	err := safeSend(ctx, m.send)
	var ra *RetryAfter
	switch {
	case errors.As(err, &ra):
		span.SetAttributes(attribute.Bool("waddle.rate_limited", true))
		span.SetStatus(codes.Error, "rate limited")
	case err != nil:
		span.SetStatus(codes.Error, "refused")
	}
	return err
}
