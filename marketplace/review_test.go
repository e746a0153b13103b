package marketplace_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

func wantProblem(t *testing.T, err error, code problem.Code, field string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Code != code || p.Field != field {
		t.Fatalf("got %v, want a %s problem on %q", err, code, field)
	}
}

func TestReviewRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	author, member, outsider, elsewhere := f.user(false), f.user(false), f.user(false), f.user(false)
	mid, v := f.module("dice", author, "1.0.0")
	installed := f.community(member, author)
	f.community(elsewhere) // has not installed it
	f.install(installed, mid, v["1.0.0"])
	by := audit.Actor{UserID: member}

	// Who may review.
	_, err := f.svc.PutReview(ctx, audit.Actor{UserID: outsider}, outsider, "dice", 4, "nice")
	wantProblem(t, err, problem.Forbidden, "")
	if !strings.Contains(problem.As(err).Message, "installed") {
		t.Errorf("the refusal does not say why: %q", problem.As(err).Message)
	}
	_, err = f.svc.PutReview(ctx, audit.Actor{UserID: elsewhere}, elsewhere, "dice", 4, "nice")
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.PutReview(ctx, audit.Actor{UserID: author}, author, "dice", 5, "mine is great")
	wantProblem(t, err, problem.Forbidden, "")
	if !strings.Contains(problem.As(err).Message, "own") {
		t.Errorf("the author's refusal: %q", problem.As(err).Message)
	}
	_, err = f.svc.PutReview(ctx, by, member, "no-such-module", 4, "")
	wantProblem(t, err, problem.NotFound, "")

	// Create, then edit: one review, the rating follows.
	r, err := f.svc.PutReview(ctx, by, member, "dice", 2, "  <b>meh</b> & *so so*  \n")
	if err != nil {
		t.Fatal(err)
	}
	if r.Body != "<b>meh</b> & *so so*" || r.Stars != 2 {
		t.Errorf("stored %q with %d stars; want the trimmed text as written", r.Body, r.Stars)
	}
	if c, s, _, _ := f.rating(mid); c != 1 || s != 2 {
		t.Errorf("rating %d/%d after the first review, want 1/2", c, s)
	}
	if _, err := f.svc.PutReview(ctx, by, member, "dice", 5, "better now"); err != nil {
		t.Fatal(err)
	}
	if c, s, rc, rs := f.rating(mid); c != 1 || s != 5 || rc != c || rs != s {
		t.Errorf("rating %d/%d (recount %d/%d) after the edit, want 1/5", c, s, rc, rs)
	}
	page, err := f.svc.Reviews(ctx, "dice", 10, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Reviews) != 1 || page.Reviews[0].Body != "better now" || page.Rating.Average() != 5 {
		t.Errorf("reviews %+v", page)
	}

	// Someone else's delete deletes nothing of the member's.
	err = f.svc.DeleteReview(ctx, audit.Actor{UserID: outsider}, outsider, "dice")
	wantProblem(t, err, problem.NotFound, "")
	if c, _, _, _ := f.rating(mid); c != 1 {
		t.Fatalf("another user's delete changed the rating count to %d", c)
	}
	if err := f.svc.DeleteReview(ctx, by, member, "dice"); err != nil {
		t.Fatal(err)
	}
	if c, s, rc, rs := f.rating(mid); c != 0 || s != 0 || rc != 0 || rs != 0 {
		t.Errorf("rating %d/%d (recount %d/%d) after the delete, want 0/0", c, s, rc, rs)
	}
	wantProblem(t, f.svc.DeleteReview(ctx, by, member, "dice"), problem.NotFound, "")
}

func TestReviewBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	author, member := f.user(false), f.user(false)
	mid, v := f.module("quotes", author, "1.0.0")
	f.install(f.community(member), mid, v["1.0.0"])
	by := audit.Actor{UserID: member}
	cases := []struct {
		name  string
		stars int
		body  string
		field string
	}{
		{"no stars", 0, "ok", "stars"},
		{"six stars", 6, "ok", "stars"},
		{"negative stars", -1, "ok", "stars"},
		{"huge body", 3, strings.Repeat("a", marketplace.MaxReviewBytes+1), "body"},
		{"huge in bytes, not in letters", 3, strings.Repeat("é", marketplace.MaxReviewBytes/2+1), "body"},
		{"invalid UTF-8", 3, "bad \xff byte", "body"},
		{"NUL", 3, "a\x00b", "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.PutReview(ctx, by, member, "quotes", tc.stars, tc.body)
			wantProblem(t, err, problem.Invalid, tc.field)
		})
	}
	if c, _, _, _ := f.rating(mid); c != 0 {
		t.Errorf("a refused review counted: %d", c)
	}
	// The longest body allowed, with surrounding space trimmed first.
	long := strings.Repeat("b", marketplace.MaxReviewBytes)
	r, err := f.svc.PutReview(ctx, by, member, "quotes", 3, "   "+long+"\n\n")
	if err != nil || r.Body != long {
		t.Fatalf("the longest body: %v", err)
	}
}

func TestReviewAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	author, member, other := f.user(false), f.user(false), f.user(false)
	mid, v := f.module("trivia", author, "1.0.0")
	f.install(f.community(member, other), mid, v["1.0.0"])
	if _, err := f.svc.PutReview(ctx, audit.Actor{UserID: member}, member, "trivia", 1, "broken"); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.AnswerReview(ctx, audit.Actor{UserID: other}, other, "trivia", member, "no it is not")
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.AnswerReview(ctx, audit.Actor{UserID: author}, author, "trivia", member, "   ")
	wantProblem(t, err, problem.Invalid, "answer")
	_, err = f.svc.AnswerReview(ctx, audit.Actor{UserID: author}, author, "trivia", member, strings.Repeat("x", marketplace.MaxReviewBytes+1))
	wantProblem(t, err, problem.Invalid, "answer")
	_, err = f.svc.AnswerReview(ctx, audit.Actor{UserID: author}, author, "trivia", other, "who?")
	wantProblem(t, err, problem.NotFound, "")

	r, err := f.svc.AnswerReview(ctx, audit.Actor{UserID: author}, author, "trivia", member, " Fixed in 1.0.1. ")
	if err != nil {
		t.Fatal(err)
	}
	if r.Answer != "Fixed in 1.0.1." || r.AnsweredAt == nil {
		t.Errorf("answer %q at %v", r.Answer, r.AnsweredAt)
	}
	_, err = f.svc.AnswerReview(ctx, audit.Actor{UserID: author}, author, "trivia", member, "and again")
	wantProblem(t, err, problem.Conflict, "")
	if !strings.Contains(problem.As(err).Message, "once") {
		t.Errorf("the second answer's refusal: %q", problem.As(err).Message)
	}
	page, err := f.svc.Reviews(ctx, "trivia", 10, 0, false)
	if err != nil || len(page.Reviews) != 1 || page.Reviews[0].Answer != "Fixed in 1.0.1." {
		t.Fatalf("reviews %+v, %v", page, err)
	}
	// The reviewer's edit keeps the answer.
	r, err = f.svc.PutReview(ctx, audit.Actor{UserID: member}, member, "trivia", 4, "works now")
	if err != nil || r.Answer != "Fixed in 1.0.1." {
		t.Fatalf("after an edit: %+v, %v", r, err)
	}
}

func TestReviewHiding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	author, rude, kind, admin := f.user(false), f.user(false), f.user(false), f.user(true)
	mid, v := f.module("points-shop", author, "1.0.0")
	f.install(f.community(rude, kind), mid, v["1.0.0"])
	if _, err := f.svc.PutReview(ctx, audit.Actor{UserID: rude}, rude, "points-shop", 1, "abuse"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutReview(ctx, audit.Actor{UserID: kind}, kind, "points-shop", 5, "lovely"); err != nil {
		t.Fatal(err)
	}
	if c, s, _, _ := f.rating(mid); c != 2 || s != 6 {
		t.Fatalf("rating %d/%d, want 2/6", c, s)
	}

	// Not a global admin: refused, whatever the caller claims.
	_, err := f.svc.HideReview(ctx, audit.Actor{UserID: kind}, false, "points-shop", rude)
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.HideReview(ctx, audit.Actor{UserID: kind}, true, "points-shop", rude)
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.HideReview(ctx, audit.Actor{UserID: admin}, false, "points-shop", rude) // an admin's plain-user API key
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.HideReview(ctx, audit.Actor{UserID: admin}, true, "points-shop", author)
	wantProblem(t, err, problem.NotFound, "")

	r, err := f.svc.HideReview(ctx, audit.Actor{UserID: admin, Email: "admin@example.com"}, true, "points-shop", rude)
	if err != nil || !r.Hidden {
		t.Fatalf("hide: %+v, %v", r, err)
	}
	if c, s, rc, rs := f.rating(mid); c != 1 || s != 5 || rc != c || rs != s {
		t.Errorf("rating %d/%d (recount %d/%d) with the abuse hidden, want 1/5", c, s, rc, rs)
	}
	page, err := f.svc.Reviews(ctx, "points-shop", 10, 0, false)
	if err != nil || page.Total != 1 || len(page.Reviews) != 1 || page.Reviews[0].UserID != kind || page.Rating.Average() != 5 {
		t.Fatalf("a reader's listing %+v, %v", page, err)
	}
	page, err = f.svc.Reviews(ctx, "points-shop", 10, 0, true)
	if err != nil || page.Total != 2 || len(page.Reviews) != 2 {
		t.Fatalf("an admin's listing %+v, %v", page, err)
	}
	// Hiding twice changes nothing; an edit of a hidden review stays out of the rating.
	if _, err := f.svc.HideReview(ctx, audit.Actor{UserID: admin}, true, "points-shop", rude); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutReview(ctx, audit.Actor{UserID: rude}, rude, "points-shop", 2, "still bad"); err != nil {
		t.Fatal(err)
	}
	if c, s, _, _ := f.rating(mid); c != 1 || s != 5 {
		t.Errorf("rating %d/%d after a hidden review's edit, want 1/5", c, s)
	}
	if _, err := f.svc.UnhideReview(ctx, audit.Actor{UserID: admin}, true, "points-shop", rude); err != nil {
		t.Fatal(err)
	}
	if c, s, rc, rs := f.rating(mid); c != 2 || s != 7 || rc != c || rs != s {
		t.Errorf("rating %d/%d (recount %d/%d) after unhiding, want 2/7", c, s, rc, rs)
	}
	// A hidden review deleted by its writer leaves the rating as it was.
	if _, err := f.svc.HideReview(ctx, audit.Actor{UserID: admin}, true, "points-shop", rude); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteReview(ctx, audit.Actor{UserID: rude}, rude, "points-shop"); err != nil {
		t.Fatal(err)
	}
	if c, s, rc, rs := f.rating(mid); c != 1 || s != 5 || rc != c || rs != s {
		t.Errorf("rating %d/%d (recount %d/%d) after deleting a hidden review, want 1/5", c, s, rc, rs)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action IN ($2, $3)`,
		admin, marketplace.AuditReviewHidden, marketplace.AuditReviewUnhidden).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 { // hide, unhide, hide: the repeated hide changed nothing
		t.Errorf("%d audit entries, want 3", n)
	}
}

// Concurrent edits by many users, each editing their review many times at
// once, keep the kept count and sum equal to a recount.
func TestReviewConcurrentEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	author, admin := f.user(false), f.user(true)
	mid, v := f.module("race", author, "1.0.0")
	const users, edits = 8, 12
	var members []int64
	for range users {
		members = append(members, f.user(false))
	}
	f.install(f.community(members...), mid, v["1.0.0"])
	var wg sync.WaitGroup
	errs := make(chan error, users*edits)
	for _, u := range members {
		for i := range edits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				switch {
				case i%5 == 4:
					err = f.svc.DeleteReview(ctx, audit.Actor{UserID: u}, u, "race")
				case i%4 == 1: // an admin hides and shows it meanwhile
					_, err = f.svc.HideReview(ctx, audit.Actor{UserID: admin}, true, "race", u)
				case i%4 == 3:
					_, err = f.svc.UnhideReview(ctx, audit.Actor{UserID: admin}, true, "race", u)
				default:
					_, err = f.svc.PutReview(ctx, audit.Actor{UserID: u}, u, "race", 1+(i*7+int(u))%5, fmt.Sprintf("edit %d", i))
				}
				if err != nil && !problem.Is(err, problem.NotFound) {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, s, rc, rs := f.rating(mid)
	if c != rc || s != rs {
		t.Errorf("kept rating %d/%d, recount %d/%d", c, s, rc, rs)
	}
	var reviews int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM marketplace_reviews WHERE module_id = $1", mid).Scan(&reviews); err != nil {
		t.Fatal(err)
	}
	if reviews == 0 {
		t.Error("no review survived: the test checks nothing")
	}
}
