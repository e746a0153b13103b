package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/router"
)

type choice struct{ Name, Value string }

// choices reads the choices of an autocomplete callback (type 8).
func choices(t *testing.T, r discordtest.Request) []choice {
	t.Helper()
	var body struct {
		Type int `json:"type"`
		Data struct {
			Choices []choice `json:"choices"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Type != 8 {
		t.Fatalf("callback %s: want an autocomplete result (type 8) (%v)", r.Body, err)
	}
	return body.Data.Choices
}

// autocompleteArgs is an autocomplete interaction for command's args, typed so far.
func autocompleteArgs(id, command, typed string) map[string]any {
	return ixPayload(id, 4, map[string]any{"id": "1", "name": command, "type": 1,
		"options": []any{map[string]any{"name": "args", "type": 3, "value": typed, "focused": true}}})
}

func TestAutocompleteMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.rest.SetMembers(guild,
		discordtest.Member{ID: "42", Username: "alice"},
		discordtest.Member{ID: "43", Username: "albert", Nick: "Bertie"},
		discordtest.Member{ID: "44", Username: "bob"},
		discordtest.Member{ID: "45", Username: "zed", Nick: "Alfie"})
	search := "/guilds/" + guild + "/members/search"

	// Typing in /so's args lists the members whose name or nick starts with it.
	e.gw.Dispatch("INTERACTION_CREATE", autocompleteArgs("710", "so", " Al"))
	got := choices(t, e.waitBody("POST", "/interactions/710/tok-710/callback", `"type":8`))
	want := []choice{{"alice", "alice"}, {"Bertie (albert)", "albert"}, {"Alfie (zed)", "zed"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/so choices %v, want %v", got, want)
	}
	reqs := e.rest.Find("GET", search)
	if len(reqs) != 1 {
		t.Fatalf("%d member searches, want 1", len(reqs))
	}
	if q, _ := url.ParseQuery(reqs[0].Query); q.Get("query") != "al" || q.Get("limit") != "10" {
		t.Errorf("member search %q, want query=al (trimmed, lower case) and limit=10", reqs[0].Query)
	}

	// /give too, by nick, with the @ people type before a name.
	e.gw.Dispatch("INTERACTION_CREATE", autocompleteArgs("711", "give", "@bert"))
	got = choices(t, e.waitBody("POST", "/interactions/711/tok-711/callback", `"type":8`))
	if want := []choice{{"Bertie (albert)", "albert"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("/give choices %v, want %v", got, want)
	}

	// Nothing typed: no search, no choices.
	e.gw.Dispatch("INTERACTION_CREATE", autocompleteArgs("712", "so", ""))
	if got := choices(t, e.waitBody("POST", "/interactions/712/tok-712/callback", `"type":8`)); len(got) != 0 {
		t.Errorf("choices %v for nothing typed, want none", got)
	}
	// A failed search still answers, with no choices, rather than leaving
	// Discord to say "Loading options failed".
	e.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
		if r.Path != search {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"Missing Access","code":50001}`))
		return true
	})
	e.gw.Dispatch("INTERACTION_CREATE", autocompleteArgs("713", "so", "al"))
	if got := choices(t, e.waitBody("POST", "/interactions/713/tok-713/callback", `"type":8`)); len(got) != 0 {
		t.Errorf("choices %v after a failed search, want none", got)
	}
	e.rest.SetOverride(nil)
	if n := len(e.rest.Find("GET", search)); n != 3 {
		t.Errorf("%d member searches, want 3 (none for an empty value)", n)
	}
	// A command whose args name no one is not searched for.
	e.gw.Dispatch("INTERACTION_CREATE", autocompleteArgs("714", "points", "al"))
	if got := choices(t, e.waitBody("POST", "/interactions/714/tok-714/callback", `"type":8`)); len(got) != 0 {
		t.Errorf("/points choices %v, want none", got)
	}
	if n := len(e.rest.Find("GET", search)); n != 3 {
		t.Errorf("%d member searches after /points, want still 3", n)
	}

	// The chosen value runs the command as a name it knows (a moderator's /so).
	run := ixPayload("715", 2, map[string]any{"id": "1", "name": "so", "type": 1,
		"options": []any{map[string]any{"name": "args", "type": 3, "value": want[0].Value}}})
	run["member"].(map[string]any)["roles"] = []string{"77"}
	e.gw.Dispatch("INTERACTION_CREATE", run)
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-715/messages/@original", "Shout-out to alice!")
}

// selectMenu is a string select menu interaction with the values chosen.
func selectMenu(id, customID string, values ...string) map[string]any {
	return ixPayload(id, 3, map[string]any{"custom_id": customID, "component_type": 3, "values": values})
}

func TestSelectMenuRunsTheChosenCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("flavor", "you chose {args}")
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}

	// The custom id is the command, the values its arguments.
	e.gw.Dispatch("INTERACTION_CREATE", selectMenu("720", "!flavor", "red", "blue"))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-720/messages/@original", `"content":"you chose red blue"`)
	if cb := e.rest.Find("POST", "/interactions/720/tok-720/callback"); len(cb) != 1 || !strings.Contains(cb[0].Body, `"type":5`) {
		t.Errorf("callbacks %v, want one deferred (type 5)", cb)
	}

	// A module's menu: the value picks what it does.
	e.gw.Dispatch("INTERACTION_CREATE", selectMenu("721", "#menu", "pick"))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-721/messages/@original", "picked by alice")

	// A choice answered with a form opens it as a modal.
	e.gw.Dispatch("INTERACTION_CREATE", selectMenu("722", "#menu", "form"))
	cb := e.waitBody("POST", "/interactions/722/tok-722/callback", `"type":9`)
	if !strings.Contains(cb.Body, `"custom_id":"#menu sent"`) {
		t.Errorf("modal lacks the form's id: %s", cb.Body)
	}
	if n := len(e.rest.Find("POST", "/interactions/722/tok-722/callback")); n != 1 {
		t.Errorf("%d callbacks for a choice that opens a form, want 1", n)
	}
}
