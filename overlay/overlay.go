// Package overlay owns browser sources for OBS: each source has a secret URL
// and receives live updates (alerts, ticker text, HTML, media, leaderboards,
// chat) that are stored briefly for replay and fanned out to every connected
// page, across instances through Redis pub/sub.
package overlay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/microcosm-cc/bluemonday"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Source kinds.
const (
	Alerts      = "alerts"
	Ticker      = "ticker"
	Text        = "text"
	Media       = "media"
	Leaderboard = "leaderboard"
	Chat        = "chat"
)

// Kinds lists the source kinds.
var Kinds = []string{Alerts, Ticker, Text, Media, Leaderboard, Chat}

// AlertStyle is how one kind of alert looks.
type AlertStyle struct {
	Template string `json:"template"` // "{user} just followed!"; {user}, {amount}
	Seconds  int    `json:"seconds"`
	Image    string `json:"image,omitempty"`
	Sound    string `json:"sound,omitempty"`
}

// Preset is a finished look of an alert: its layout, panel and animation in
// and out, all in static/overlay.css under the class "preset-"+ID.
type Preset struct {
	ID, Name, About string
}

// Presets are the alert looks a source chooses from; the first is the default.
var Presets = []Preset{
	{ID: "pop", Name: "Pop", About: "A card in the middle that pops in and shrinks away."},
	{ID: "slide", Name: "Slide", About: "A banner low on the left that slides in and out."},
	{ID: "minimal", Name: "Minimal", About: "Outlined text at the top that fades in and out; no panel."},
}

// DefaultPreset is the look of sources that never chose one.
const DefaultPreset = "pop"

// DefaultVolume is the sound volume, in per cent, of sources that never chose one.
const DefaultVolume = 80

// PresetOf returns the preset id a source uses: its choice, or the default.
func (st Settings) PresetOf() string {
	if st.Preset == "" {
		return DefaultPreset
	}
	return st.Preset
}

// VolumeOf returns the sound volume a source uses, 1 to 100 per cent.
func (st Settings) VolumeOf() int {
	if st.Volume == 0 {
		return DefaultVolume
	}
	return st.Volume
}

// ValidPreset reports whether id names a preset.
func ValidPreset(id string) bool {
	for _, p := range Presets {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Settings of a source; each kind uses some of them.
type Settings struct {
	Alerts map[string]AlertStyle `json:"alerts,omitempty"` // by event: follow, subscribe, gift_subscription, cheer, raid, shoutout
	Preset string                `json:"preset,omitempty"` // alerts: a Presets id; empty is DefaultPreset
	Volume int                   `json:"volume,omitempty"` // alerts: sound volume 1–100 %; 0 is DefaultVolume
	Text   string                `json:"text,omitempty"`   // ticker text, or the text source's starting HTML
	Top    int                   `json:"top,omitempty"`    // leaderboard size
	Lines  int                   `json:"lines,omitempty"`  // chat lines kept
}

// DefaultAlerts are the alert templates a new alerts source starts with.
var DefaultAlerts = map[string]AlertStyle{
	"follow":            {Template: "{user} just followed!", Seconds: 5},
	"subscribe":         {Template: "{user} subscribed!", Seconds: 6},
	"gift_subscription": {Template: "{user} gifted {amount} subs!", Seconds: 6},
	"cheer":             {Template: "{user} cheered {amount} bits!", Seconds: 6},
	"raid":              {Template: "{user} is raiding with {amount} viewers!", Seconds: 8},
	"shoutout":          {Template: "Go check out {user}!", Seconds: 6},
}

// Source is one browser source.
type Source struct {
	ID          int64
	CommunityID int64
	Kind        string
	Name        string
	Settings    Settings
	UpdatedAt   time.Time
}

// Update is what a page receives. Type is the source kind's update:
// alert, ticker, text, media, leaderboard or chat.
type Update struct {
	ID      int64   `json:"id"` // the source's sequence number: 1, 2, 3, … in commit order
	Type    string  `json:"type"`
	Message string  `json:"message,omitempty"` // alert or ticker text, a chat line
	User    string  `json:"user,omitempty"`
	HTML    string  `json:"html,omitempty"` // text sources: sanitised
	Image   string  `json:"image,omitempty"`
	Sound   string  `json:"sound,omitempty"`
	Video   string  `json:"video,omitempty"`
	Seconds int     `json:"seconds,omitempty"`
	Preset  string  `json:"preset,omitempty"`  // alerts: the look, a Presets id
	Volume  int     `json:"volume,omitempty"`  // alerts: sound volume in per cent
	Entries []Entry `json:"entries,omitempty"` // leaderboard
	Test    bool    `json:"test,omitempty"`
}

// Entry is one leaderboard line.
type Entry struct {
	Name   string `json:"name"`
	Points int64  `json:"points"`
}

// Config holds what the service needs.
type Config struct {
	Pool        *pgxpool.Pool
	Redis       *redis.Client // nil: one process
	RedisPrefix string
	Logger      *slog.Logger
}

// Service manages sources and delivers updates.
type Service struct {
	pool   *pgxpool.Pool
	broker *broker
	logger *slog.Logger
	html   *bluemonday.Policy
	cache  sourceCache
}

// New returns a Service; call Run to receive updates published on other instances.
func New(cfg Config) *Service {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Globally()
	return &Service{pool: cfg.Pool, logger: cfg.Logger, html: p,
		broker: newBroker(cfg.Redis, cfg.RedisPrefix+"overlay", cfg.Logger)}
}

// Run fans updates published on any instance out to this instance's pages until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.broker.run(ctx) }

// ErrNotFound is a plain "no such source": an unknown and a revoked token are not told apart.
var ErrNotFound = problem.New(problem.NotFound, "Not found.")

func toSource(r db.OverlaySource) Source {
	var st Settings
	json.Unmarshal(r.Settings, &st)
	return Source{ID: r.ID, CommunityID: r.CommunityID, Kind: r.Kind, Name: r.Name, Settings: st, UpdatedAt: r.UpdatedAt}
}

// Create adds a source and returns it with its secret token (shown once,
// stored hashed), recording who did it in the audit log.
func (s *Service) Create(ctx context.Context, by audit.Actor, communityID int64, kind, name string) (Source, string, error) {
	name = strings.TrimSpace(name)
	if !validKind(kind) {
		return Source{}, "", problem.Invalidf("kind", "Choose a kind: %s.", strings.Join(Kinds, ", "))
	}
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return Source{}, "", problem.Invalidf("name", "Give the source a name of 1 to 100 characters.")
	}
	st := Settings{}
	switch kind {
	case Alerts:
		st.Alerts = DefaultAlerts
	case Leaderboard:
		st.Top = 10
	case Chat:
		st.Lines = 10
	}
	raw, _ := json.Marshal(st)
	token, hash := auth.NewToken()
	var row db.OverlaySource
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		row, err = db.New(tx).OverlaySourceCreate(ctx, db.OverlaySourceCreateParams{CommunityID: communityID, Kind: kind, Name: name, TokenHash: hash, Settings: raw})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.OverlayCreated, Target: sourceTarget(row),
			After: stateOf(row)})
	})
	if err != nil {
		return Source{}, "", fmt.Errorf("create overlay source: %w", err)
	}
	s.cache.forget(communityID)
	return toSource(row), token, nil
}

func validKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// List returns a community's sources.
func (s *Service) List(ctx context.Context, communityID int64) ([]Source, error) {
	rows, err := db.New(s.pool).OverlaySourceList(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list overlay sources: %w", err)
	}
	out := make([]Source, 0, len(rows))
	for _, r := range rows {
		out = append(out, toSource(r))
	}
	return out, nil
}

// Get returns one of a community's sources.
func (s *Service) Get(ctx context.Context, communityID, id int64) (Source, error) {
	r, err := db.New(s.pool).OverlaySourceGet(ctx, db.OverlaySourceGetParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Source{}, ErrNotFound
	}
	if err != nil {
		return Source{}, fmt.Errorf("load overlay source %d: %w", id, err)
	}
	return toSource(r), nil
}

// ByToken finds the source of a secret URL.
func (s *Service) ByToken(ctx context.Context, token string) (Source, error) {
	if len(token) != 43 {
		return Source{}, ErrNotFound
	}
	r, err := db.New(s.pool).OverlaySourceByToken(ctx, auth.HashToken(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return Source{}, ErrNotFound
	}
	if err != nil {
		return Source{}, fmt.Errorf("look up overlay token: %w", err)
	}
	return toSource(r), nil
}

// Regenerate gives a source a new secret URL, recording who did it in the
// audit log (never the URL); the old one stops working at once, and pages
// connected with it are disconnected.
func (s *Service) Regenerate(ctx context.Context, by audit.Actor, communityID, id int64) (string, error) {
	token, hash := auth.NewToken()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.OverlaySourceGetForUpdate(ctx, db.OverlaySourceGetForUpdateParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		if _, err := q.OverlaySourceSetToken(ctx, db.OverlaySourceSetTokenParams{CommunityID: communityID, ID: id, TokenHash: hash}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.OverlayURLRenewed, Target: sourceTarget(row),
			After: urlState{URL: audit.SecretChanged}})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("regenerate overlay token: %w", err)
	}
	s.broker.publish(ctx, id, message{Revoked: true})
	return token, nil
}

// Delete removes a source, recording who did it in the audit log; its pages
// are disconnected.
func (s *Service) Delete(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).OverlaySourceRemove(ctx, db.OverlaySourceRemoveParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.OverlayDeleted, Target: sourceTarget(row),
			Before: stateOf(row)})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete overlay source: %w", err)
	}
	s.cache.forget(communityID)
	s.broker.publish(ctx, id, message{Revoked: true})
	return nil
}

// UpdateSettings changes a source's name and settings, recording who did it
// and what changed in the audit log.
func (s *Service) UpdateSettings(ctx context.Context, by audit.Actor, communityID, id int64, name string, st Settings) error {
	return s.updateSettings(ctx, by, audit.OverlaySettings, communityID, id, func(Source) (string, Settings) { return name, st })
}

// SetContent sets a ticker's text or a text source's starting HTML (sanitised),
// for pages that open later, recording who did it in the audit log.
func (s *Service) SetContent(ctx context.Context, by audit.Actor, communityID, id int64, text string) error {
	return s.updateSettings(ctx, by, audit.OverlayContentSet, communityID, id, func(src Source) (string, Settings) {
		st := src.Settings
		st.Text = text
		return src.Name, st
	})
}

// updateSettings gives the source the name and settings change returns for
// it, under its row lock, and records action.
func (s *Service) updateSettings(ctx context.Context, by audit.Actor, action string, communityID, id int64, change func(Source) (string, Settings)) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.OverlaySourceGetForUpdate(ctx, db.OverlaySourceGetForUpdateParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		old := toSource(row)
		name, st := change(old)
		name = strings.TrimSpace(name)
		st, err = s.checkSettings(name, st)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(st)
		if _, err := q.OverlaySourceUpdateSettings(ctx, db.OverlaySourceUpdateSettingsParams{CommunityID: communityID, ID: id, Name: name, Settings: raw}); err != nil {
			return err
		}
		before, after := sourceState{Kind: old.Kind, Name: old.Name, Settings: old.Settings}, sourceState{Kind: old.Kind, Name: name, Settings: st}
		if action == audit.OverlayContentSet {
			before, after = sourceState{Settings: Settings{Text: old.Settings.Text}}, sourceState{Settings: Settings{Text: st.Text}}
		}
		if reflect.DeepEqual(before, after) {
			return nil // saved unchanged: nothing to record
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: action, Target: sourceTarget(row),
			Before: before, After: after})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update overlay source: %w", err)
	}
	s.cache.forget(communityID)
	return nil
}

// checkSettings validates a source's name and settings and sanitises its HTML.
func (s *Service) checkSettings(name string, st Settings) (Settings, error) {
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return st, problem.Invalidf("name", "Give the source a name of 1 to 100 characters.")
	}
	for ev, a := range st.Alerts {
		if utf8.RuneCountInString(a.Template) > 200 {
			return st, problem.Invalidf("alerts."+ev, "An alert message has at most 200 characters.")
		}
		if a.Seconds < 1 || a.Seconds > 60 {
			return st, problem.Invalidf("alerts."+ev, "An alert shows for 1 to 60 seconds.")
		}
		if err := CheckAlertURL("alerts."+ev, "image", a.Image); err != nil {
			return st, err
		}
		if err := CheckAlertURL("alerts."+ev, "sound", a.Sound); err != nil {
			return st, err
		}
	}
	if st.Preset != "" && !ValidPreset(st.Preset) {
		return st, problem.Invalidf("preset", "Choose a look: %s.", presetNames())
	}
	if st.Volume < 0 || st.Volume > 100 {
		return st, problem.Invalidf("volume", "The sound volume is 1 to 100 %%.")
	}
	if len(st.Text) > 10000 {
		return st, problem.Invalidf("text", "At most 10000 bytes of text.")
	}
	st.Text = s.html.Sanitize(st.Text)
	if st.Top < 0 || st.Top > 50 {
		return st, problem.Invalidf("top", "Show up to 50 entries.")
	}
	if st.Lines < 0 || st.Lines > 50 {
		return st, problem.Invalidf("lines", "Show up to 50 chat lines.")
	}
	return st, nil
}

// sourceState is a source as the audit log records it (never its URL).
type sourceState struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	Settings
}

func stateOf(r db.OverlaySource) sourceState {
	src := toSource(r)
	return sourceState{Kind: src.Kind, Name: src.Name, Settings: src.Settings}
}

// urlState stands for a source's secret URL in the audit log.
type urlState struct {
	URL string `json:"url"`
}

// sourceTarget names a source in the audit log: "alerts overlay Main alerts".
func sourceTarget(r db.OverlaySource) string {
	return r.Kind + " overlay " + r.Name
}

// maxAlertURL is the longest image or sound URL an alert keeps.
const maxAlertURL = 2000

// CheckAlertURL allows an empty URL or an absolute https URL of at most
// maxAlertURL bytes, without credentials or spaces: what an alert's image or
// sound may be; what names it in the message.
func CheckAlertURL(field, what, raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > maxAlertURL {
		return problem.Invalidf(field, "The %s URL is too long: at most %d characters.", what, maxAlertURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(raw, " \t\r\n\\") {
		return problem.Invalidf(field, "The %s must be an https:// address of a file on the web.", what)
	}
	return nil
}

func presetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// checkMediaURL allows empty or http(s) URLs only.
func checkMediaURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		return problem.Invalidf(field, "Media must be an http(s) URL.")
	}
	return nil
}

// Clean validates and sanitises an update from outside (the API, the hub, a
// module): HTML goes through an allow-list, media must be http(s), text is bounded.
func (s *Service) Clean(u Update) (Update, error) {
	switch u.Type {
	case "alert", "ticker", "text", "media", "leaderboard", "chat":
	default:
		return u, problem.Invalidf("type", "Unknown update type %q: want alert, ticker, text, media, leaderboard or chat.", u.Type)
	}
	if utf8.RuneCountInString(u.Message) > 500 || utf8.RuneCountInString(u.User) > 100 || len(u.HTML) > 10000 || len(u.Entries) > 50 {
		return u, problem.Invalidf("message", "The update is too long.")
	}
	for _, f := range []struct{ name, v string }{{"image", u.Image}, {"sound", u.Sound}, {"video", u.Video}} {
		if err := checkMediaURL(f.name, f.v); err != nil {
			return u, err
		}
	}
	if u.Preset != "" && !ValidPreset(u.Preset) {
		return u, problem.Invalidf("preset", "Unknown preset %q: want %s.", u.Preset, presetNames())
	}
	if u.Volume < 0 || u.Volume > 100 {
		return u, problem.Invalidf("volume", "The volume is 0 to 100.")
	}
	if u.Seconds < 0 || u.Seconds > 300 {
		return u, problem.Invalidf("seconds", "Show it for 0 to 300 seconds.")
	}
	u.HTML = s.html.Sanitize(u.HTML)
	return u, nil
}

// Publish stores an update for a source under the source's next number
// (returned as its ID) and delivers it to every page connected to it, on
// every instance.
func (s *Service) Publish(ctx context.Context, sourceID int64, u Update) (Update, error) {
	u.ID = 0
	raw, err := json.Marshal(u)
	if err != nil {
		return u, err
	}
	row, err := db.New(s.pool).OverlayUpdateInsert(ctx, db.OverlayUpdateInsertParams{SourceID: sourceID, Payload: raw})
	if errors.Is(err, pgx.ErrNoRows) || db.IsForeignKeyViolation(err) {
		return u, ErrNotFound // the source was deleted meanwhile
	}
	if err != nil {
		return u, fmt.Errorf("store overlay update: %w", err)
	}
	u.ID = row.Seq
	s.broker.publish(ctx, sourceID, message{Update: &u})
	return u, nil
}

// Since returns a source's updates numbered after last (a reconnecting
// page's Last-Event-ID), oldest first: at most 200, from the last hour.
func (s *Service) Since(ctx context.Context, sourceID, last int64) ([]Update, error) {
	rows, err := db.New(s.pool).OverlayUpdatesSince(ctx, db.OverlayUpdatesSinceParams{SourceID: sourceID, Seq: last})
	if err != nil {
		return nil, fmt.Errorf("replay overlay updates: %w", err)
	}
	out := make([]Update, 0, len(rows))
	for _, r := range rows {
		var u Update
		if err := json.Unmarshal(r.Payload, &u); err != nil {
			continue
		}
		u.ID = r.Seq
		out = append(out, u)
	}
	return out, nil
}

// Subscribe delivers a source's live updates as they arrive until cancel is
// called: from several instances they may arrive out of order, and a
// subscriber that falls more than a buffer behind loses the oldest it has
// not read. Pages use Follow, which puts that right. The channel closes when
// the source is revoked or deleted.
func (s *Service) Subscribe(sourceID int64) (<-chan Update, func()) {
	return s.broker.subscribe(sourceID)
}

// CommunityOf returns the community a source belongs to, so that a caller
// holding only the source id can check the user's role in it.
func (s *Service) CommunityOf(ctx context.Context, id int64) (int64, error) {
	cid, err := db.New(s.pool).OverlaySourceCommunity(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("load overlay source %d: %w", id, err)
	}
	return cid, nil
}

// Current is what a page shows before any update arrives: the current top N
// for a leaderboard source (ok is false for other kinds).
func (s *Service) Current(ctx context.Context, src Source) (Update, bool, error) {
	if src.Kind != Leaderboard {
		return Update{}, false, nil
	}
	top := src.Settings.Top
	if top <= 0 {
		top = 10
	}
	rows, err := db.New(s.pool).PointsLeaderboard(ctx, db.PointsLeaderboardParams{CommunityID: src.CommunityID, Limit: int32(top)})
	if err != nil {
		return Update{}, false, fmt.Errorf("leaderboard for overlay: %w", err)
	}
	u := Update{Type: "leaderboard", Entries: make([]Entry, 0, len(rows))}
	for _, r := range rows {
		u.Entries = append(u.Entries, Entry{Name: r.UserName, Points: r.Balance})
	}
	return u, true, nil
}
