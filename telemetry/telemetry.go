// Package telemetry is how an operator sees Waddle run beyond its logs: the
// job queue's depth for Prometheus, and the optional OpenTelemetry tracing
// (the provider built from the standard OTEL_* variables and the database
// queries' spans).
package telemetry
