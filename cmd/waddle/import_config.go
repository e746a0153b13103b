package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/waddle/waddle/importer"
)

// The importers' endpoints. The defaults are the real services; tests and
// mirrors set their own.
const (
	defaultNightbotAPIURL       = "https://api.nightbot.tv"
	defaultNightbotAuthURL      = "https://api.nightbot.tv/oauth2"
	defaultStreamElementsAPIURL = "https://api.streamelements.com/kappa/v2"
)

// importConfig is how the importers reach Nightbot and StreamElements.
type importConfig struct {
	NightbotClientID     string // NIGHTBOT_CLIENT_ID: a Nightbot app, for "Connect Nightbot"
	NightbotClientSecret string // NIGHTBOT_CLIENT_SECRET
	NightbotAPIURL       string // NIGHTBOT_API_URL
	NightbotAuthURL      string // NIGHTBOT_AUTH_URL
	StreamElementsAPIURL string // STREAMELEMENTS_API_URL
}

func loadImportConfig(get func(k, def string) string) importConfig {
	return importConfig{NightbotClientID: get("NIGHTBOT_CLIENT_ID", ""), NightbotClientSecret: get("NIGHTBOT_CLIENT_SECRET", ""),
		NightbotAPIURL:       strings.TrimRight(get("NIGHTBOT_API_URL", defaultNightbotAPIURL), "/"),
		NightbotAuthURL:      strings.TrimRight(get("NIGHTBOT_AUTH_URL", defaultNightbotAuthURL), "/"),
		StreamElementsAPIURL: strings.TrimRight(get("STREAMELEMENTS_API_URL", defaultStreamElementsAPIURL), "/")}
}

func (c importConfig) validate() error {
	if (c.NightbotClientID == "") != (c.NightbotClientSecret == "") {
		v := "NIGHTBOT_CLIENT_SECRET"
		if c.NightbotClientID == "" {
			v = "NIGHTBOT_CLIENT_ID"
		}
		return &configError{v, "is not set, but the other half of the Nightbot app is: set NIGHTBOT_CLIENT_ID and NIGHTBOT_CLIENT_SECRET together, or neither"}
	}
	for _, v := range []struct{ name, val string }{{"NIGHTBOT_API_URL", c.NightbotAPIURL}, {"NIGHTBOT_AUTH_URL", c.NightbotAuthURL},
		{"STREAMELEMENTS_API_URL", c.StreamElementsAPIURL}} {
		u, err := url.Parse(v.val)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return &configError{v.name, fmt.Sprintf("is %q: want an http(s) base URL such as https://api.example.com", v.val)}
		}
	}
	return nil
}

// importHTTP is the client the importers call the sources with.
func importHTTP() *http.Client { return &http.Client{Timeout: 60 * time.Second} }

// nightbotAPI is the Nightbot client for "Connect Nightbot"; nil without an app.
func (c importConfig) nightbotAPI() *importer.NightbotAPI {
	if c.NightbotClientID == "" {
		return nil
	}
	return &importer.NightbotAPI{BaseURL: c.NightbotAPIURL, AuthURL: c.NightbotAuthURL, ClientID: c.NightbotClientID,
		ClientSecret: c.NightbotClientSecret, HTTP: importHTTP()}
}

func (c importConfig) streamElementsAPI() *importer.StreamElementsAPI {
	return &importer.StreamElementsAPI{BaseURL: c.StreamElementsAPIURL, HTTP: importHTTP()}
}
