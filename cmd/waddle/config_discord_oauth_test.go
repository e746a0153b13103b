package main

import (
	"errors"
	"strings"
	"testing"
)

func TestDiscordClientSecretConfig(t *testing.T) {
	t.Parallel()
	bot := map[string]string{"DISCORD_BOT_TOKEN": "tok", "DISCORD_APP_ID": "1234567890", "DISCORD_PUBLIC_KEY": strings.Repeat("ab", 32)}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range bot {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string // "": valid
		wantOn  bool
	}{
		{name: "unset: Discord links off", env: bot},
		{name: "set with the app", env: with(map[string]string{"DISCORD_CLIENT_SECRET": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"}), wantOn: true},
		{name: "set without the app", env: map[string]string{"DISCORD_CLIENT_SECRET": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"}, wantVar: "DISCORD_APP_ID"},
		{name: "too short", env: with(map[string]string{"DISCORD_CLIENT_SECRET": "short"}), wantVar: "DISCORD_CLIENT_SECRET"},
		{name: "with a space", env: with(map[string]string{"DISCORD_CLIENT_SECRET": "a1B2c3D4e5F6 g7H8i9J0k1L2m3N4o5P6"}), wantVar: "DISCORD_CLIENT_SECRET"},
		{name: "too long", env: with(map[string]string{"DISCORD_CLIENT_SECRET": strings.Repeat("x", 129)}), wantVar: "DISCORD_CLIENT_SECRET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(configEnv(validVars(tc.env)))
			if tc.wantVar == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Discord.oauthOn() != tc.wantOn {
					t.Errorf("Discord OAuth on = %v, want %v", c.Discord.oauthOn(), tc.wantOn)
				}
				return
			}
			var ce *configError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar {
				t.Fatalf("err = %v, want a configError naming %s", err, tc.wantVar)
			}
			if strings.Contains(err.Error(), tc.env["DISCORD_CLIENT_SECRET"]) && tc.env["DISCORD_CLIENT_SECRET"] != "" {
				t.Errorf("the error %q shows the secret", err)
			}
		})
	}
}
