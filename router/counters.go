package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Named counters belong to a community, not to a command: {counter:NAME} in
// any reply adds one to NAME (created at 0 on first use) and shows the new
// value, {getcounter:NAME} shows it, !counter NAME shows or sets it, and the
// hub lists, sets and deletes them. An importer writes them with its
// import's id. An increment is an effect of the event, in its transaction
// like {count}'s: stored with the event's answer, once, however often the
// event is delivered.

// MaxCounter bounds a named counter either way (2^53 − 1, exact in JSON);
// an increment stops there.
const MaxCounter = 1<<53 - 1

// MaxCounters is how many named counters a community may create from the
// hub, the API or chat; a reply's {counter:NAME} always counts.
const MaxCounters = 1000

// NamedCounter is a community's named counter.
type NamedCounter struct {
	Name     string
	Value    int64
	Imported bool // written by an import
}

// ErrCounterNotFound is returned for a named counter the community does not have.
var ErrCounterNotFound = problem.New(problem.NotFound, "No such counter.")

// CounterName lower-cases a counter's name and checks it: 1 to 32 letters,
// digits or underscores.
func CounterName(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !validName(name) {
		return "", problem.Invalidf("name", "A counter name has 1 to 32 letters, digits or underscores.")
	}
	return name, nil
}

func checkCounterValue(n int64) error {
	if n < -MaxCounter || n > MaxCounter {
		return problem.Invalidf("value", "A counter is a whole number between %d and %d.", -MaxCounter, MaxCounter)
	}
	return nil
}

// counterVars gives a template the community's named counters and quotes.
// Nothing is read or written unless the template uses them; a dry run reads
// and shows what a real run would, writing nothing.
func (h *handling) counterVars(ctx context.Context, v *vars) {
	v.counter = func(name string) (int64, bool) {
		if h.dry {
			cur, err := counterValue(ctx, h.readPrimary(), h.s.communityID, name)
			if err != nil {
				return 0, false
			}
			next := min(cur+1, MaxCounter)
			h.changed("counter %s %d → %d", name, cur, next)
			return next, true
		}
		q, err := h.writer(ctx)
		if err != nil {
			h.fail(err)
			return 0, false
		}
		n, err := q.CounterIncrement(ctx, db.CounterIncrementParams{CommunityID: h.s.communityID, Name: name})
		if err != nil {
			h.fail(fmt.Errorf("increment the counter %s: %w", name, err))
			return 0, false
		}
		h.changed("counter %s %d → %d", name, n-1, n)
		return n, true
	}
	v.getCounter = func(name string) (int64, bool) {
		n, err := counterValue(ctx, h.readPrimary(), h.s.communityID, name)
		return n, err == nil
	}
	v.quote = func() (string, bool) {
		q, err := randomQuote(ctx, h.read(), h.s.communityID)
		if problem.As(err) != nil { // none yet
			return "", true
		}
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("#%d: %s", q.Number, q.Text), true
	}
}

// counterValue is a named counter's value, 0 if it does not exist.
func counterValue(ctx context.Context, q *db.Queries, communityID int64, name string) (int64, error) {
	n, err := q.CounterValue(ctx, db.CounterValueParams{CommunityID: communityID, Name: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the counter %s: %w", name, err)
	}
	return n, nil
}

// namedCounterState is a named counter as the audit log records it.
type namedCounterState struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// setNamedCounter sets (creating if need be) a named counter and records it;
// tx is a transaction, name already checked.
func setNamedCounter(ctx context.Context, tx db.DBTX, by audit.Actor, communityID int64, name string, n int64) (NamedCounter, error) {
	if err := checkCounterValue(n); err != nil {
		return NamedCounter{}, err
	}
	q := db.New(tx)
	old, err := q.CounterGetForUpdate(ctx, db.CounterGetForUpdateParams{CommunityID: communityID, Name: name})
	var before any
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		count, err := q.CounterCountByCommunity(ctx, communityID)
		if err != nil {
			return NamedCounter{}, fmt.Errorf("set the counter %s: %w", name, err)
		}
		if count >= MaxCounters {
			return NamedCounter{}, problem.Invalidf("name", "A community has at most %d counters: delete one first.", MaxCounters)
		}
	case err != nil:
		return NamedCounter{}, fmt.Errorf("set the counter %s: %w", name, err)
	default:
		before = namedCounterState{Name: old.Name, Value: old.Value}
	}
	row, err := q.CounterSet(ctx, db.CounterSetParams{CommunityID: communityID, Name: name, Value: n})
	if err != nil {
		return NamedCounter{}, fmt.Errorf("set the counter %s: %w", name, err)
	}
	if err := audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.NamedCounterSet, Target: "counter " + name,
		Before: before, After: namedCounterState{Name: name, Value: n}}); err != nil {
		return NamedCounter{}, err
	}
	return toNamedCounter(row), nil
}

func toNamedCounter(r db.Counter) NamedCounter {
	return NamedCounter{Name: r.Name, Value: r.Value, Imported: r.ImportID != nil}
}

// Counters lists a community's named counters by name.
func (s *Settings) Counters(ctx context.Context, communityID int64) ([]NamedCounter, error) {
	rows, err := db.New(s.pool).CounterListByCommunity(ctx, db.CounterListByCommunityParams{CommunityID: communityID, Limit: MaxCounters * 2})
	if err != nil {
		return nil, fmt.Errorf("list counters: %w", err)
	}
	out := make([]NamedCounter, len(rows))
	for i, r := range rows {
		out[i] = toNamedCounter(r)
	}
	return out, nil
}

// SetCounter sets a named counter to n, creating it if need be; 0 resets it.
func (s *Settings) SetCounter(ctx context.Context, by audit.Actor, communityID int64, name string, n int64) (NamedCounter, error) {
	name, err := CounterName(name)
	if err != nil {
		return NamedCounter{}, err
	}
	var c NamedCounter
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err = setNamedCounter(ctx, tx, by, communityID, name, n)
		return err
	})
	return c, err
}

// DeleteCounter removes a named counter; a reply that uses it starts it again at 0.
func (s *Settings) DeleteCounter(ctx context.Context, by audit.Actor, communityID int64, name string) error {
	name, err := CounterName(name)
	if err != nil {
		return ErrCounterNotFound
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := db.New(tx).CounterDelete(ctx, db.CounterDeleteParams{CommunityID: communityID, Name: name})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrCounterNotFound
		}
		if err != nil {
			return fmt.Errorf("delete the counter %s: %w", name, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.NamedCounterDeleted, Target: "counter " + name,
			Before: namedCounterState{Name: old.Name, Value: old.Value}})
	})
}

// Named returns a community's named counter (0 if it does not exist yet).
func (s CounterService) Named(ctx context.Context, name string) (NamedCounter, error) {
	if err := s.c.uses(ServiceCounters); err != nil {
		return NamedCounter{}, err
	}
	name, err := CounterName(name)
	if err != nil {
		return NamedCounter{}, err
	}
	n, err := counterValue(ctx, s.c.h.readPrimary(), s.c.CommunityID(), name)
	return NamedCounter{Name: name, Value: n}, err
}

// SetNamed sets a named counter, creating it if need be.
func (s CounterService) SetNamed(ctx context.Context, name string, n int64) error {
	if err := s.c.uses(ServiceCounters); err != nil {
		return err
	}
	name, err := CounterName(name)
	if err != nil {
		return err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return err
	}
	_, err = setNamedCounter(ctx, tx, s.c.actor(), s.c.CommunityID(), name, n)
	return err
}
