package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/telemetry"
)

func TestLoadTracingConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		env    map[string]string
		want   telemetry.TracingConfig
		wantOn bool
	}{
		{"off by default", nil, telemetry.TracingConfig{ServiceName: "waddle"}, false},
		{"on with the endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			telemetry.TracingConfig{Endpoint: "http://collector:4318", ServiceName: "waddle"}, true},
		{"on with the traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example.com/v1/traces", "OTEL_SERVICE_NAME": "waddle-eu"},
			telemetry.TracingConfig{TracesEndpoint: "https://collector.example.com/v1/traces", ServiceName: "waddle-eu"}, true},
		{"disabled despite an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"},
			telemetry.TracingConfig{Endpoint: "http://collector:4318", ServiceName: "waddle", Disabled: true}, false},
		{"not disabled by false", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "false"},
			telemetry.TracingConfig{Endpoint: "http://collector:4318", ServiceName: "waddle"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := loadConfig(configEnv(validVars(tc.env)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got.Tracing); d != "" {
				t.Errorf("tracing (-want +got):\n%s", d)
			}
			if got.Tracing.On() != tc.wantOn {
				t.Errorf("On() = %v, want %v", got.Tracing.On(), tc.wantOn)
			}
		})
	}
}

func TestLoadTracingConfigRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, wantVar string
		env           map[string]string
	}{
		{"endpoint without scheme", "OTEL_EXPORTER_OTLP_ENDPOINT", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}},
		{"gRPC scheme", "OTEL_EXPORTER_OTLP_ENDPOINT", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}},
		{"endpoint not a URL", "OTEL_EXPORTER_OTLP_ENDPOINT", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1"}},
		{"traces endpoint without host", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https:///v1/traces"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(configEnv(validVars(tc.env)))
			var ce *configError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar {
				t.Fatalf("loadConfig = %v, want an error naming %s", err, tc.wantVar)
			}
		})
	}
}
