package workflow

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// The licence server's timings.
const (
	LicenceServerTimeout = 5 * time.Second // one request
	LicenceAnswerTTL     = time.Hour       // how long an answer is used before asking again
	LicenceRetryAfter    = time.Minute     // after a failed request, how long the fallback is used before trying again
)

// FreePublished is how many workflows a community on the free plan may
// have published at once.
const FreePublished = 1

// PaymentRequiredMessage is what publishing beyond the free plan answers.
const PaymentRequiredMessage = "The free plan publishes one workflow per community; this community already has one published. Add a pro licence key in Settings → Licence, or archive a published workflow."

// LicensingConfig configures Licensing.
type LicensingConfig struct {
	Pool *pgxpool.Pool
	// PublicKey checks licence keys (WADDLE_LICENSE_PUBLIC_KEY); without
	// it no key is valid and every community is on the free plan.
	PublicKey ed25519.PublicKey
	// InstallationKey is a licence key from WADDLE_LICENSE_KEY, usually for
	// the whole installation (community 0).
	InstallationKey string
	// ServerURL, when set (WADDLE_LICENSE_SERVER), is asked whether a key
	// that verifies offline is still good (not revoked).
	ServerURL string
	HTTP      *http.Client // for the licence server; nil: http.DefaultClient
	Logger    *slog.Logger
	Now       func() time.Time // nil: time.Now
}

// Licensing decides which plan each community is on. Only publishing asks
// it: runs of published workflows never do, so they never stop because a
// licence expired or a licence server is unreachable.
type Licensing struct {
	cfg LicensingConfig

	mu      sync.Mutex
	answers map[answerKey]serverAnswer
}

type answerKey struct {
	licenceID   string
	communityID int64
}

// serverAnswer is the licence server's last word on one key for one
// community.
type serverAnswer struct {
	known    bool // an answer was received
	valid    bool
	reason   string
	at       time.Time // when it was received
	failedAt time.Time // the last failed request, if after at
}

// NewLicensing returns a Licensing.
func NewLicensing(cfg LicensingConfig) *Licensing {
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Licensing{cfg: cfg, answers: map[answerKey]serverAnswer{}}
}

// Licence sources.
const (
	SourceCommunity    = "community"    // the key stored for the community in Settings → Licence
	SourceInstallation = "installation" // WADDLE_LICENSE_KEY
)

// LicenceStatus is a community's plan and why, as Settings → Licence shows it.
type LicenceStatus struct {
	Plan    Plan
	Licence *Licence // the licence in force; nil on the free plan
	Source  string   // where the licence in force comes from
	// Stored is the community's own key's licence, if it has a readable one.
	Stored *Licence
	// Problems say why a key does not count (expired, for another
	// community, refused by the licence server), one line each.
	Problems []string
	// Fallback is set when the licence server could not be reached and an
	// earlier answer (or the offline check) was used.
	Fallback string
}

// Status returns the community's plan: pro when its own key or the
// installation's key is valid for it, free otherwise. Keys are checked
// offline (signature, expiry, community); with a licence server, a key that
// passes is then checked there (see ask).
func (s *Licensing) Status(ctx context.Context, communityID int64) (LicenceStatus, error) {
	st := LicenceStatus{Plan: PlanFree}
	type candidate struct{ key, source string }
	var cands []candidate
	row, err := db.New(s.cfg.Pool).LicenceGet(ctx, communityID)
	switch {
	case err == nil:
		cands = append(cands, candidate{row.Key, SourceCommunity})
	case !errors.Is(err, pgx.ErrNoRows):
		return st, fmt.Errorf("load community %d's licence key: %w", communityID, err)
	}
	if s.cfg.InstallationKey != "" {
		cands = append(cands, candidate{s.cfg.InstallationKey, SourceInstallation})
	}
	now := s.cfg.Now()
	for _, c := range cands {
		l, err := ParseLicence(c.key, s.cfg.PublicKey, now)
		if c.source == SourceCommunity && l.ID != "" {
			st.Stored = &l
		}
		if err == nil {
			err = l.Covers(communityID)
		}
		if err != nil {
			msg := err.Error()
			if p := problem.As(err); p != nil {
				msg = p.Message
			}
			st.Problems = append(st.Problems, fmt.Sprintf("The %s's licence key: %s", c.source, msg))
			continue
		}
		if s.cfg.ServerURL != "" {
			ok, reason, fallback := s.ask(ctx, l, communityID)
			if fallback != "" {
				st.Fallback = fallback
			}
			if !ok {
				st.Problems = append(st.Problems, fmt.Sprintf("The %s's licence key: the licence server refused it: %s", c.source, reason))
				continue
			}
		}
		st.Plan, st.Licence, st.Source = l.Plan, &l, c.source
		return st, nil
	}
	return st, nil
}

// Allows returns the plan the community is on.
func (s *Licensing) Allows(ctx context.Context, communityID int64) (Plan, error) {
	st, err := s.Status(ctx, communityID)
	return st.Plan, err
}

// CheckPublish says whether the community may publish one more workflow
// while publishedCount of its other workflows are published (a new version
// of a workflow already published does not count itself). Beyond the free
// plan it returns a problem.PaymentRequired error saying what to do.
func (s *Licensing) CheckPublish(ctx context.Context, communityID int64, publishedCount int) error {
	if publishedCount < FreePublished {
		return nil
	}
	plan, err := s.Allows(ctx, communityID)
	if err != nil {
		return err
	}
	if plan == PlanPro {
		return nil
	}
	return problem.New(problem.PaymentRequired, "%s", PaymentRequiredMessage)
}

// SetKey stores a community's licence key after checking that it is valid
// for the community, and records it in the audit log (by its id; the key
// itself is not recorded).
func (s *Licensing) SetKey(ctx context.Context, by audit.Actor, communityID int64, key string) (Licence, error) {
	key = strings.TrimSpace(key)
	l, err := ParseLicence(key, s.cfg.PublicKey, s.cfg.Now())
	if err == nil {
		err = l.Covers(communityID)
	}
	if err != nil {
		return l, err
	}
	var addedBy *int64
	if by.UserID != 0 {
		addedBy = &by.UserID
	}
	err = pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if err := db.New(tx).LicenceSet(ctx, db.LicenceSetParams{CommunityID: communityID, Key: key, AddedBy: addedBy}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.WorkflowLicenceSet, Target: "licence " + l.ID,
			After: licenceAudit(l)})
	})
	if err != nil {
		return l, fmt.Errorf("store community %d's licence key: %w", communityID, err)
	}
	return l, nil
}

// RemoveKey removes a community's licence key; published workflows stay
// published.
func (s *Licensing) RemoveKey(ctx context.Context, by audit.Actor, communityID int64) error {
	err := pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).LicenceDelete(ctx, communityID)
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "This community has no licence key.")
		}
		if err != nil {
			return err
		}
		e := audit.Entry{CommunityID: communityID, Action: audit.WorkflowLicenceRemoved, Target: "licence"}
		if l, _ := ParseLicence(row.Key, s.cfg.PublicKey, s.cfg.Now()); l.ID != "" {
			e.Target, e.Before = "licence "+l.ID, licenceAudit(l)
		}
		return audit.Record(ctx, tx, by, e)
	})
	if err != nil && problem.As(err) == nil {
		return fmt.Errorf("remove community %d's licence key: %w", communityID, err)
	}
	return err
}

type licenceState struct {
	ID        string `json:"id"`
	Community int64  `json:"community_id"`
	Plan      Plan   `json:"plan"`
	Expires   string `json:"expires_at"`
}

func licenceAudit(l Licence) licenceState {
	return licenceState{ID: l.ID, Community: l.CommunityID, Plan: l.Plan, Expires: l.ExpiresAt.Format(time.RFC3339)}
}

// licenceQuery is what the licence server is sent.
type licenceQuery struct {
	LicenceID   string `json:"licence_id"`
	CommunityID int64  `json:"community_id"`
}

// licenceReply is what it answers, with status 200.
type licenceReply struct {
	Valid  *bool  `json:"valid"`
	Reason string `json:"reason"`
}

// ask asks the licence server whether the licence is good for the
// community. An answer is kept for LicenceAnswerTTL. When the server cannot
// be reached (or answers anything but 200 with {"valid": bool}), the last
// answer received is used however old it is, or, if none was ever
// received, the offline check (which the key has passed) stands; the
// server is tried again after LicenceRetryAfter. fallback says when that
// happened.
func (s *Licensing) ask(ctx context.Context, l Licence, communityID int64) (ok bool, reason, fallback string) {
	k := answerKey{l.ID, communityID}
	now := s.cfg.Now()
	s.mu.Lock()
	a := s.answers[k]
	s.mu.Unlock()
	if a.known && now.Sub(a.at) < LicenceAnswerTTL {
		return a.valid, a.reason, ""
	}
	if a.failedAt.IsZero() || now.Sub(a.failedAt) >= LicenceRetryAfter {
		valid, reason, err := s.request(ctx, l, communityID)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil {
			s.answers[k] = serverAnswer{known: true, valid: valid, reason: reason, at: now}
			return valid, reason, ""
		}
		s.cfg.Logger.WarnContext(ctx, "licence server unreachable", "err", err, "licence", l.ID, "community_id", communityID)
		a = s.answers[k]
		a.failedAt = now
		s.answers[k] = a
	}
	if a.known {
		return a.valid, a.reason, fmt.Sprintf("The licence server could not be reached; its answer from %s is used.", a.at.UTC().Format(time.RFC3339))
	}
	return true, "", "The licence server could not be reached; the key was checked offline only."
}

func (s *Licensing) request(ctx context.Context, l Licence, communityID int64) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, LicenceServerTimeout)
	defer cancel()
	body, err := json.Marshal(licenceQuery{LicenceID: l.ID, CommunityID: communityID})
	if err != nil {
		return false, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.ServerURL, bytes.NewReader(body))
	if err != nil {
		return false, "", fmt.Errorf("licence server request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return false, "", fmt.Errorf("licence server: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return false, "", fmt.Errorf("licence server answered %s", res.Status)
	}
	var r licenceReply
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&r); err != nil || r.Valid == nil {
		return false, "", fmt.Errorf("licence server: the answer is not {\"valid\": true|false}")
	}
	reason := strings.TrimSpace(r.Reason)
	if len([]rune(reason)) > 200 {
		reason = string([]rune(reason)[:200]) + "…"
	}
	if !*r.Valid && reason == "" {
		reason = "no reason given"
	}
	return *r.Valid, reason, nil
}
