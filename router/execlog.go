package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// execLog records command executions off the request path: entries queue in
// memory and are written in batches with COPY. A full queue makes callers
// wait rather than lose entries, and Run writes what is left when it stops.
type execLog struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	queue  chan db.CommandExecutionInsertParams
	flushc chan chan error
}

const (
	execLogQueue = 20000
	execLogBatch = 1000
	execLogEvery = 250 * time.Millisecond
)

func newExecLog(pool *pgxpool.Pool, logger *slog.Logger) *execLog {
	return &execLog{pool: pool, logger: logger, queue: make(chan db.CommandExecutionInsertParams, execLogQueue), flushc: make(chan chan error)}
}

// add queues an entry; it waits while the queue is full, as long as ctx lets it.
func (l *execLog) add(ctx context.Context, e db.CommandExecutionInsertParams) {
	select {
	case l.queue <- e:
	case <-ctx.Done():
		l.logger.WarnContext(context.WithoutCancel(ctx), "execution log entry dropped: the request ended while the log queue was full", "command", e.Command)
	}
}

// run writes batches until ctx ends, then drains the queue.
func (l *execLog) run(ctx context.Context) error {
	t := time.NewTicker(execLogEvery)
	defer t.Stop()
	batch := make([]db.CommandExecutionInsertParams, 0, execLogBatch)
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := db.New(l.pool).CommandExecutionInsert(ctx, batch); err != nil {
			// Keep the batch and try again on the next tick.
			l.logger.ErrorContext(ctx, "write execution log", "err", err, "entries", len(batch))
			return err
		}
		batch = batch[:0]
		return nil
	}
	for {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			if len(batch) >= execLogBatch {
				flush(ctx)
			}
		case <-t.C:
			flush(ctx)
		case reply := <-l.flushc:
			for drained := false; !drained; {
				select {
				case e := <-l.queue:
					batch = append(batch, e)
				default:
					drained = true
				}
			}
			reply <- flush(ctx)
		case <-ctx.Done():
			stop := context.WithoutCancel(ctx)
			for {
				select {
				case e := <-l.queue:
					batch = append(batch, e)
					if len(batch) >= execLogBatch {
						flush(stop)
					}
				default:
					flush(stop)
					return nil
				}
			}
		}
	}
}

// Flush writes everything queued so far; Run must be running.
func (r *Router) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case r.log.flushc <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
