package twitch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// helixMaxBody bounds a Helix answer.
const helixMaxBody = 1 << 20

// refreshBefore is how long before expiry a user token is refreshed.
const refreshBefore = 10 * time.Minute

// helix calls Twitch's API with the bot's, a broadcaster's or the app's
// token, refreshing a token before it expires and once on a 401.
type helix struct {
	b    *Bot
	http *http.Client

	appMu sync.Mutex // serializes the app token's fetch, apart from mu so it holds up nothing else
	app   platform.Token

	mu   sync.Mutex
	subs map[string]*sync.Mutex // serializes the refresh of one subject's token
}

func newHelix(b *Bot) *helix {
	return &helix{b: b, http: b.cfg.OAuth.Client(), subs: map[string]*sync.Mutex{}}
}

// HelixError is an error answer from the Twitch API.
type HelixError struct {
	Status  int
	Message string
}

func (e *HelixError) Error() string {
	return fmt.Sprintf("twitch api: HTTP %d: %s", e.Status, e.Message)
}

func (h *helix) subjectLock(subject string) *sync.Mutex {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[subject]
	if m == nil {
		m = &sync.Mutex{}
		h.subs[subject] = m
	}
	return m
}

// userToken returns subject's stored token, refreshed first when it expires soon.
func (h *helix) userToken(ctx context.Context, subject string) (platform.Token, error) {
	l := h.subjectLock(subject)
	l.Lock()
	defer l.Unlock()
	tok, err := h.b.cfg.Tokens.Get(ctx, Platform, subject)
	if err != nil {
		return platform.Token{}, err
	}
	if tok.NeedsReconnect != "" {
		return platform.Token{}, errNeedsReconnect(subject)
	}
	if tok.Expiring(time.Now(), refreshBefore) && tok.Refresh != "" {
		fresh, err := h.refreshLocked(ctx, subject, tok)
		if err != nil {
			if tok.Expiring(time.Now(), 0) {
				return platform.Token{}, err
			}
			h.b.log.WarnContext(ctx, "cannot refresh a twitch token yet: using it until it expires", "subject", subject, "err", err)
			return tok, nil
		}
		return fresh, nil
	}
	return tok, nil
}

// refreshUser refreshes subject's token after Twitch refused access, unless
// another caller (or instance) already replaced it.
func (h *helix) refreshUser(ctx context.Context, subject, stale string) (platform.Token, error) {
	l := h.subjectLock(subject)
	l.Lock()
	defer l.Unlock()
	tok, err := h.b.cfg.Tokens.Get(ctx, Platform, subject)
	if err != nil {
		return platform.Token{}, err
	}
	if tok.NeedsReconnect != "" {
		return platform.Token{}, errNeedsReconnect(subject)
	}
	if tok.Access != stale && !tok.Expiring(time.Now(), time.Minute) {
		return tok, nil
	}
	return h.refreshLocked(ctx, subject, tok)
}

func (h *helix) refreshLocked(ctx context.Context, subject string, old platform.Token) (platform.Token, error) {
	fresh, err := h.b.cfg.OAuth.Refresh(ctx, old.Refresh)
	if problem.Is(err, problem.Unauthorized) {
		// Revoked, or the password changed: only its owner can fix it.
		h.b.needsReconnect(ctx, subject, old, "Twitch refused the token and its refresh (the account revoked Waddle's access or changed its password).")
	}
	if err != nil {
		return platform.Token{}, fmt.Errorf("refresh the twitch token of %q: %w", subject, err)
	}
	if fresh.Refresh == "" {
		fresh.Refresh = old.Refresh
	}
	if fresh.AccountID == "" {
		fresh.AccountID, fresh.AccountLogin = old.AccountID, old.AccountLogin
	}
	if err := h.b.cfg.Tokens.Save(ctx, Platform, subject, fresh); err != nil {
		return platform.Token{}, fmt.Errorf("store the refreshed twitch token of %q: %w", subject, err)
	}
	h.b.log.InfoContext(ctx, "refreshed a twitch token", "subject", subject)
	return fresh, nil
}

// appToken returns the app access token, fetched again when it expires soon.
func (h *helix) appToken(ctx context.Context, stale string) (string, error) {
	h.appMu.Lock()
	defer h.appMu.Unlock()
	if h.app.Access != "" && h.app.Access != stale && !h.app.Expiring(time.Now(), time.Minute) {
		return h.app.Access, nil
	}
	tok, err := h.b.cfg.OAuth.AppToken(ctx)
	if err != nil {
		return "", fmt.Errorf("twitch app token: %w", err)
	}
	h.app = tok
	return tok.Access, nil
}

// call sends one Helix request with subject's token ("" for the app token)
// and decodes a 2xx answer into out. A 401 refreshes the token and tries
// once more; a 429 is a *platform.RetryAfter until Ratelimit-Reset.
func (h *helix) call(ctx context.Context, method, path string, q url.Values, body any, subject string, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	token, err := h.token(ctx, subject, "")
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		status, hdr, data, err := h.send(ctx, method, path, q, payload, token)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusUnauthorized && attempt == 0 && staleToken(data):
			if token, err = h.token(ctx, subject, token); err != nil {
				return err
			}
			continue
		case status == http.StatusTooManyRequests:
			return &platform.RetryAfter{Wait: resetWait(hdr.Get("Ratelimit-Reset"), time.Now())}
		case status < 200 || status > 299:
			return &HelixError{Status: status, Message: helixMessage(status, data)}
		}
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("decode %s %s: %w", method, path, err)
			}
		}
		return nil
	}
}

// token returns subject's access token; with stale set, a newer one than stale.
func (h *helix) token(ctx context.Context, subject, stale string) (string, error) {
	if subject == "" {
		return h.appToken(ctx, stale)
	}
	var tok platform.Token
	var err error
	if stale == "" {
		tok, err = h.userToken(ctx, subject)
	} else {
		tok, err = h.refreshUser(ctx, subject, stale)
	}
	if err != nil {
		return "", err
	}
	return tok.Access, nil
}

func (h *helix) send(ctx context.Context, method, path string, q url.Values, payload []byte, token string) (int, http.Header, []byte, error) {
	u := h.b.api + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Client-Id", h.b.cfg.OAuth.ClientID)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, helixMaxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(data) > helixMaxBody {
		return 0, nil, nil, fmt.Errorf("%s %s: the answer is larger than %d bytes", method, path, helixMaxBody)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// resetWait reads Ratelimit-Reset (a Unix time in seconds) into a wait of
// 100 ms to a minute; a missing or bad header waits a second.
func resetWait(v string, now time.Time) time.Duration {
	sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return time.Second
	}
	return min(max(time.Unix(sec, 0).Sub(now), 100*time.Millisecond), time.Minute)
}

// staleToken reports whether a 401's body says the token itself is not
// accepted (expired, revoked), which a refresh may cure, rather than that it
// lacks a scope or names another user than the call, which it cannot.
func staleToken(data []byte) bool {
	msg := strings.ToLower(helixMessage(http.StatusUnauthorized, data))
	return !strings.HasPrefix(msg, "missing scope") && !strings.Contains(msg, "must match") && !strings.Contains(msg, "must contain")
}

func helixMessage(status int, data []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return runes.Truncate(e.Message, 200, "")
	}
	return http.StatusText(status)
}

// broadcasterID is the channel's user id: from its chat messages, its
// owner's stored token, or the API.
func (b *Bot) broadcasterID(ctx context.Context, login string) (string, error) {
	b.mu.Lock()
	id := b.roomIDs[login]
	b.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if tok, err := b.cfg.Tokens.Get(ctx, Platform, login); err == nil && tok.AccountID != "" {
		id = tok.AccountID
	} else {
		var out struct {
			Data []struct {
				ID    string `json:"id"`
				Login string `json:"login"`
			} `json:"data"`
		}
		if err := b.helix.call(ctx, http.MethodGet, "/users", url.Values{"login": {login}}, nil, "", &out); err != nil {
			return "", fmt.Errorf("look up twitch user %q: %w", login, err)
		}
		if len(out.Data) == 0 || out.Data[0].ID == "" {
			return "", problem.New(problem.NotFound, "There is no Twitch channel %q.", login)
		}
		id = out.Data[0].ID
	}
	b.mu.Lock()
	b.roomIDs[login] = id
	b.mu.Unlock()
	return id, nil
}

// moderator picks who moderates in channel: the bot where it is a
// moderator, else the broadcaster's own token. Over EventSub, where no
// USERSTATE says it, the bot is taken for a moderator until its own messages'
// badges or Twitch's 403 say otherwise. It returns the token subject and
// the moderator's user id.
func (b *Bot) moderator(ctx context.Context, channel, via string) (subject, moderatorID string, err error) {
	b.mu.Lock()
	mod, no, anon, botID := b.modIn[channel], b.modNo[channel], b.anonymous, b.botID
	b.mu.Unlock()
	if via == TransportEventSub && !no {
		if tok, err := b.helix.userToken(ctx, platform.BotSubject); err == nil && tok.AccountID != "" {
			return platform.BotSubject, tok.AccountID, nil
		}
	}
	if mod && !anon && botID != "" {
		return platform.BotSubject, botID, nil
	}
	return b.casterModerator(ctx, channel)
}

// casterModerator is the broadcaster moderating their own channel.
func (b *Bot) casterModerator(ctx context.Context, channel string) (subject, moderatorID string, err error) {
	tok, err := b.cfg.Tokens.Get(ctx, Platform, channel)
	if err != nil {
		return "", "", fmt.Errorf("the bot is not a moderator in %s and its owner's token is missing: %w", channel, err)
	}
	if tok.AccountID == "" {
		return "", "", fmt.Errorf("the stored token of %s names no account", channel)
	}
	return channel, tok.AccountID, nil
}

// moderate queues a Helix delete, timeout or ban for ev, a chat message
// read over via. Both transports moderate through Helix.
func (b *Bot) moderate(ctx context.Context, ev router.Event, m router.Moderation, via string) {
	channel, messageID := ev.Channel, strings.TrimPrefix(ev.ID, "twitch:")
	err := b.queue.Send("helix:"+channel, platform.High, func(ctx context.Context) error {
		subject, modID, err := b.moderator(ctx, channel, via)
		if err != nil {
			return err
		}
		casterID, err := b.broadcasterID(ctx, channel)
		if err != nil {
			return err
		}
		call := func(subject, modID string) error {
			q := url.Values{"broadcaster_id": {casterID}, "moderator_id": {modID}}
			switch m.Action {
			case router.ActionDelete:
				q.Set("message_id", messageID)
				return b.helix.call(ctx, http.MethodDelete, "/moderation/chat", q, nil, subject, nil)
			default:
				ban := map[string]any{"user_id": ev.User.ID, "reason": runes.Truncate(m.Reason, 500, "")}
				if m.Action == router.ActionTimeout {
					ban["duration"] = min(max(m.Seconds, 1), 1209600)
				}
				return b.helix.call(ctx, http.MethodPost, "/moderation/bans", q, map[string]any{"data": ban}, subject, nil)
			}
		}
		err = call(subject, modID)
		var he *HelixError
		if subject == platform.BotSubject && errors.As(err, &he) && he.Status == http.StatusForbidden {
			// Not (or no longer) a moderator there: the broadcaster moderates.
			b.mu.Lock()
			if b.holdSet[channel] {
				b.modIn[channel], b.modNo[channel] = false, true
			}
			b.mu.Unlock()
			if subject, modID, err = b.casterModerator(ctx, channel); err == nil {
				err = call(subject, modID)
			}
		}
		if err != nil {
			return fmt.Errorf("%s in %s: %w", m.Action, channel, err)
		}
		return nil
	})
	if err != nil {
		b.log.WarnContext(ctx, "moderation not queued", "channel", channel, "err", err)
	}
}

// WhisperRecipientsPerDay is how many different people Twitch lets one
// account whisper a day.
const WhisperRecipientsPerDay = 40

// whisper queues a whisper from the bot account to ev's author. When the
// day's whisper budget is spent, the author is told so in chat, over via.
func (b *Bot) whisper(ctx context.Context, ev router.Event, text string, prio platform.Priority, via string) {
	err := b.whisperTo(ctx, ev.User.ID, text, prio, false)
	if p := problem.As(err); p != nil && p.Code == problem.TooMany {
		b.say(ctx, ev, "@"+ev.User.Shown()+" I cannot whisper you: "+p.Message, "", prio, via)
		return
	}
	if err != nil {
		b.log.WarnContext(ctx, "whisper not queued", "err", err)
	}
}

// whisperSpent words the error of a whisper past the day's budget.
func whisperSpent(limit int, until time.Time) string {
	return fmt.Sprintf("Twitch allows whispers to %d different people a day from this account; try again after %s UTC.", limit, until.UTC().Format("15:04"))
}

// whisperTo queues a whisper from the bot account to the user with id to;
// an empty text sends nothing. A new recipient past the day's budget is a
// problem.TooMany naming when to try again, and nothing is sent. With wait
// it returns Twitch's answer: a refusal is a problem that says what to do.
func (b *Bot) whisperTo(ctx context.Context, to, text string, prio platform.Priority, wait bool) error {
	text = clean(text, maxChat)
	if text == "" {
		return nil
	}
	if to == "" || len(to) > 100 {
		return problem.Invalidf("user", "A Twitch user id has 1 to 100 characters.")
	}
	b.mu.Lock()
	botID := b.botID
	b.mu.Unlock()
	if budget := b.cfg.Whispers; budget != nil && botID != "" {
		if err := budget.Spend(ctx, botID, to, whisperSpent); err != nil {
			return err
		}
	}
	limited := false
	send := func(ctx context.Context) error {
		b.mu.Lock()
		anon, botID := b.anonymous, b.botID
		b.mu.Unlock()
		if anon || botID == "" {
			b.noteAnonymous(ctx)
			return errNoBotAccount
		}
		q := url.Values{"from_user_id": {botID}, "to_user_id": {to}}
		err := b.helix.call(ctx, http.MethodPost, "/whispers", q, map[string]string{"message": text}, platform.BotSubject, nil)
		var he *HelixError
		var ra *platform.RetryAfter
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ra) && limited:
			// Twitch counts whispers that did not go through here (another
			// app on the account, a budget lost with a restart): a second
			// 429 is its daily limit, not worth retrying into.
			return problem.New(problem.TooMany, "Twitch refused the whisper twice as over its limits (3 a second, 100 a minute, %d different people a day from one account); it is not retried.", WhisperRecipientsPerDay)
		case errors.As(err, &ra):
			limited = true
			return err
		case errors.As(err, &he) && he.Status == http.StatusForbidden:
			return fmt.Errorf("whisper refused (the recipient blocks whispers from strangers, or the bot account lacks a verified phone number or the user:manage:whispers scope): %w", err)
		}
		return fmt.Errorf("whisper: %w", err)
	}
	if !wait {
		return b.queue.Send("whisper", prio, send)
	}
	return whisperAnswer(b.queue.SendWait(ctx, "whisper", prio, send))
}

// whisperAnswer words a whisper's refusal for the person who asked for it.
func whisperAnswer(err error) error {
	var he *HelixError
	var ra *platform.RetryAfter
	switch {
	case err == nil || problem.As(err) != nil:
		return err
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		return problem.New(problem.Forbidden, "Twitch refused the whisper: they may block whispers from strangers (Twitch settings, Security and Privacy). Ask them to allow whispers, then try again.")
	case errors.Is(err, platform.ErrQueueFull), errors.As(err, &ra):
		return problem.New(problem.TooMany, "Twitch whispers are busy right now: try again in a minute.")
	case errors.Is(err, errNoBotAccount):
		return problem.New(problem.Conflict, "the Twitch bot has no account to whisper from: connect it in the hub.")
	}
	return err
}
