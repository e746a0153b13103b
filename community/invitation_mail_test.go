package community_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/riverqueue/river"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/mail"
)

// mailJobArgs returns the queued mail jobs' arguments as JSON with sorted keys, oldest first.
func (e testEnv) mailJobArgs(ctx context.Context, t *testing.T) []string {
	t.Helper()
	res, err := e.jobs.JobList(ctx, river.NewJobListParams().Kinds(mail.SendArgs{}.Kind()).OrderBy(river.JobListOrderByID, river.SortOrderAsc))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range res.Jobs {
		var v map[string]any
		if err := json.Unmarshal(j.EncodedArgs, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}

// An invitation's mail job names the invitation and nothing else, and the
// invitation has no token until its mail is sent: the job table holds no link.
func TestInvitationMailJobCarriesNoLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	before := len(e.mails(ctx, t))
	if _, err := e.s.Invite(ctx, actors["admin"], c, "fay@example.com", community.Moderator); err != nil {
		t.Fatal(err)
	}
	var id int64
	var hashed bool
	if err := e.pool.QueryRow(ctx, "SELECT id, token_hash IS NOT NULL FROM community_invitations").Scan(&id, &hashed); err != nil {
		t.Fatal(err)
	}
	if hashed {
		t.Error("the invitation has a token before its mail is sent")
	}
	args := e.mailJobArgs(ctx, t)
	if want := fmt.Sprintf(`{"id":%d,"mail":"invitation"}`, id); args[len(args)-1] != want {
		t.Errorf("the invitation's mail job has args %s, want %s", args[len(args)-1], want)
	}

	ms := e.mails(ctx, t)[before:]
	if len(ms) != 1 || ms[0].To != "fay@example.com" {
		t.Fatalf("mails %+v, want the invitation to fay", ms)
	}
	match := inviteLinkRe.FindStringSubmatch(ms[0].Text)
	if match == nil {
		t.Fatalf("no link in the invitation:\n%s", ms[0].Text)
	}
	if info, err := e.s.CheckInvitation(ctx, match[1]); err != nil || info.Role != community.Moderator || info.Email != "fay@example.com" {
		t.Errorf("the mailed link: %+v, %v; want fay's invitation as moderator", info, err)
	}
	if got := e.mailJobArgs(ctx, t); got[len(got)-1] != args[len(args)-1] {
		t.Errorf("sending changed the job's args to %s", got[len(got)-1])
	}
}

// An invitation withdrawn before its mail job runs is not mailed: there is no
// link left to give.
func TestInvitationMailNotSentOnceWithdrawn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	before := len(e.mails(ctx, t))
	if _, err := e.s.Invite(ctx, actors["admin"], c, "erin@example.com", community.Member); err != nil {
		t.Fatal(err)
	}
	inv, err := e.s.PendingInvitations(ctx, c.ID)
	if err != nil || len(inv) != 1 {
		t.Fatalf("pending = %+v, %v", inv, err)
	}
	if err := e.s.RevokeInvitation(ctx, actors["admin"], c.ID, inv[0].ID); err != nil {
		t.Fatal(err)
	}
	if ms := e.mails(ctx, t)[before:]; len(ms) != 0 {
		t.Errorf("mails %+v, want none for a withdrawn invitation", ms)
	}
}

// The "added" mail of an existing account names the account, the community
// and who added it by id, and says the role the account has when it is sent.
func TestMemberAddedMailJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	before := len(e.mails(ctx, t))
	ann := e.mustCreateUser(ctx, t, "ann@example.com", false)
	if _, err := e.s.Invite(ctx, actors["admin"], c, "ann@example.com", community.Member); err != nil {
		t.Fatal(err)
	}
	args := e.mailJobArgs(ctx, t)
	if want := fmt.Sprintf(`{"actor_id":%d,"community_id":%d,"id":%d,"mail":"member_added"}`, actors["admin"].User.ID, c.ID, ann.ID); args[len(args)-1] != want {
		t.Errorf("the mail job has args %s, want %s", args[len(args)-1], want)
	}
	if _, err := e.s.ChangeRole(ctx, actors["owner"], c.ID, ann.ID, community.Moderator); err != nil {
		t.Fatal(err)
	}
	ms := e.mails(ctx, t)[before:]
	if len(ms) != 1 || ms[0].To != "ann@example.com" || ms[0].Text != "admin@ducks.example.com added you to The ducks on Waddle as moderator.\n\nSign in to see it: http://hub.test/\n" {
		t.Errorf("mails %+v, want one to ann saying who added her, where, and her role now", ms)
	}
}
