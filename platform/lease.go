package platform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// Lease timing: a holder renews every LeaseRenewEvery, and a lease it stops
// renewing (the instance died) is free LeaseTTL after its last renewal, so a
// surviving instance takes it over within LeaseTTL + LeaseRenewEvery (25 s).
const (
	LeaseTTL        = 20 * time.Second
	LeaseRenewEvery = 5 * time.Second
)

// Lease name prefixes: a Twitch channel's lease is TwitchChannelLeases+login,
// a Discord shard's DiscordShardLeases+id.
const (
	TwitchChannelLeases = "twitch:channel:"
	DiscordShardLeases  = "discord:shard:"
)

// Leases gives each Twitch channel and Discord shard to exactly one waddle
// serve instance at a time, through rows in PostgreSQL.
type Leases struct {
	pool   *pgxpool.Pool
	holder string
	ttl    time.Duration
}

// NewLeases returns the leases of one instance; holder must be unique per
// process (host name and a random suffix). ttl 0 means LeaseTTL.
func NewLeases(pool *pgxpool.Pool, holder string, ttl time.Duration) *Leases {
	if ttl <= 0 {
		ttl = LeaseTTL
	}
	return &Leases{pool: pool, holder: holder, ttl: ttl}
}

// Holder is this instance's name in the lease table.
func (l *Leases) Holder() string { return l.holder }

// Sync renews this instance's leases on prefix+name for every wanted name,
// takes those that are free or expired, releases the ones under prefix it no
// longer wants, and returns the wanted names it now holds (without prefix).
// Call it every LeaseRenewEvery.
func (l *Leases) Sync(ctx context.Context, prefix string, wanted []string) ([]string, error) {
	names := make([]string, len(wanted))
	for i, w := range wanted {
		names[i] = prefix + w
	}
	q := db.New(l.pool)
	if err := q.LeaseReleaseExcept(ctx, db.LeaseReleaseExceptParams{Holder: l.holder, Prefix: prefix, Names: names}); err != nil {
		return nil, fmt.Errorf("release leases %s*: %w", prefix, err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	got, err := q.LeaseSync(ctx, db.LeaseSyncParams{Holder: l.holder, TtlSeconds: l.ttl.Seconds(), Names: names})
	if err != nil {
		return nil, fmt.Errorf("renew leases %s*: %w", prefix, err)
	}
	held := make([]string, 0, len(got))
	for _, n := range got {
		held = append(held, strings.TrimPrefix(n, prefix))
	}
	return held, nil
}

// Release gives up every lease under prefix at once, so another instance can
// take them over without waiting for them to expire (on shutdown).
func (l *Leases) Release(ctx context.Context, prefix string) error {
	if err := db.New(l.pool).LeaseReleaseExcept(ctx, db.LeaseReleaseExceptParams{Holder: l.holder, Prefix: prefix, Names: []string{}}); err != nil {
		return fmt.Errorf("release leases %s*: %w", prefix, err)
	}
	return nil
}

// LeaseHolder is who holds one lease.
type LeaseHolder struct {
	Name    string
	Holder  string
	Expires time.Time
}

// Holders lists the live leases under prefix.
func (l *Leases) Holders(ctx context.Context, prefix string) ([]LeaseHolder, error) {
	rows, err := db.New(l.pool).LeaseHolders(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list leases %s*: %w", prefix, err)
	}
	out := make([]LeaseHolder, 0, len(rows))
	for _, r := range rows {
		out = append(out, LeaseHolder{Name: strings.TrimPrefix(r.Name, prefix), Holder: r.Holder, Expires: r.ExpiresAt})
	}
	return out, nil
}
