package workflow_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// licClock is a settable time.
type licClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *licClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *licClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func licCreateCommunity(ctx context.Context, t testing.TB, pool *pgxpool.Pool, slug string) int64 {
	t.Helper()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatalf("create community %s: %v", slug, err)
	}
	return c.ID
}

func licCreateUser(ctx context.Context, t testing.TB, pool *pgxpool.Pool, email string) int64 {
	t.Helper()
	u, err := db.New(pool).UserCreate(ctx, db.UserCreateParams{Email: email})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u.ID
}

type licensingEnv struct {
	pool     *pgxpool.Pool
	pub      ed25519.PublicKey
	priv     ed25519.PrivateKey
	licClock *licClock
	a, b     int64 // two communities
}

func newLicensingEnv(t *testing.T) licensingEnv {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	pub, priv := licKeyPair(t)
	return licensingEnv{pool: pool, pub: pub, priv: priv, licClock: &licClock{now: licenceNow},
		a: licCreateCommunity(ctx, t, pool, "alpha"), b: licCreateCommunity(ctx, t, pool, "beta")}
}

func (e licensingEnv) licensing(installationKey, server string) *workflow.Licensing {
	return workflow.NewLicensing(workflow.LicensingConfig{Pool: e.pool, PublicKey: e.pub, InstallationKey: installationKey,
		ServerURL: server, HTTP: &http.Client{}, Now: e.licClock.Now})
}

func wantPlan(ctx context.Context, t *testing.T, l *workflow.Licensing, communityID int64, want workflow.Plan) workflow.LicenceStatus {
	t.Helper()
	st, err := l.Status(ctx, communityID)
	if err != nil {
		t.Fatalf("Status(%d): %v", communityID, err)
	}
	if st.Plan != want {
		t.Fatalf("community %d's plan = %s (problems %q), want %s", communityID, st.Plan, st.Problems, want)
	}
	plan, err := l.Allows(ctx, communityID)
	if err != nil || plan != want {
		t.Fatalf("Allows(%d) = %s, %v; want %s", communityID, plan, err, want)
	}
	return st
}

func TestCheckPublishFreePlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLicensingEnv(t)
	l := e.licensing("", "")
	if err := l.CheckPublish(ctx, e.a, 0); err != nil {
		t.Fatalf("the first published workflow: %v", err)
	}
	err := l.CheckPublish(ctx, e.a, 1)
	p := problem.As(err)
	if p == nil || p.Code != problem.PaymentRequired || p.Message != workflow.PaymentRequiredMessage {
		t.Fatalf("the second published workflow: %v, want payment_required with the message", err)
	}
	if !strings.Contains(p.Message, "Settings → Licence") {
		t.Errorf("the message %q does not say where to add a key", p.Message)
	}
	// Without a public key, no key can count, even a well-made one.
	key, _ := licIssue(t, e.priv, e.a, licenceNow, time.Hour)
	noPub := workflow.NewLicensing(workflow.LicensingConfig{Pool: e.pool, InstallationKey: key, Now: e.licClock.Now})
	if err := noPub.CheckPublish(ctx, e.a, 1); !problem.Is(err, problem.PaymentRequired) {
		t.Errorf("without a public key: %v, want payment_required", err)
	}
}

func TestCommunityLicenceKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLicensingEnv(t)
	l := e.licensing("", "")
	userID := licCreateUser(ctx, t, e.pool, "ann@example.com")
	by := audit.Actor{UserID: userID, Email: "ann@example.com", IP: "192.0.2.1"}

	forB, _ := licIssue(t, e.priv, e.b, licenceNow, time.Hour)
	if _, err := l.SetKey(ctx, by, e.a, forB); err == nil || !strings.Contains(err.Error(), "for another community") {
		t.Fatalf("B's key stored for A: %v", err)
	}
	if _, err := l.SetKey(ctx, by, e.a, "garbage"); !problem.Is(err, problem.Invalid) {
		t.Fatalf("a malformed key: %v, want invalid", err)
	}
	wantPlan(ctx, t, l, e.a, workflow.PlanFree)

	key, issued := licIssue(t, e.priv, e.a, licenceNow, 24*time.Hour)
	got, err := l.SetKey(ctx, by, e.a, " "+key+" ")
	if err != nil || got.ID != issued.ID {
		t.Fatalf("SetKey = %+v, %v", got, err)
	}
	st := wantPlan(ctx, t, l, e.a, workflow.PlanPro)
	if st.Source != workflow.SourceCommunity || st.Licence.ID != issued.ID || st.Stored == nil {
		t.Errorf("status = %+v, want the community's own licence", st)
	}
	if err := l.CheckPublish(ctx, e.a, 25); err != nil {
		t.Errorf("pro with 25 published: %v", err)
	}
	// Tenancy: A's licence is not B's.
	wantPlan(ctx, t, l, e.b, workflow.PlanFree)
	if err := l.CheckPublish(ctx, e.b, 1); !problem.Is(err, problem.PaymentRequired) {
		t.Errorf("B with A's licence: %v, want payment_required", err)
	}

	// The audit log names the licence, never the key.
	var action, target, after string
	var actor *int64
	if err := e.pool.QueryRow(ctx, `SELECT action, target, after::text, actor_id FROM audit_log WHERE community_id = $1 ORDER BY id DESC LIMIT 1`, e.a).
		Scan(&action, &target, &after, &actor); err != nil {
		t.Fatal(err)
	}
	if action != audit.WorkflowLicenceSet || target != "licence "+issued.ID || actor == nil || *actor != userID {
		t.Errorf("audit = %s %q by %v", action, target, actor)
	}
	if strings.Contains(after, key) || strings.Contains(after, strings.SplitN(key, ".", 2)[1]) {
		t.Errorf("the audit log holds the key: %s", after)
	}

	// Expired: back to free, and the status says why.
	e.licClock.Add(24 * time.Hour)
	st = wantPlan(ctx, t, l, e.a, workflow.PlanFree)
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "expired on 2026-06-02") || st.Stored == nil {
		t.Errorf("status after expiry = %+v", st)
	}

	if err := l.RemoveKey(ctx, by, e.a); err != nil {
		t.Fatalf("RemoveKey: %v", err)
	}
	if err := l.RemoveKey(ctx, by, e.a); !problem.Is(err, problem.NotFound) {
		t.Errorf("RemoveKey again: %v, want not found", err)
	}
	var removed int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2 AND target = $3`, e.a, audit.WorkflowLicenceRemoved, "licence "+issued.ID).Scan(&removed)
	if removed != 1 {
		t.Errorf("removals recorded = %d, want 1", removed)
	}
}

func TestInstallationLicenceKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLicensingEnv(t)
	all, _ := licIssue(t, e.priv, 0, licenceNow, time.Hour)
	l := e.licensing(all, "")
	for _, c := range []int64{e.a, e.b} {
		st := wantPlan(ctx, t, l, c, workflow.PlanPro)
		if st.Source != workflow.SourceInstallation {
			t.Errorf("community %d's source = %q", c, st.Source)
		}
	}
	// An installation key made for one community covers that one only.
	onlyA, _ := licIssue(t, e.priv, e.a, licenceNow, time.Hour)
	l = e.licensing(onlyA, "")
	wantPlan(ctx, t, l, e.a, workflow.PlanPro)
	st := wantPlan(ctx, t, l, e.b, workflow.PlanFree)
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "installation's licence key") {
		t.Errorf("B's problems = %q", st.Problems)
	}
	// A community's own expired key does not hide a valid installation key.
	old, _ := licIssue(t, e.priv, e.a, licenceNow, time.Hour)
	if _, err := e.licensing("", "").SetKey(ctx, audit.Actor{}, e.a, old); err != nil {
		t.Fatal(err)
	}
	e.licClock.Add(2 * time.Hour)
	fresh, _ := licIssue(t, e.priv, 0, e.licClock.Now(), time.Hour)
	st = wantPlan(ctx, t, e.licensing(fresh, ""), e.a, workflow.PlanPro)
	if st.Source != workflow.SourceInstallation || len(st.Problems) != 1 {
		t.Errorf("status = %+v, want the installation key with the community key's problem", st)
	}
}

// licenceServer is a licence server whose answers the test sets.
type licenceServer struct {
	*httptest.Server
	mu       sync.Mutex
	valid    map[string]bool // by licence id; missing: revoked
	down     bool
	requests []map[string]any
}

func newLicenceServer(t *testing.T) *licenceServer {
	s := &licenceServer{valid: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusMethodNotAllowed)
			return
		}
		var q map[string]any
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.requests = append(s.requests, q)
		if s.down {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		id, _ := q["licence_id"].(string)
		if s.valid[id] {
			w.Write([]byte(`{"valid": true}`))
			return
		}
		w.Write([]byte(`{"valid": false, "reason": "This licence was revoked."}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *licenceServer) set(f func(s *licenceServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *licenceServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func TestLicenceServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLicensingEnv(t)
	srv := newLicenceServer(t)
	key, lic := licIssue(t, e.priv, 0, licenceNow, 30*24*time.Hour)
	srv.set(func(s *licenceServer) { s.valid[lic.ID] = true })
	l := e.licensing(key, srv.URL)

	wantPlan(ctx, t, l, e.a, workflow.PlanPro) // Status and Allows: one request, then the cached answer
	if n := srv.count(); n != 1 {
		t.Fatalf("requests = %d, want 1 (the answer is kept)", n)
	}
	srv.mu.Lock()
	q := srv.requests[0]
	srv.mu.Unlock()
	if q["licence_id"] != lic.ID || q["community_id"] != float64(e.a) {
		t.Errorf("the server was sent %v", q)
	}
	// Each community is asked about separately.
	wantPlan(ctx, t, l, e.b, workflow.PlanPro)
	if n := srv.count(); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}

	// Revoked: seen once the hour is up.
	srv.set(func(s *licenceServer) { delete(s.valid, lic.ID) })
	e.licClock.Add(59 * time.Minute)
	wantPlan(ctx, t, l, e.a, workflow.PlanPro)
	e.licClock.Add(time.Minute)
	st := wantPlan(ctx, t, l, e.a, workflow.PlanFree)
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "This licence was revoked.") {
		t.Errorf("problems = %q", st.Problems)
	}
	if err := l.CheckPublish(ctx, e.a, 1); !problem.Is(err, problem.PaymentRequired) {
		t.Errorf("publish with a revoked key: %v", err)
	}

	// Unreachable: the last answer stands (revoked for A; valid for B).
	srv.set(func(s *licenceServer) { s.valid[lic.ID] = true; s.down = true })
	e.licClock.Add(2 * time.Hour)
	st = wantPlan(ctx, t, l, e.a, workflow.PlanFree)
	if !strings.Contains(st.Fallback, "could not be reached") {
		t.Errorf("fallback = %q", st.Fallback)
	}
	st = wantPlan(ctx, t, l, e.b, workflow.PlanPro)
	if !strings.Contains(st.Fallback, "its answer from 2026-06-01T12:00:00Z is used") {
		t.Errorf("fallback = %q", st.Fallback)
	}
	// While down it is not asked on every call, but again after a minute.
	before := srv.count()
	wantPlan(ctx, t, l, e.a, workflow.PlanFree)
	if n := srv.count(); n != before {
		t.Errorf("requests while backing off = %d, want %d", n, before)
	}
	srv.set(func(s *licenceServer) { s.down = false })
	e.licClock.Add(time.Minute)
	st = wantPlan(ctx, t, l, e.a, workflow.PlanPro)
	if st.Fallback != "" {
		t.Errorf("fallback after recovery = %q", st.Fallback)
	}

	// Never reached: the offline check stands.
	never, _ := licIssue(t, e.priv, 0, e.licClock.Now(), time.Hour)
	srv.Close()
	st = wantPlan(ctx, t, e.licensing(never, srv.URL), e.a, workflow.PlanPro)
	if !strings.Contains(st.Fallback, "checked offline only") {
		t.Errorf("fallback = %q", st.Fallback)
	}
	// A key that fails offline is never sent to the server.
	expired, _ := licIssue(t, e.priv, 0, licenceNow, time.Hour)
	srv2 := newLicenceServer(t)
	wantPlan(ctx, t, e.licensing(expired, srv2.URL), e.a, workflow.PlanFree)
	if n := srv2.count(); n != 0 {
		t.Errorf("an expired key was sent to the server %d times", n)
	}
}

func TestLicenceServerBadAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLicensingEnv(t)
	key, _ := licIssue(t, e.priv, 0, licenceNow, time.Hour)
	for _, body := range []string{`{}`, `not json`, `{"valid": "yes"}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		st := wantPlan(ctx, t, e.licensing(key, srv.URL), e.a, workflow.PlanPro)
		srv.Close()
		if !strings.Contains(st.Fallback, "checked offline only") {
			t.Errorf("answer %s: fallback = %q, want the offline check", body, st.Fallback)
		}
	}
}
