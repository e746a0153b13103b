package main

import (
	"errors"
	"testing"
)

// The importers' settings: a Nightbot app needs both halves, and the
// endpoints are http(s) base URLs; a bad one is named.
func TestImportConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vars    map[string]string
		wantVar string
	}{
		{map[string]string{"NIGHTBOT_CLIENT_ID": "abc"}, "NIGHTBOT_CLIENT_SECRET"},
		{map[string]string{"NIGHTBOT_CLIENT_SECRET": "abc"}, "NIGHTBOT_CLIENT_ID"},
		{map[string]string{"STREAMELEMENTS_API_URL": "ftp://se.example"}, "STREAMELEMENTS_API_URL"},
		{map[string]string{"NIGHTBOT_API_URL": "https://"}, "NIGHTBOT_API_URL"},
		{map[string]string{"NIGHTBOT_AUTH_URL": "https://x.example/?a=1"}, "NIGHTBOT_AUTH_URL"},
		{map[string]string{"NIGHTBOT_CLIENT_ID": "abc", "NIGHTBOT_CLIENT_SECRET": "def", "NIGHTBOT_API_URL": "http://127.0.0.1:9/"}, ""},
	}
	for _, c := range cases {
		cfg, err := loadConfig(configEnv(validVars(c.vars)))
		var ce *configError
		switch {
		case c.wantVar == "" && err != nil:
			t.Errorf("%v: %v", c.vars, err)
		case c.wantVar == "" && (cfg.Imports.nightbotAPI() == nil || cfg.Imports.NightbotAPIURL != "http://127.0.0.1:9"):
			t.Errorf("%v: %+v", c.vars, cfg.Imports)
		case c.wantVar != "" && (!errors.As(err, &ce) || ce.Var != c.wantVar):
			t.Errorf("%v: %v, want an error about %s", c.vars, err, c.wantVar)
		}
	}
	cfg, err := loadConfig(configEnv(validVars(nil)))
	if err != nil || cfg.Imports.nightbotAPI() != nil || cfg.Imports.streamElementsAPI().BaseURL != defaultStreamElementsAPIURL {
		t.Errorf("defaults: %+v %v", cfg.Imports, err)
	}
}
