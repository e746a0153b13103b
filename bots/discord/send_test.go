package discord

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/router"
)

func TestRenderStaysWithinDiscordsLimits(t *testing.T) {
	t.Parallel()
	b := &Bot{log: slog.New(slog.DiscardHandler), store: newStore(nil, "")}
	long := func(n int) string { return strings.Repeat("é", n) }
	var fields []router.EmbedField
	for range 30 {
		fields = append(fields, router.EmbedField{Name: long(300), Value: long(2000)})
	}
	cases := []struct {
		name      string
		resp      router.Response
		wantIDs   []string
		wantChars int // embed characters; -1: no embed
	}{
		{"duplicate button ids", router.Response{Reply: "pick", Buttons: []router.Button{{ID: "a"}, {ID: "b"}, {ID: "a", Label: "again"}}}, []string{"a", "b"}, -1},
		{"huge embed", router.Response{Embed: &router.Embed{Title: long(300), Description: long(5000), Fields: fields}}, nil, maxEmbedChars},
		{"small embed", router.Response{Embed: &router.Embed{Title: "t", Description: "d", Fields: []router.EmbedField{{Name: "n", Value: "v"}}}}, nil, 4},
	}
	for _, c := range cases {
		p := b.render(context.Background(), c.resp)
		var ids []string
		for _, row := range p.components {
			for _, btn := range row.(discordgo.ActionsRow).Components {
				ids = append(ids, btn.(discordgo.Button).CustomID)
			}
		}
		if strings.Join(ids, ",") != strings.Join(c.wantIDs, ",") {
			t.Errorf("%s: button ids %v, want %v", c.name, ids, c.wantIDs)
		}
		chars := -1
		for _, e := range p.embeds {
			chars = utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
			for _, f := range e.Fields {
				chars += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
				if f.Name == "" || f.Value == "" {
					t.Errorf("%s: a field lacks its name or value", c.name)
				}
			}
		}
		if chars != c.wantChars {
			t.Errorf("%s: %d embed characters, want %d", c.name, chars, c.wantChars)
		}
	}
}

func TestCheckHidesInteractionTokens(t *testing.T) {
	t.Parallel()
	b := &Bot{cfg: Config{InvalidLimit: 1000}}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"rate limited callback", &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{URL: "https://discord.com/api/v10/interactions/1/SECRET/callback",
			TooManyRequests: &discordgo.TooManyRequests{RetryAfter: time.Second}}}, "interactions/1/[token]/callback"},
		{"unreachable webhook", &url.Error{Op: "Patch", URL: "https://discord.com/api/v10/webhooks/2000/SECRET/messages/@original", Err: errors.New("connection reset")},
			"webhooks/2000/[token]/messages"},
	}
	for _, c := range cases {
		err := b.check(c.err)
		if msg := err.Error(); strings.Contains(msg, "SECRET") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want the token hidden (%s)", c.name, msg, c.want)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: the original error is no longer wrapped", c.name)
		}
	}
}
