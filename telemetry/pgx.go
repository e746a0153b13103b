package telemetry

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// QueryTracer makes a span of each query on a pgx connection. A span
// carries the query's sqlc name (its "-- name: X" line) and never its
// arguments or text, which may hold a community's data.
type QueryTracer struct {
	tracer trace.Tracer
}

// QueryTracer returns the tracer for a pool's connections, nil when tracing
// is off (pgx then calls nothing).
func (t *Tracing) QueryTracer() pgx.QueryTracer {
	if t.provider == nil {
		return nil
	}
	return &QueryTracer{tracer: t.provider.Tracer("github.com/waddle/waddle/db")}
}

// queryName returns the sqlc name of sql, or "" for a query sqlc did not
// write (River's, the migrations').
func queryName(sql string) string {
	const tag = "-- name: "
	if !strings.HasPrefix(sql, tag) {
		return ""
	}
	rest := sql[len(tag):]
	if i := strings.IndexAny(rest, " \t\r\n"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TraceQueryStart implements pgx.QueryTracer.
func (q *QueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	name := queryName(data.SQL)
	span := "db.query"
	attrs := []attribute.KeyValue{attribute.String("db.system.name", "postgresql")}
	if name != "" {
		span = "db " + name
		attrs = append(attrs, attribute.String("db.query.summary", name), attribute.String("db.statement", name))
	}
	ctx, _ = q.tracer.Start(ctx, span, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (q *QueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if data.Err != nil && !errors.Is(data.Err, pgx.ErrNoRows) {
		// Only the SQLSTATE: PostgreSQL's messages may quote a value.
		var pe *pgconn.PgError
		if errors.As(data.Err, &pe) {
			span.SetAttributes(attribute.String("db.response.status_code", pe.Code))
		}
		span.SetStatus(codes.Error, "query failed")
	}
	span.End()
}
