package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// WebhookMaxBody bounds one platform webhook request body (Slack's Events
// API, slash commands and interactions; Twitch EventSub).
const WebhookMaxBody = 1 << 20

// MaxMessageIDLen bounds a delivery's message id (platform_deliveries.message_id).
const MaxMessageIDLen = 200

// Ack is what to answer a platform for a webhook request it accepted.
type Ack struct {
	Challenge  string // a verification request: send it back
	DeliveryID int64  // the stored delivery (0 for a duplicate or a notice)
	Duplicate  bool   // the message id was already stored: nothing new was done
}

// Delivery is one stored webhook delivery, waiting for or done with its job.
type Delivery struct {
	ID         int64
	Platform   string
	MessageID  string
	Kind       string
	Payload    []byte
	ReceivedAt time.Time
	Processed  bool
}

// ErrDeliveryGone is returned by Get for a delivery that no longer exists.
var ErrDeliveryGone = errors.New("the delivery is gone")

// ErrNULEscape refuses a payload with a \u0000 escape, which jsonb cannot hold.
var ErrNULEscape = problem.Invalidf("body", "The event contains a NUL character escape, which cannot be stored.")

// Deliveries is the store of the platforms' webhook deliveries: each is
// committed together with the job that processes it, so an acknowledged
// delivery is never lost, and a processed one keeps nothing usable.
type Deliveries struct {
	pool *pgxpool.Pool
	jobs *river.Client[pgx.Tx]
}

// NewDeliveries returns the store over the primary pool; jobs may be an
// insert-only client.
func NewDeliveries(pool *pgxpool.Pool, jobs *river.Client[pgx.Tx]) *Deliveries {
	return &Deliveries{pool: pool, jobs: jobs}
}

// Store commits a delivery and the job job(id) makes for it in one
// transaction and returns its id. A message id already stored is a
// duplicate: it returns 0 and stores and queues nothing, even while the
// first delivery's transaction is still open (the unique insert waits).
func (s *Deliveries) Store(ctx context.Context, platform, messageID, kind string, payload []byte, job func(id int64) river.JobArgs) (int64, error) {
	var stored int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		id, err := db.New(tx).DeliveryInsert(ctx, db.DeliveryInsertParams{
			Platform: platform, MessageID: messageID, Kind: kind, Payload: payload,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store %s delivery %q: %w", platform, messageID, err)
		}
		if _, err := s.jobs.InsertTx(ctx, tx, job(id), nil); err != nil {
			return fmt.Errorf("queue %s delivery %q: %w", platform, messageID, err)
		}
		stored = id
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22P05" {
		return 0, ErrNULEscape
	}
	return stored, err
}

// Get loads a delivery; ErrDeliveryGone when it no longer exists.
func (s *Deliveries) Get(ctx context.Context, id int64) (Delivery, error) {
	d, err := db.New(s.pool).DeliveryGet(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, fmt.Errorf("delivery %d: %w", id, ErrDeliveryGone)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("load delivery %d: %w", id, err)
	}
	return Delivery{ID: d.ID, Platform: d.Platform, MessageID: d.MessageID, Kind: d.Kind, Payload: d.Payload,
		ReceivedAt: d.ReceivedAt, Processed: d.ProcessedAt != nil}, nil
}

// MarkProcessed records that d was processed (reason: why it was not
// handled, or "") and, in the same statement, drops what its answer needed
// (see scrub.go).
func (s *Deliveries) MarkProcessed(ctx context.Context, d Delivery, reason string) error {
	payload, err := scrubPayload(d.Payload, scrubOnProcessed)
	if err != nil {
		return err
	}
	if err := db.New(s.pool).DeliveryMarkProcessed(ctx, db.DeliveryMarkProcessedParams{ID: d.ID, Error: reason, Payload: payload}); err != nil {
		return fmt.Errorf("mark delivery %d processed: %w", d.ID, err)
	}
	return nil
}

// Revocation is a platform's notice that it ended a subscription.
type Revocation struct {
	Platform, Subscription, Kind, Reason, Server string
	// Account is the account id the subscription named, if any: Server is
	// then recorded as the login of a stored token of that account (a
	// broadcaster's grant), and stays as given when there is none.
	Account string
}

// Revoked records a revocation notice, for the hub to show.
func (s *Deliveries) Revoked(ctx context.Context, r Revocation) error {
	if err := db.New(s.pool).RevocationInsert(ctx, db.RevocationInsertParams{
		Platform: r.Platform, Subscription: r.Subscription, Kind: r.Kind, Reason: r.Reason, Server: r.Server, Account: r.Account,
	}); err != nil {
		return fmt.Errorf("record %s revocation of %q: %w", r.Platform, r.Subscription, err)
	}
	return nil
}

// ScrubReceived drops from a payload, before it is stored, every token or
// secret field its processing does not need (see scrub.go).
func ScrubReceived(payload []byte) ([]byte, error) { return scrubPayload(payload, scrubOnReceive) }
