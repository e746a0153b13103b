package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
)

// socialFixture is what the matrix's review and usage routes work on:
//   - "social-mod", by a developer in no community, installed in A, with a
//     review by A's plain member (the victim), which admins hide;
//   - "social-author-mod", by A's admin (the user key "own"), installed in A, with
//     the victim's review, which its author answers;
//   - "social-lonely", installed nowhere: what a refusal on a module reviewers
//     cannot reach must look like.
type socialFixture struct {
	root auth.User // a global admin, who unhides between cases
}

func (x *tenancyEnv) socialFixtures(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	dev := x.user("social-dev@example.com", false)
	ua, err := x.auth.UserByEmail(ctx, "a-admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	x.social.root, err = x.auth.UserByEmail(ctx, "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mid, vid := x.mustModule(t, "social-mod", dev.ID)
	x.mustInstall(t, x.a.ID, mid, vid)
	amid, avid := x.mustModule(t, "social-author-mod", ua.ID)
	x.mustInstall(t, x.a.ID, amid, avid)
	x.mustModule(t, "social-lonely", dev.ID)
	x.mustRun(t, x.a.ID, vid, "ok")
	x.mustRun(t, x.b.ID, vid, "ok") // B never installed it: a row the community view must not count
	for _, slug := range []string{"social-mod", "social-author-mod"} {
		if _, err := x.cfg.Marketplace.PutReview(ctx, audit.Actor{UserID: x.victim}, x.victim, slug, 3, "victim's review"); err != nil {
			t.Fatal(err)
		}
	}
}

// socialReviewFingerprint is the part of a community's fingerprint about the
// reviews of the modules it installed.
const socialReviewFingerprint = `(SELECT string_agg(r.module_id || ':' || r.user_id || ':' || r.stars || ':' || r.body || ':' || r.hidden || ':' || r.answer, ','
	ORDER BY r.module_id, r.user_id) FROM marketplace_reviews r WHERE r.module_id IN (SELECT module_id FROM marketplace_installs WHERE community_id = $1))`

func socialTenancyRoutes() []tenancyRoute {
	fixed := func(p string) func(*tenancyEnv) string { return func(*tenancyEnv) string { return p } }
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	forbidden := [4]int{403, 403, 403, 403}
	reviewOf := func(slug, suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/modules/%s/reviews/%d/%s", slug, x.victim, suffix)
			},
			func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/modules/%s/reviews/%d/%s", slug, x.unknown, suffix)
			}
	}
	answer, answerU := reviewOf("social-author-mod", "answer")
	hide, hideU := reviewOf("social-mod", "hide")
	// Own reviews of A's admin and of the global admin who owns A, for DELETE.
	ownReviews := func(t *testing.T, x *tenancyEnv) {
		for _, email := range []string{"a-admin@example.com", "g-owner-a@example.com"} {
			u, err := x.auth.UserByEmail(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.cfg.Marketplace.PutReview(context.Background(), audit.Actor{UserID: u.ID}, u.ID, "social-mod", 4, "to delete"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/marketplace/modules/{slug}/reviews", path: fixed("/marketplace/modules/social-mod/reviews"),
			unknownPath: fixed("/marketplace/modules/no-such-module/reviews"), body: noBody,
			want: map[string][4]int{"user": {200, 200, 200, 200}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		// Only members of a community that installed the module review it.
		{method: "PUT", pattern: "/api/v1/marketplace/modules/{slug}/review", path: fixed("/marketplace/modules/social-mod/review"),
			unknownPath: fixed("/marketplace/modules/social-lonely/review"),
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"stars": %d, "body": "matrix %d"}`, 1+n%5, n)
			},
			want: map[string][4]int{"user": {200, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 403, 401, 403}}},
		{method: "DELETE", pattern: "/api/v1/marketplace/modules/{slug}/review", path: fixed("/marketplace/modules/social-mod/review"),
			unknownPath: fixed("/marketplace/modules/social-lonely/review"), body: noBody, prep: ownReviews,
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 404, 401, 404}}},
		// The module's author answers: A's admin; admin keys are no author.
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/reviews/{user_id}/answer", path: answer, unknownPath: answerU,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"answer": "thanks %d"}`, n) },
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE marketplace_reviews SET answer = '', answered_at = NULL")
			},
			want: map[string][4]int{"user": {200, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {403, 403, 401, 403}}},
		// Global admins hide, through admin keys only.
		{method: "POST", pattern: "/api/v1/marketplace/modules/{slug}/reviews/{user_id}/hide", path: hide, unknownPath: hideU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.cfg.Marketplace.UnhideReview(context.Background(), audit.Actor{UserID: x.social.root.ID}, true, "social-mod", x.victim); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][4]int{"user": forbidden, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		// The author and global admins see a module's usage.
		{method: "GET", pattern: "/api/v1/marketplace/modules/{slug}/usage", path: fixed("/marketplace/modules/social-author-mod/usage"),
			unknownPath: fixed("/marketplace/modules/social-lonely/usage"), body: noBody,
			want: map[string][4]int{"user": {200, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		// A community's admins see its usage of an installed module.
		{method: "GET", pattern: "/api/v1/marketplace/installs/{slug}/usage",
			path: func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/installs/social-mod/usage?community_id=%d", x.a.ID)
			},
			unknownPath: func(x *tenancyEnv) string {
				return fmt.Sprintf("/marketplace/installs/social-mod/usage?community_id=%d", x.unknown)
			},
			body: noBody,
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
	}
}
