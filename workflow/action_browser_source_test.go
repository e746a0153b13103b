package workflow

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
)

func (e *actionEnv) mustSource(t *testing.T, communityID int64, kind, name string) overlay.Source {
	t.Helper()
	src, _, err := e.ov.Create(context.Background(), audit.Actor{}, communityID, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (e *actionEnv) updates(t *testing.T, src overlay.Source) []overlay.Update {
	t.Helper()
	us, err := e.ov.Since(context.Background(), src.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return us
}

func TestBrowserSourceShowsAnAlert(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	alerts := e.mustSource(t, e.cid, overlay.Alerts, "Main alerts")
	res, _, err := e.run(t, "action_browser_source", "n1",
		`{"source":"Main alerts","kind":"alert","data":{"event":"raid","user":"ann","amount":"30"}}`, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	us := e.updates(t, alerts)
	if len(us) != 1 || us[0].Type != "alert" || us[0].Message != "ann is raiding with 30 viewers!" || us[0].User != "ann" || us[0].Seconds != 8 {
		t.Fatalf("updates %+v", us)
	}
	if out := outputOf(t, res); out["sent"] != true || out["source"] != "Main alerts" {
		t.Errorf("output %v", out)
	}
	// By id, with a message of its own.
	_, _, err = e.run(t, "action_browser_source", "n2",
		`{"source":"`+strconv.FormatInt(alerts.ID, 10)+`","kind":"alert","data":{"message":"Honk!","seconds":"3"}}`, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	us = e.updates(t, alerts)
	if len(us) != 2 || us[1].Message != "Honk!" || us[1].Seconds != 3 {
		t.Errorf("updates %+v", us)
	}
}

func TestBrowserSourceTicker(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	ticker := e.mustSource(t, e.cid, overlay.Ticker, "Ticker")
	if _, _, err := e.run(t, "action_browser_source", "n1", `{"source":"ticker","kind":"ticker","data":{"message":"Next: Q&A"}}`, nil, false); err != nil {
		t.Fatal(err)
	}
	if us := e.updates(t, ticker); len(us) != 1 || us[0].Message != "Next: Q&A" {
		t.Errorf("updates %+v", us)
	}
	// A ticker shows ticker updates, not alerts.
	_, _, err := e.run(t, "action_browser_source", "n2", `{"source":"Ticker","kind":"alert","data":{"message":"x"}}`, nil, false)
	if p := problem.As(err); p == nil || p.Field != "kind" {
		t.Errorf("alert on a ticker: %v, want an error on kind", err)
	}
	// Media must be http(s), as from the API.
	_, _, err = e.run(t, "action_browser_source", "n3", `{"source":"Ticker","kind":"ticker","data":{"message":"x","image":"javascript:alert(1)"}}`, nil, false)
	if p := problem.As(err); p == nil || p.Field != "image" {
		t.Errorf("a javascript: image: %v", err)
	}
	if us := e.updates(t, ticker); len(us) != 1 {
		t.Errorf("%d updates after two refused", len(us))
	}
}

// TestBrowserSourceTenancy: another community's source is not found, by
// name or by id, and receives nothing.
func TestBrowserSourceTenancy(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	theirs := e.mustSource(t, e.other, overlay.Ticker, "Goose ticker")
	for _, source := range []string{"Goose ticker", strconv.FormatInt(theirs.ID, 10), "Nope"} {
		_, _, err := e.run(t, "action_browser_source", "n1", `{"source":"`+source+`","kind":"ticker","data":{"message":"hi"}}`, nil, false)
		if p := problem.As(err); p == nil || p.Field != "source" || !strings.Contains(err.Error(), source) {
			t.Errorf("source %q: %v, want an error on source naming it", source, err)
		}
	}
	if us := e.updates(t, theirs); len(us) != 0 {
		t.Errorf("the other community's source got %+v", us)
	}
}

func TestBrowserSourceDryRunShowsNothing(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	alerts := e.mustSource(t, e.cid, overlay.Alerts, "Alerts")
	res, _, err := e.run(t, "action_browser_source", "n1", `{"source":"Alerts","kind":"alert","data":{"message":"x"}}`, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if us := e.updates(t, alerts); len(us) != 0 {
		t.Errorf("a dry run showed %+v", us)
	}
	if out := outputOf(t, res); out["sent"] != false || !strings.HasPrefix(out["change"].(string), "would show") {
		t.Errorf("output %v", out)
	}
}

func TestBrowserSourceBadConfig(t *testing.T) {
	t.Parallel()
	many := make([]string, 0, 21)
	for i := range 21 {
		many = append(many, `"k`+strconv.Itoa(i)+`":"v"`)
	}
	testBadConfigs(t, "action_browser_source", []badConfig{
		{"no source", `{"kind":"alert"}`, "source"},
		{"unknown kind", `{"source":"a","kind":"fireworks"}`, "kind"},
		{"too many fields", `{"source":"a","kind":"alert","data":{` + strings.Join(many, ",") + `}}`, "data"},
		{"unknown field", `{"source":"a","kind":"alert","data":{"colour":"red"}}`, "data.colour"},
		{"long message", `{"source":"a","kind":"alert","data":{"message":"` + strings.Repeat("a", 2001) + `"}}`, "data.message"},
	})
	if issues := checkIssues(t, "action_browser_source", `{"source":"a","data":{"message":"hi","user":"u"}}`); len(issues) != 0 {
		t.Errorf("a good configuration: %v", issues)
	}
}
