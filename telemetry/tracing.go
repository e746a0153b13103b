package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig is the tracing part of the standard OpenTelemetry
// variables. Tracing is on when an endpoint is set and the SDK is not
// disabled; off, nothing is traced and nothing is spent.
type TracingConfig struct {
	Endpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to its /v1/traces
	TracesEndpoint string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full URL for traces, taking precedence
	ServiceName    string // OTEL_SERVICE_NAME; default "waddle"
	Disabled       bool   // OTEL_SDK_DISABLED=true
}

// TracingFromEnv reads the variables through getenv.
func TracingFromEnv(getenv func(string) string) TracingConfig {
	c := TracingConfig{
		Endpoint:       strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")),
		TracesEndpoint: strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
		ServiceName:    strings.TrimSpace(getenv("OTEL_SERVICE_NAME")),
		Disabled:       strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true"),
	}
	if c.ServiceName == "" {
		c.ServiceName = "waddle"
	}
	return c
}

// On reports whether spans are exported.
func (c TracingConfig) On() bool {
	return !c.Disabled && (c.Endpoint != "" || c.TracesEndpoint != "")
}

// Problem names the variable that is wrong and why, or returns "", "".
func (c TracingConfig) Problem() (variable, why string) {
	for _, v := range []struct{ name, value string }{{"OTEL_EXPORTER_OTLP_ENDPOINT", c.Endpoint}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.TracesEndpoint}} {
		if v.value == "" {
			continue
		}
		u, err := url.Parse(v.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return v.name, fmt.Sprintf("is %q: want an http or https URL such as http://otel-collector:4318", v.value)
		}
	}
	return "", ""
}

// tracesURL is where spans are posted.
func (c TracingConfig) tracesURL() string {
	if c.TracesEndpoint != "" {
		return c.TracesEndpoint
	}
	return strings.TrimSuffix(c.Endpoint, "/") + "/v1/traces"
}

// Tracing is the tracer provider of a process, or nothing when off.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil: off
}

// NewTracing starts exporting spans over OTLP/HTTP (protobuf) when c is on.
// Off, it returns a Tracing whose Provider is nil. Other OTEL_EXPORTER_OTLP_*
// variables (headers, timeout, compression) and OTEL_TRACES_SAMPLER are read
// by the exporter and the SDK from the process environment.
func NewTracing(ctx context.Context, c TracingConfig) (*Tracing, error) {
	if !c.On() {
		return &Tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(c.tracesURL()))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(c.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	return &Tracing{provider: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))}, nil
}

// Provider returns the tracer provider, nil when tracing is off: callers
// then make no spans at all.
func (t *Tracing) Provider() trace.TracerProvider {
	if t.provider == nil {
		return nil
	}
	return t.provider
}

// Tracer returns the named tracer, nil when tracing is off.
func (t *Tracing) Tracer(name string) trace.Tracer {
	if t.provider == nil {
		return nil
	}
	return t.provider.Tracer(name)
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Handler traces each request through next, continuing a trace the caller
// sent in a W3C traceparent header. Off, it returns next itself.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if t.provider == nil {
		return next
	}
	return otelhttp.NewHandler(next, "http", otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.TraceContext{}))
}
