package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
)

// The labels' routes in the matrix. A and B each have a label "matrix" and a
// person (a Twitch account); A's person may carry A's label. The hub-wide
// label "matrix-hub" may go on A. Writes are prepared so that an accepted
// one changes A: the label taken off before it is given, and so on.
type labelsFixture struct {
	personA, personB int64
}

func (x *tenancyEnv) labelsFixtures(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct {
		cid     int64
		account string
		into    *int64
	}{{x.a.ID, "matrix-a", &x.labels.personA}, {x.b.ID, "matrix-b", &x.labels.personB}} {
		if _, err := x.cfg.Labels.Create(ctx, audit.Actor{}, c.cid, labels.Input{Name: "matrix"}); err != nil {
			t.Fatal(err)
		}
		*c.into = x.mustPerson(t, c.cid, "twitch", c.account, c.account, 0, 0)
		if _, err := x.cfg.Labels.Add(ctx, audit.Actor{}, c.cid, *c.into, "matrix"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.cfg.Labels.Create(ctx, audit.Actor{}, 0, labels.Input{Name: "matrix-hub"}); err != nil {
		t.Fatal(err)
	}
}

// labelsFingerprint is the part of a community's fingerprint about labels.
const labelsFingerprint = `(SELECT string_agg(id || ':' || name || ':' || colour || ':' || description, ',' ORDER BY id) FROM labels WHERE community_id = $1),
		(SELECT string_agg(identity_id || ':' || label_id, ',' ORDER BY identity_id, label_id) FROM person_labels WHERE community_id = $1),
		(SELECT string_agg(label_id::text, ',' ORDER BY label_id) FROM community_labels WHERE community_id = $1)`

func (x *tenancyEnv) ensureLabel(t testing.TB, cid int64, name string) {
	t.Helper()
	if _, err := x.cfg.Labels.Create(context.Background(), audit.Actor{}, cid, labels.Input{Name: name}); err != nil && !errors.Is(err, labels.ErrNameTaken) {
		t.Fatal(err)
	}
}

func labelsTenancyRoutes() []tenancyRoute {
	refused := [4]int{403, 403, 401, 403}
	noBody := func(*tenancyEnv, int) string { return "" }
	member := func(ok int) map[string][4]int {
		return map[string][4]int{"user": {ok, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {ok, ok, 401, ok}}
	}
	cpath := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d%s", x.a.ID, suffix) },
			func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d%s", x.unknown, suffix) }
	}
	ppath := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/people/%d/labels%s", x.a.ID, x.labels.personA, suffix)
			},
			func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/people/%d/labels%s", x.unknown, x.labels.personA, suffix)
			}
	}
	take := func(t *testing.T, x *tenancyEnv) {
		if _, err := x.cfg.Labels.Remove(context.Background(), audit.Actor{}, x.a.ID, x.labels.personA, "matrix"); err != nil {
			t.Fatal(err)
		}
	}
	give := func(t *testing.T, x *tenancyEnv) {
		if _, err := x.cfg.Labels.Add(context.Background(), audit.Actor{}, x.a.ID, x.labels.personA, "matrix"); err != nil {
			t.Fatal(err)
		}
	}
	list, listU := cpath("/labels")
	search, searchU := cpath("/labels/search?labels=matrix&match=any")
	one, oneU := cpath("/labels/matrix")
	del, delU := cpath("/labels/matrix-del")
	bulk, bulkU := cpath("/labels/bulk")
	cl, clU := cpath("/community-labels")
	person, personU := ppath("")
	personOne, personOneU := ppath("/matrix")
	hub := func(p string) func(*tenancyEnv) string { return func(*tenancyEnv) string { return p } }
	hubAdmin := map[string][4]int{"user": {403, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/labels", path: list, unknownPath: listU, body: noBody, want: member(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/labels", path: list, unknownPath: listU,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"name":"m%d","colour":"#00ff00"}`, n) }, want: member(201)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/labels/search", path: search, unknownPath: searchU, body: noBody, want: member(200)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/labels/{label}", path: one, unknownPath: oneU, body: noBody, want: member(200)},
		{method: "PATCH", pattern: "/api/v1/communities/{cid}/labels/{label}", path: one, unknownPath: oneU,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"description":"matrix %d"}`, n) }, want: member(200)},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/labels/{label}", path: del, unknownPath: delU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) { x.ensureLabel(t, x.a.ID, "matrix-del") }, want: member(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/labels/bulk", path: bulk, unknownPath: bulkU, prep: take,
			body: func(x *tenancyEnv, _ int) string {
				return fmt.Sprintf(`{"operations":[{"op":"add","person":%d,"label":"matrix"}]}`, x.labels.personA)
			}, want: member(200)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/people/{identity}/labels", path: person, unknownPath: personU, body: noBody, want: member(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/people/{identity}/labels", path: person, unknownPath: personU, prep: take,
			body: func(*tenancyEnv, int) string { return `{"label":"matrix"}` }, want: member(200)},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/people/{identity}/labels/{label}", path: personOne, unknownPath: personOneU,
			prep: give, body: noBody, want: member(200)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/community-labels", path: cl, unknownPath: clU, body: noBody, want: member(200)},
		{method: "PUT", pattern: "/api/v1/communities/{cid}/community-labels", path: cl, unknownPath: clU,
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.cfg.Labels.SetOnCommunity(context.Background(), audit.Actor{}, x.a.ID, nil); err != nil {
					t.Fatal(err)
				}
			},
			body: func(*tenancyEnv, int) string { return `{"labels":["matrix-hub"]}` }, want: member(200)},
		// The hub-wide labels belong to no community: checked as read-only for A.
		{method: "GET", pattern: "/api/v1/labels", path: hub("/labels"), unknownPath: hub("/labels"), body: noBody,
			want: map[string][4]int{"user": {200, 200, 200, 200}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "POST", pattern: "/api/v1/labels", path: hub("/labels"), unknownPath: hub("/labels"), readOnly: true,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"name":"hub %d"}`, n) },
			want: map[string][4]int{"user": {403, 403, 403, 403}, "trigger": refused, "action": refused, "core": refused, "admin": {201, 201, 401, 201}}},
		{method: "PATCH", pattern: "/api/v1/labels/{label}", path: hub("/labels/matrix-hub"), unknownPath: hub("/labels/no-such-label"), readOnly: true,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"colour":"#%06x"}`, n) }, want: hubAdmin},
		{method: "DELETE", pattern: "/api/v1/labels/{label}",
			path: func(x *tenancyEnv) string {
				x.ensureLabel(x.t, 0, "matrix-hub-del")
				return "/labels/matrix-hub-del"
			},
			unknownPath: hub("/labels/no-such-label"), readOnly: true, body: noBody, want: hubAdmin},
	}
}
