package main

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/router"
)

// otlpReceiver is an OpenTelemetry collector's OTLP/HTTP traces endpoint:
// it decodes the protobuf export requests as a collector does, refusing
// what a collector refuses, and keeps the spans with their service names.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	service map[string]bool
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	rc := &otlpReceiver{service: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					rc.service[a.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func spanAttr(s *tracepb.Span, key string) (string, bool) {
	for _, a := range s.GetAttributes() {
		if a.GetKey() == key {
			return anyValue(a.GetValue()), true
		}
	}
	return "", false
}

func anyValue(v *commonpb.AnyValue) string {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		return s.StringValue
	}
	return v.String()
}

// TestTracingFollowsAnEventFromHTTPToTheDatabase runs serve with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver, posts a chat command
// to the events API, stops serve (which flushes the spans) and follows the
// trace: the HTTP request, the router's batch and event, and the event's
// queries, each the child of the one before, without the message's text or
// the user's name.
func TestTracingFollowsAnEventFromHTTPToTheDatabase(t *testing.T) {
	t.Parallel()
	rc, endpoint := startOTLPReceiver(t)
	plain := testVars(t)
	const email, password = "ada@example.com", "ada-runs-the-waddle-hub"
	mustRunWaddle(t, setVars(plain, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, plain) // untraced: only serve's spans reach the receiver
	ctx := t.Context()
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(ctx, ada, "", "traced", community.Settings{Name: "Traced"})
	if err != nil {
		t.Fatal(err)
	}
	settings := router.NewSettings(router.New(router.Config{Pool: a.pool, Limiter: a.limiter, Logger: slog.New(slog.DiscardHandler)}))
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "tracechan", "Trace"); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hi", Response: "hi {user}", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	_, key, err := a.auth.CreateAPIKey(ctx, ada, "", "events", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}

	base, stop := startServe(t, setVars(plain, "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_SERVICE_NAME", "waddle-trace-test"))
	postEvents(t, base, key, `{"id":"t1","platform":"twitch","kind":"chat_message","server":"tracechan","channel":"tracechan",`+
		`"user":{"id":"7301","name":"secretviewer"},"text":"!hi confidential-words"}`)
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.service["waddle-trace-test"] {
		t.Errorf("service names %v, want waddle-trace-test from OTEL_SERVICE_NAME", rc.service)
	}
	byID := map[string]*tracepb.Span{}
	for _, s := range rc.spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	find := func(name string, parent *tracepb.Span) *tracepb.Span {
		t.Helper()
		for _, s := range rc.spans {
			if s.GetName() != name {
				continue
			}
			if parent == nil || (string(s.GetParentSpanId()) == string(parent.GetSpanId()) && string(s.GetTraceId()) == string(parent.GetTraceId())) {
				return s
			}
		}
		var names []string
		for _, s := range rc.spans {
			names = append(names, s.GetName())
		}
		t.Fatalf("no span %q (under %q) among %q", name, parent.GetName(), names)
		return nil
	}
	httpSpan := find("POST /api/v1/events", nil)
	if httpSpan.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("HTTP span kind %v", httpSpan.GetKind())
	}
	if route, _ := spanAttr(httpSpan, "http.route"); route != "/api/v1/events" {
		t.Errorf("http.route %q", route)
	}
	batch := find("router.handle_batch", httpSpan)
	event := find("router.event", batch)
	for k, want := range map[string]string{"waddle.platform": "twitch", "waddle.event.kind": "chat_message", "waddle.command": "hi"} {
		if got, _ := spanAttr(event, k); got != want {
			t.Errorf("router.event %s = %q, want %q", k, got, want)
		}
	}
	// The event's queries are its children, named by their sqlc names.
	var queries []string
	for _, s := range rc.spans {
		if string(s.GetParentSpanId()) == string(event.GetSpanId()) && strings.HasPrefix(s.GetName(), "db ") {
			queries = append(queries, s.GetName())
			if stmt, _ := spanAttr(s, "db.statement"); "db "+stmt != s.GetName() {
				t.Errorf("span %q: db.statement %q, want the query's name only", s.GetName(), stmt)
			}
		}
	}
	if len(queries) == 0 {
		t.Errorf("no query span under router.event")
	}
	// Nothing the viewer wrote or is called leaves in a span.
	for _, s := range rc.spans {
		for _, a := range s.GetAttributes() {
			v := anyValue(a.GetValue())
			if strings.Contains(v, "confidential") || strings.Contains(v, "secretviewer") || strings.Contains(v, "7301") {
				t.Errorf("span %q attribute %s = %q carries the event's text or user", s.GetName(), a.GetKey(), v)
			}
		}
		for _, e := range s.GetEvents() {
			if strings.Contains(e.String(), "confidential") {
				t.Errorf("span %q event %q carries the event's text", s.GetName(), e.GetName())
			}
		}
	}
	t.Logf("%d spans; the event's queries: %v", len(rc.spans), queries)
}
