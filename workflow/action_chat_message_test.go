package workflow

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/waddle/waddle/router"
)

func TestChatMessageAnswersInTheTriggerChannel(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	res, _, err := e.run(t, "action_chat_message", "n1", `{"target":"trigger","text":"Thanks for the raid!"}`, chatTriggerScope(), false)
	if err != nil {
		t.Fatal(err)
	}
	sent := e.sent.all()
	want := router.Message{Platform: "twitch", Server: "duckchan", Channel: "c1", Text: "Thanks for the raid!"}
	if len(sent) != 1 || sent[0] != want || e.sent.cids[0] != e.cid {
		t.Fatalf("sent %+v, want %+v to community %d", sent, want, e.cid)
	}
	out := outputOf(t, res)
	if out["sent"] != true || out["platform"] != "twitch" || out["channel"] != "c1" || out["text"] != "Thanks for the raid!" {
		t.Errorf("output %v", out)
	}
}

func TestChatMessageTriggerWithoutChannelFails(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	scope := map[string]any{"trigger": map[string]any{"schedule": "daily"}}
	_, _, err := e.run(t, "action_chat_message", "n1", `{"target":"trigger","text":"Hello"}`, scope, false)
	if !errors.Is(err, errNoTriggerChannel) || !strings.Contains(err.Error(), "no chat channel") {
		t.Fatalf("err = %v, want the trigger has no channel", err)
	}
	if n := len(e.sent.all()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

func TestChatMessageToALinkedChannelOnAnotherPlatform(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	_, _, err := e.run(t, "action_chat_message", "n1",
		`{"target":"channel","platform":"discord","server":"g1","channel":"announcements","text":"We are live"}`, chatTriggerScope(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := router.Message{Platform: "discord", Server: "g1", Channel: "announcements", Text: "We are live"}
	if sent := e.sent.all(); len(sent) != 1 || sent[0] != want {
		t.Fatalf("sent %+v, want %+v", sent, want)
	}
}

// TestChatMessageRefusesAnotherCommunitysChannel: tenancy; the geese's
// channel is not the ducks' to post in.
func TestChatMessageRefusesAnotherCommunitysChannel(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	_, _, err := e.run(t, "action_chat_message", "n1",
		`{"target":"channel","platform":"twitch","server":"goosechan","channel":"goosechan","text":"hi"}`, nil, false)
	if !errors.Is(err, router.ErrNotLinked) {
		t.Fatalf("err = %v, want not linked", err)
	}
	if n := len(e.sent.all()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

func TestChatMessagePrivateToTheUser(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	res, _, err := e.run(t, "action_chat_message", "n1", `{"target":"private","user":"u9","text":"Your code is 1234"}`, chatTriggerScope(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := router.Message{Platform: "twitch", Server: "duckchan", User: "u9", Text: "Your code is 1234"}
	if sent := e.sent.all(); len(sent) != 1 || sent[0] != want {
		t.Fatalf("sent %+v, want %+v", sent, want)
	}
	if out := outputOf(t, res); out["user"] != "u9" {
		t.Errorf("output %v", out)
	}
	// Without a chat trigger and without a platform, there is nowhere to send it.
	if _, _, err := e.run(t, "action_chat_message", "n2", `{"target":"private","user":"u9","text":"x"}`, nil, false); err == nil || !strings.HasPrefix(err.Error(), "platform:") {
		t.Errorf("private without a server: %v", err)
	}
}

func TestChatMessageDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	res, _, err := e.run(t, "action_chat_message", "n1", `{"target":"trigger","text":"Hello"}`, chatTriggerScope(), true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.sent.all()); n != 0 {
		t.Errorf("a dry run sent %d messages", n)
	}
	out := outputOf(t, res)
	if out["sent"] != false || !strings.HasPrefix(out["change"].(string), "would send") {
		t.Errorf("output %v", out)
	}
}

func TestChatMessageIsCutTo500Characters(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	text := strings.Repeat("é", 700)
	_, x, err := e.run(t, "action_chat_message", "n1", `{"target":"trigger","text":"`+text+`"}`, chatTriggerScope(), false)
	if err != nil {
		t.Fatal(err)
	}
	sent := e.sent.all()
	if len(sent) != 1 || utf8.RuneCountInString(sent[0].Text) != MaxChatText || !hasNote(x, "cut to 500") {
		t.Fatalf("sent %d characters, notes %v", utf8.RuneCountInString(sent[0].Text), x.Notes)
	}
}

func TestChatMessageBadConfig(t *testing.T) {
	t.Parallel()
	testBadConfigs(t, "action_chat_message", []badConfig{
		{"unknown target", `{"target":"everywhere","text":"hi"}`, "target"},
		{"no text", `{"target":"trigger"}`, "text"},
		{"text too long", `{"target":"trigger","text":"` + strings.Repeat("a", 2001) + `"}`, "text"},
		{"channel without platform", `{"target":"channel","server":"g1","channel":"c","text":"hi"}`, "platform"},
		{"channel unknown platform", `{"target":"channel","platform":"irc","server":"g1","channel":"c","text":"hi"}`, "platform"},
		{"channel without server", `{"target":"channel","platform":"discord","channel":"c","text":"hi"}`, "server"},
		{"channel without channel", `{"target":"channel","platform":"discord","server":"g1","text":"hi"}`, "channel"},
		{"private without user", `{"target":"private","text":"hi"}`, "user"},
		{"private unknown platform", `{"target":"private","platform":"irc","user":"u","text":"hi"}`, "platform"},
	})
	if issues := checkIssues(t, "action_chat_message", `{"target":"trigger","text":"hi"}`); len(issues) != 0 {
		t.Errorf("a good configuration: %v", issues)
	}
}
