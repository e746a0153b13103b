package main

import (
	"strings"

	"github.com/waddle/waddle/bots/discord"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/identity"
)

// validateClientSecret checks DISCORD_CLIENT_SECRET, which hub users' own
// Discord links (OAuth2) need together with DISCORD_APP_ID, the client id.
func (d discordConfig) validateClientSecret() error {
	s := d.ClientSecret
	switch {
	case s == "":
		return nil
	case d.AppID == "":
		return &configError{"DISCORD_APP_ID", "is not set, but DISCORD_CLIENT_SECRET is: OAuth2 needs the application id as its client id (developer portal, General Information)"}
	case len(s) < 16 || len(s) > 128 || strings.ContainsAny(s, " \t\r\n"):
		return &configError{"DISCORD_CLIENT_SECRET", "is not a Discord client secret (16 to 128 characters, no spaces): copy it from the developer portal's OAuth2 page"}
	}
	return nil
}

// oauthOn says whether hub users can link their Discord accounts.
func (d discordConfig) oauthOn() bool { return d.ClientSecret != "" && d.AppID != "" }

// accountOAuth is each platform's sign-in with which hub users link their
// own accounts: Twitch's and Slack's apps when they are configured, and
// Discord's OAuth2 when DISCORD_CLIENT_SECRET is set.
func accountOAuth(cfg config, b *botSet) map[string]handlers.AccountOAuth {
	m := map[string]handlers.AccountOAuth{}
	if b.twitchOAuth != nil {
		m[identity.Twitch] = b.twitchOAuth
	}
	if b.slackOAuth != nil {
		m[identity.Slack] = b.slackOAuth
	}
	if cfg.Discord.oauthOn() {
		m[identity.Discord] = &discord.OAuth{ClientID: cfg.Discord.AppID, ClientSecret: cfg.Discord.ClientSecret, APIURL: cfg.Discord.APIURL}
	}
	return m
}
