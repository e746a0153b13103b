package platform

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestSendQueueTracesEachSend(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	o := NewSendQueue(SendQueueConfig{Platform: "discord", MaxAttempts: 1, Tracer: tp.Tracer("test")})
	var inSpan bool
	r := &recorder{}
	o.Send("secret-channel", High, func(ctx context.Context) error {
		inSpan = spanName(ctx) == "outbox.send" // the platform's client sees the span
		return r.send("hello secret words")(ctx)
	})
	o.Send("secret-channel", High, func(context.Context) error { return errors.New("403 missing access") })
	o.Send("secret-channel", High, func(context.Context) error { return &RetryAfter{Wait: time.Millisecond} })
	cancel := runQueue(t, o)
	eventually(t, "three sends", func() bool { return len(spans.Ended()) == 3 })
	cancel()
	if !inSpan {
		t.Error("the send did not run in its span")
	}
	got := spans.Ended()
	wantStatus := []codes.Code{codes.Unset, codes.Error, codes.Error}
	for i, s := range got {
		if s.Name() != "outbox.send" {
			t.Errorf("span %d named %q", i, s.Name())
		}
		if s.Status().Code != wantStatus[i] {
			t.Errorf("span %d status %v, want %v", i, s.Status().Code, wantStatus[i])
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[a.Key] = a.Value
			if v := a.Value.String(); v == "secret-channel" || v == "hello secret words" {
				t.Errorf("span %d carries %s=%q", i, a.Key, v)
			}
		}
		if attrs["waddle.platform"].AsString() != "discord" {
			t.Errorf("span %d platform %v", i, attrs["waddle.platform"])
		}
	}
	if rl := got[2].Attributes(); len(rl) < 3 || !hasTrue(rl, "waddle.rate_limited") {
		t.Errorf("the rate-limited send's span: %v", rl)
	}
}

func spanName(ctx context.Context) string {
	if s, ok := trace.SpanFromContext(ctx).(sdktrace.ReadOnlySpan); ok {
		return s.Name()
	}
	return ""
}

func hasTrue(attrs []attribute.KeyValue, key attribute.Key) bool {
	for _, a := range attrs {
		if a.Key == key && a.Value.AsBool() {
			return true
		}
	}
	return false
}
