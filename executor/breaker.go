package executor

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/sony/gobreaker/v2"
)

// maxBreakers bounds the breakers kept; past it, closed ones are dropped.
const maxBreakers = 10_000

// breakers keeps one circuit breaker per target (kind, URL, action or
// function), in this process only.
type breakers struct {
	settings gobreaker.Settings
	logger   *slog.Logger

	mu sync.Mutex
	m  map[string]*gobreaker.CircuitBreaker[[]byte]
}

func newBreakers(cfg BreakerConfig, logger *slog.Logger) *breakers {
	failures := cfg.Failures
	if failures <= 0 {
		failures = DefaultBreakerFailures
	}
	openFor := cfg.OpenFor
	if openFor <= 0 {
		openFor = DefaultBreakerOpenFor
	}
	return &breakers{
		settings: gobreaker.Settings{
			MaxRequests: 1, // one trial call when half-open
			Timeout:     openFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(failures) },
			IsSuccessful: func(err error) bool {
				return err == nil || !unhealthy(err)
			},
			IsExcluded: excludedFromBreaker,
			OnStateChange: func(name string, from, to gobreaker.State) {
				logger.Warn("circuit changed", "target", name, "from", from.String(), "to", to.String())
			},
		},
		logger: logger,
		m:      make(map[string]*gobreaker.CircuitBreaker[[]byte]),
	}
}

func (b *breakers) get(t Target) *gobreaker.CircuitBreaker[[]byte] {
	key := t.key()
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.m[key]; ok {
		return cb
	}
	if len(b.m) >= maxBreakers {
		for k, cb := range b.m {
			if cb.State() == gobreaker.StateClosed {
				delete(b.m, k)
			}
		}
	}
	st := b.settings
	st.Name = t.label()
	cb := gobreaker.NewCircuitBreaker[[]byte](st)
	b.m[key] = cb
	return cb
}

// unhealthy reports whether err says the target is down or overloaded: it
// could not be reached, did not answer in time, or answered 5xx or 429. A
// target that answers promptly, even with a 4xx, a function error or a bad
// document, is up: those errors do not open its circuit.
func unhealthy(err error) bool {
	if errors.Is(err, ErrTimeout) {
		return true
	}
	if se, ok := errors.AsType[*StatusError](err); ok {
		return se.Code >= 500 || se.Code == 429
	}
	if _, ok := errors.AsType[*FunctionError](err); ok {
		return false
	}
	if errors.Is(err, ErrBadResponse) || errors.Is(err, ErrResponseTooLarge) {
		return false
	}
	return true // transport failures
}

// excludedFromBreaker: failures that say nothing about the target — the
// caller gave up, or the guard refused its address.
func excludedFromBreaker(err error) bool {
	if errors.Is(err, ErrTimeout) {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, ErrBlockedAddress)
}

func isBreakerRefusal(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}
