package router_test

import (
	"strings"
	"testing"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func validEvent() router.Event {
	return router.Event{ID: "e1", Platform: router.Twitch, Kind: router.Cheer, Server: "duckchan", User: router.User{ID: "u1", Name: "ann"}}
}

// Amounts are whole numbers within their bounds; strings, anywhere, are
// valid UTF-8. A bad one is refused naming its field.
func TestEventValidateRefusesBadFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		change    func(*router.Event)
		wantField string
		wantMsg   string
	}{
		{"negative bits", func(e *router.Event) { e.Data = map[string]any{"bits": -1000000.0} }, "data.bits", "whole number from 1 to 1000000"},
		{"bits past int64", func(e *router.Event) { e.Data = map[string]any{"bits": 1e30} }, "data.bits", "whole number from 1 to 1000000"},
		{"zero bits", func(e *router.Event) { e.Data = map[string]any{"bits": 0.0} }, "data.bits", "from 1 to"},
		{"fractional bits", func(e *router.Event) { e.Data = map[string]any{"bits": 12.5} }, "data.bits", "whole number"},
		{"bits as a string", func(e *router.Event) { e.Data = map[string]any{"bits": "500"} }, "data.bits", "whole number"},
		{"bits as an object", func(e *router.Event) { e.Data = map[string]any{"bits": map[string]any{"n": 1.0}} }, "data.bits", "whole number"},
		{"too many viewers", func(e *router.Event) { e.Kind, e.Data = router.Raid, map[string]any{"viewers": 10_000_001.0} }, "data.viewers", "from 0 to 10000000"},
		{"months of a millennium", func(e *router.Event) { e.Kind, e.Data = router.Subscribe, map[string]any{"months": 12000.0} }, "data.months", "from 1 to 1200"},
		{"a gift of 5000", func(e *router.Event) { e.Kind, e.Data = router.GiftSub, map[string]any{"count": int64(5000)} }, "data.count", "from 1 to 1000"},
		{"a day and a minute in voice", func(e *router.Event) { e.Kind, e.Data = router.VoiceLeave, map[string]any{"minutes": 1441} }, "data.minutes", "from 0 to 1440"},
		{"text not UTF-8", func(e *router.Event) { e.Text = "hi \xff there" }, "text", "not valid UTF-8"},
		{"user name not UTF-8", func(e *router.Event) { e.User.Name = "ann\xc3" }, "user.name", "not valid UTF-8"},
		{"display name not UTF-8", func(e *router.Event) { e.User.DisplayName = "\xed\xa0\x80" }, "user.display_name", "not valid UTF-8"},
		{"user id not UTF-8", func(e *router.Event) { e.User.ID = "u\xfe" }, "user.id", "not valid UTF-8"},
		{"server not UTF-8", func(e *router.Event) { e.Server = "duck\x80" }, "server", "not valid UTF-8"},
		{"channel not UTF-8", func(e *router.Event) { e.Channel = "c\x80" }, "channel", "not valid UTF-8"},
		{"id not UTF-8", func(e *router.Event) { e.ID = "e\xc0\xaf" }, "id", "not valid UTF-8"},
		{"data string not UTF-8", func(e *router.Event) { e.Data = map[string]any{"tier": "10\xff"} }, "data.tier", "not valid UTF-8"},
		{"nested data not UTF-8", func(e *router.Event) {
			e.Data = map[string]any{"form": map[string]any{"tags": []any{"ok", "b\xffd"}}}
		}, "data.form.tags[1]", "not valid UTF-8"},
		{"data nested too deep", func(e *router.Event) {
			var v any = "x"
			for range 8 {
				v = map[string]any{"k": v}
			}
			e.Data = map[string]any{"deep": v}
		}, "data.deep.k.k.k.k.k.k", "nests at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := validEvent()
			tc.change(&ev)
			err := ev.Validate()
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != tc.wantField || !strings.Contains(p.Message, tc.wantMsg) {
				t.Errorf("Validate = %v, want a bad-input error on %q saying %q", err, tc.wantField, tc.wantMsg)
			}
		})
	}
}

func TestEventValidateAcceptsAmountsInBounds(t *testing.T) {
	t.Parallel()
	for _, data := range []map[string]any{
		nil,
		{"bits": 1.0},
		{"bits": 1_000_000.0},
		{"bits": int64(500), "tier": "1000", "message": "pog 🦆"},
		{"viewers": 0.0},
		{"minutes": int64(0)},
		{"months": 1200},
		{"count": 1000.0},
		{"form": map[string]any{"tags": []any{"a", 1.5, true, nil}}},
	} {
		ev := validEvent()
		ev.Data = data
		if err := ev.Validate(); err != nil {
			t.Errorf("data %v: %v", data, err)
		}
	}
}

// DecodeEvent sees what encoding/json hides: text that is not UTF-8 becomes
// U+FFFD when decoded, so the raw JSON is checked, and the field named.
func TestDecodeEventRefusesTextThatIsNotUTF8(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, raw, wantField string
	}{
		{"raw byte in text", "{\"id\":\"e1\",\"text\":\"hi \xff\"}", "text"},
		{"raw byte in a user name", "{\"id\":\"e1\",\"user\":{\"id\":\"u1\",\"name\":\"a\xc3\"}}", "user.name"},
		{"lone high surrogate in text", `{"id":"e1","text":"hi \ud83d there"}`, "text"},
		{"lone low surrogate in a display name", `{"user":{"display_name":"\ude00"}}`, "user.display_name"},
		{"high surrogate then a letter", `{"text":"\ud83dA"}`, "text"},
		{"bad byte in a data key", "{\"data\":{\"ti\xffer\":\"1\"}}", "data.ti\uFFFDer"},
		{"bad byte deep in data", "{\"data\":{\"form\":[\"ok\",{\"x\":\"\xfe\"}]}}", "data.form[1].x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := router.DecodeEvent([]byte(tc.raw))
			p := problem.As(err)
			if p == nil || p.Field != tc.wantField || !strings.Contains(p.Message, "not valid UTF-8") {
				t.Errorf("DecodeEvent = %v, want %q named as not valid UTF-8", err, tc.wantField)
			}
		})
	}
	ev, err := router.DecodeEvent([]byte(`{"id":"e1","text":"duck \ud83e\udd86 \\ud800 is text, \"quoted\"","user":{"name":"🦆"}}`))
	if err != nil || ev.Text != `duck 🦆 \ud800 is text, "quoted"` {
		t.Errorf("valid escapes: %q, %v", ev.Text, err)
	}
}

func TestDecodeEventNamesWrongTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, wantField, wantMsg string }{
		{`{"id":"e1","user":{"id":42}}`, "user.id", "must be a string"},
		{`{"id":"e1","user":{"roles":"mod"}}`, "user.roles", "must be an array"},
		{`{"id":"e1","time":"yesterday"}`, "", "not in RFC 3339 form"},
		{`{"id":"e1",`, "", "not valid JSON"},
	} {
		_, err := router.DecodeEvent([]byte(tc.raw))
		p := problem.As(err)
		if p == nil || p.Field != tc.wantField || !strings.Contains(p.Message, tc.wantMsg) || strings.Contains(p.Message, "Go ") {
			t.Errorf("DecodeEvent(%s) = %v, want field %q and %q, naming no Go type", tc.raw, err, tc.wantField, tc.wantMsg)
		}
	}
}
