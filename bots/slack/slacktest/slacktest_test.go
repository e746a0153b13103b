package slacktest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/bots/slack/slacktest"
)

// refusal is the error Slack answered, or "".
func refusal(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestFakeRefusesWhatSlackRefuses drives the fake with slack-go, as the bot
// does, and checks each of Slack's refusals it stands for.
func TestFakeRefusesWhatSlackRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fs := slacktest.Start(t)
	api := slack.New("xoxb-1", slack.OptionAPIURL(fs.APIURL()))
	text := func(s string) slack.MsgOption { return slack.MsgOptionText(s, false) }

	// Channels: only where the bot is a member; users' DMs always.
	if _, _, err := api.PostMessageContext(ctx, "C1", text("hi")); refusal(err) != "not_in_channel" {
		t.Errorf("post outside a channel the bot is in: %v, want not_in_channel", err)
	}
	fs.Join("C1")
	_, ts, err := api.PostMessageContext(ctx, "C1", text("hi"))
	if err != nil {
		t.Errorf("post in C1 after joining: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U1", text("hi")); err != nil {
		t.Errorf("post to a user's DM: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1"); refusal(err) != "no_text" {
		t.Errorf("post without text or blocks: %v, want no_text", err)
	}
	// chat.delete: the bot's own messages only.
	if _, _, err := api.DeleteMessageContext(ctx, "C1", "1.0"); refusal(err) != "cant_delete_message" {
		t.Errorf("delete someone else's message: %v, want cant_delete_message", err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C1", ts); err != nil {
		t.Errorf("delete the bot's message: %v", err)
	}

	// Block Kit limits.
	var many []slack.Block
	for range 51 {
		many = append(many, slack.NewDividerBlock())
	}
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("a", 3001), false, false), nil, nil)
	button := slack.NewButtonBlockElement("a", "v", slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("b", 76), false, false))
	for name, blocks := range map[string][]slack.Block{
		"51 blocks":          many,
		"section over 3000":  {long},
		"button label of 76": {slack.NewActionBlock("", button)},
		"repeated block_id":  {slack.NewDividerBlock(), slack.NewDividerBlock()},
	} {
		if name == "repeated block_id" {
			blocks[0].(*slack.DividerBlock).BlockID, blocks[1].(*slack.DividerBlock).BlockID = "x", "x"
		}
		if _, _, err := api.PostMessageContext(ctx, "C1", text("t"), slack.MsgOptionBlocks(blocks...)); refusal(err) != "invalid_blocks" {
			t.Errorf("%s: %v, want invalid_blocks", name, err)
		}
	}

	// users.info: not an admin by default.
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || u.IsAdmin || u.IsOwner {
		t.Errorf("users.info %+v, %v: want a member who is no admin", u, err)
	}
	fs.SetAdmin("U1")
	if u, _ := api.GetUserInfoContext(ctx, "U1"); !u.IsAdmin {
		t.Error("users.info after SetAdmin: not an admin")
	}

	// Trigger ids: once, within 3 seconds.
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "Hi", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	if _, err := api.OpenViewContext(ctx, "made-up", view); refusal(err) != "invalid_trigger_id" {
		t.Errorf("views.open with a made-up trigger: %v, want invalid_trigger_id", err)
	}
	trig := fs.Trigger()
	if _, err := api.OpenViewContext(ctx, trig, view); err != nil {
		t.Errorf("views.open: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, trig, view); refusal(err) != "exchanged_trigger_id" {
		t.Errorf("views.open again: %v, want exchanged_trigger_id", err)
	}
	late := fs.Trigger()
	fs.Advance(3 * time.Second)
	if _, err := api.OpenViewContext(ctx, late, view); refusal(err) != "expired_trigger_id" {
		t.Errorf("views.open after 3 s: %v, want expired_trigger_id", err)
	}
	noTitle := view
	noTitle.Title = nil
	if _, err := api.OpenViewContext(ctx, fs.Trigger(), noTitle); refusal(err) != "invalid_arguments" {
		t.Errorf("views.open without a title: %v, want invalid_arguments", err)
	}

	// Response URLs: five posts within 30 minutes.
	hook := fs.ResponseURL("T1")
	msg := &slack.WebhookMessage{Text: "hi"}
	for i := range 5 {
		if err := slack.PostWebhookCustomHTTPContext(ctx, hook, http.DefaultClient, msg); err != nil {
			t.Fatalf("response_url post %d: %v", i+1, err)
		}
	}
	var sc slack.StatusCodeError
	if err := slack.PostWebhookCustomHTTPContext(ctx, hook, http.DefaultClient, msg); !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("sixth post: %v, want 404", err)
	}
	old := fs.ResponseURL("T1")
	fs.Advance(30 * time.Minute)
	if err := slack.PostWebhookCustomHTTPContext(ctx, old, http.DefaultClient, msg); !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("post after 30 minutes: %v, want 404", err)
	}
	refused := map[string]bool{}
	for _, c := range fs.Calls("response_url") {
		refused[c.Refused] = true
	}
	if !refused["used_url"] || !refused["expired_url"] {
		t.Errorf("response_url refusals %v, want used_url and expired_url", refused)
	}

	// Rotating tokens expire; their refresh tokens are good once.
	access, refresh := fs.RotatingToken("T1", time.Hour)
	rot := slack.New(access, slack.OptionAPIURL(fs.APIURL()))
	if _, err := rot.AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test with a fresh rotating token: %v", err)
	}
	fs.Advance(time.Hour)
	if _, err := rot.AuthTestContext(ctx); refusal(err) != "token_expired" {
		t.Errorf("auth.test with an expired token: %v, want token_expired", err)
	}
	if _, err := slack.RefreshOAuthV2TokenContext(ctx, http.DefaultClient, "id", "secret", refresh, slack.OAuthOptionAPIURL(fs.APIURL())); err != nil {
		t.Errorf("refresh: %v", err)
	}
	if _, err := slack.RefreshOAuthV2TokenContext(ctx, http.DefaultClient, "id", "secret", refresh, slack.OAuthOptionAPIURL(fs.APIURL())); refusal(err) != "invalid_refresh_token" {
		t.Errorf("refresh with a used refresh token: %v, want invalid_refresh_token", err)
	}
}
