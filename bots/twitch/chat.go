package twitch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	irc "github.com/gempir/go-twitch-irc/v4"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// workerQueue bounds the chat messages of one channel waiting to be handled.
const workerQueue = 256

// worker handles one held channel's chat messages in order.
type worker struct {
	q    chan router.Event
	stop chan struct{} // closed when the channel is lost
	done chan struct{} // closed when the worker has returned
}

// chat runs IRC sessions until ctx ends: a session logs in with the bot
// account's token (or anonymously, read-only, without one), and a new session
// starts when the token is refused or replaced. Chat messages are handled
// under events, which ends first at shutdown.
func (b *Bot) chat(ctx, events context.Context, rl *relay) {
	attempt := 0
	for ctx.Err() == nil {
		c, access := b.newClient(ctx, events, rl)
		welcomed := false
		c.OnConnect(func() {
			welcomed = true
			b.connected(c)
		})
		err := connect(c)
		if ctx.Err() != nil {
			return
		}
		if welcomed {
			attempt = 0
		}
		switch {
		case errors.Is(err, irc.ErrClientDisconnected):
			b.log.InfoContext(ctx, "chat session restarted with the current bot account")
			continue
		case errors.Is(err, irc.ErrLoginAuthenticationFailed):
			b.loginRefused(ctx, access)
			if attempt == 0 { // with the refreshed token, or anonymously, at once
				attempt++
				continue
			}
		}
		b.markDown()
		wait := platform.Backoff(attempt)
		attempt++
		b.log.WarnContext(ctx, "chat connection ended: reconnecting", "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// connect runs the library's Connect, turning a panic into an error.
func connect(c *irc.Client) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("irc client panicked: %v", p)
		}
	}()
	return c.Connect()
}

// newClient builds the next session's client, with the bot account's token
// when there is a usable one. access is the token it logs in with.
func (b *Bot) newClient(ctx, events context.Context, rl *relay) (c *irc.Client, access string) {
	tok, err := b.helix.userToken(ctx, platform.BotSubject)
	b.mu.Lock()
	refused := b.refused
	b.mu.Unlock()
	anon := err != nil || tok.Access == "" || tok.Access == refused || tok.AccountLogin == ""
	b.mu.Lock()
	b.botRefused = isNeedsReconnect(err)
	b.mu.Unlock()
	if err != nil && !errors.Is(err, platform.ErrNoToken) {
		b.log.WarnContext(ctx, "cannot load the bot account's token: reading chat anonymously", "err", err)
	}
	login := strings.ToLower(tok.AccountLogin)
	if anon {
		c = irc.NewAnonymousClient()
		login = ""
	} else {
		if b.cfg.BotLogin != "" && !strings.EqualFold(b.cfg.BotLogin, login) {
			b.log.WarnContext(ctx, "the connected bot account is not TWITCH_BOT_LOGIN: chatting as the connected account", "TWITCH_BOT_LOGIN", b.cfg.BotLogin, "account", login)
		}
		c = irc.NewClient(login, "oauth:"+tok.Access)
		access = tok.Access
	}
	c.IrcAddress = rl.addr()
	c.TLS = false
	c.SetupCmd = rl.hello // the relay serves only connections that start with it
	c.Capabilities = []string{irc.TagsCapability, irc.CommandsCapability}
	c.OnPrivateMessage(func(m irc.PrivateMessage) { b.onMessage(events, m) })
	c.OnUserStateMessage(b.onUserState)
	c.OnNoticeMessage(func(m irc.NoticeMessage) {
		b.log.InfoContext(ctx, "twitch notice", "channel", m.Channel, "msg_id", m.MsgID, "text", m.Message)
	})
	c.OnReconnectMessage(func(irc.ReconnectMessage) {
		b.log.InfoContext(ctx, "twitch asked the bot to reconnect")
	})

	b.mu.Lock()
	b.client, b.anonymous, b.up = c, anon, false
	if !anon {
		b.login, b.botID = login, tok.AccountID
	}
	b.joined = map[string]bool{}
	b.mu.Unlock()
	if anon {
		b.log.WarnContext(ctx, "no usable bot account token: reading chat anonymously; replies cannot be sent until the bot account is connected on the health page")
	}
	return c, access
}

// loginRefused handles Twitch refusing the bot's token at login: refresh it,
// or, when that fails too, read anonymously until an admin connects the
// account again.
func (b *Bot) loginRefused(ctx context.Context, access string) {
	b.markDown()
	if access == "" {
		return
	}
	b.log.WarnContext(ctx, "twitch refused the bot account's token at login: refreshing it")
	if _, err := b.helix.refreshUser(ctx, platform.BotSubject, access); err != nil {
		b.log.ErrorContext(ctx, "cannot refresh the bot account's token: reading chat anonymously", "err", err)
		b.mu.Lock()
		b.refused = access
		b.mu.Unlock()
	}
}

// connected runs on the session's welcome, on the library's reader goroutine
// after it rejoined its channels: join the held channels it lacks, leave the
// ones lost meanwhile.
func (b *Bot) connected(c *irc.Client) {
	b.mu.Lock()
	if b.client != c {
		b.mu.Unlock()
		return
	}
	b.up, b.everUp, b.dialErr = true, true, ""
	b.reconcileLocked()
	b.mu.Unlock()
	b.log.Info("connected to twitch chat")
	b.setStatus()
}

// reconcileLocked joins and departs so that the session's channels are the
// held ones. b.mu is held and the session is up.
func (b *Bot) reconcileLocked() {
	var join []string
	for _, ch := range b.held {
		if !b.joined[ch] && !b.viaEventSub[ch] {
			join = append(join, ch)
			b.joined[ch] = true
		}
	}
	if len(join) > 0 {
		b.client.Join(join...)
	}
	for ch := range b.joined {
		if !b.holdSet[ch] || b.viaEventSub[ch] {
			b.client.Depart(ch)
			delete(b.joined, ch)
			if !b.holdSet[ch] {
				delete(b.modIn, ch)
			}
		}
	}
}

// relayAccepted: a new connection starts; it is not up until its welcome.
func (b *Bot) relayAccepted(seq int) {
	b.mu.Lock()
	b.sessionSeq = seq
	b.up = false
	b.mu.Unlock()
}

// relayDialFailed records why Twitch chat could not be reached, for the
// health page; relayLost, called next, shows it.
func (b *Bot) relayDialFailed(addr string, err error, wait time.Duration) {
	b.mu.Lock()
	b.dialErr = fmt.Sprintf("Twitch chat: cannot connect to %s (%s) — retrying, next try in %s; check the network and that the address is reachable.", addr, dialReason(err), wait.Round(time.Second))
	b.mu.Unlock()
}

// dialReason names why a dial failed in a few words.
func dialReason(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "the name does not resolve"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer"
	}
	return runes.Truncate(err.Error(), 120, "…")
}

// relayLost: the connection of session seq ended.
func (b *Bot) relayLost(seq int) {
	b.mu.Lock()
	current := seq == b.sessionSeq && !b.stopping
	if current {
		b.up = false
	}
	b.mu.Unlock()
	if current {
		b.log.Warn("lost the connection to twitch chat: reconnecting")
		b.setStatus()
	}
}

func (b *Bot) markDown() {
	b.mu.Lock()
	b.up = false
	b.mu.Unlock()
	b.setStatus()
}

// onUserState records whether the bot moderates a channel, which decides its
// chat budget and which token moderates there.
func (b *Bot) onUserState(m irc.UserStateMessage) {
	ch := strings.ToLower(m.Channel)
	_, mod := m.User.Badges["moderator"]
	_, caster := m.User.Badges["broadcaster"]
	mod = mod || caster || m.Tags["mod"] == "1"
	b.mu.Lock()
	if b.holdSet[ch] {
		b.modIn[ch] = mod
	}
	b.mu.Unlock()
}

// onMessage turns a PRIVMSG into a router event and queues it on its
// channel's worker, which handles the channel's messages in order.
func (b *Bot) onMessage(ctx context.Context, m irc.PrivateMessage) {
	ch := strings.ToLower(m.Channel)
	b.mu.Lock()
	held, own := b.holdSet[ch], m.User.Name != "" && (strings.EqualFold(m.User.Name, b.login) || (b.botID != "" && m.User.ID == b.botID))
	if held && m.RoomID != "" && len(m.RoomID) <= 40 {
		b.roomIDs[ch] = m.RoomID
	}
	viaEventSub := b.viaEventSub[ch] // read over EventSub now: IRC lines before the PART would come twice
	b.mu.Unlock()
	if !held || own || viaEventSub {
		return
	}
	ev, ok := toEvent(m)
	if !ok {
		b.log.DebugContext(ctx, "ignored a chat message without id or user tags", "channel", ch)
		return
	}
	b.enqueue(ctx, ch, ev)
}

func toEvent(m irc.PrivateMessage) (router.Event, bool) {
	if m.ID == "" || m.User.ID == "" {
		return router.Event{}, false
	}
	sets := make([]string, 0, len(m.User.Badges)+1)
	for badge := range m.User.Badges {
		sets = append(sets, badge)
	}
	if m.User.IsMod {
		sets = append(sets, "moderator")
	}
	roles := badgeRoles(sets)
	ch := strings.ToLower(m.Channel)
	ev := router.Event{
		ID: "twitch:" + m.ID, Platform: Platform, Kind: router.ChatMessage, Server: ch, Channel: ch,
		User: router.User{ID: m.User.ID, Name: strings.ToLower(m.User.Name), DisplayName: m.User.DisplayName, Roles: roles},
		Text: m.Message, Time: m.Time,
	}
	if m.Bits > 0 {
		ev.Data = map[string]any{"bits": m.Bits}
	}
	if ev.Time.IsZero() || ev.Time.Unix() <= 0 {
		ev.Time = time.Now()
	}
	return ev, true
}

// enqueue hands ev to its channel's worker, starting the worker on the
// channel's first message; a full queue drops the message with a log line.
// Messages of a channel no longer held are dropped.
func (b *Bot) enqueue(ctx context.Context, ch string, ev router.Event) {
	b.mu.Lock()
	if !b.holdSet[ch] || b.stopping {
		b.mu.Unlock()
		return
	}
	w := b.workers[ch]
	if w == nil {
		w = &worker{q: make(chan router.Event, workerQueue), stop: make(chan struct{}), done: make(chan struct{})}
		b.workers[ch] = w
		b.workersWG.Add(1)
		go func() {
			defer b.workersWG.Done()
			defer close(w.done)
			b.work(ctx, w)
		}()
	}
	b.mu.Unlock()
	select {
	case w.q <- ev:
	default:
		b.log.WarnContext(ctx, "chat messages arrive faster than they are handled: message skipped", "channel", ch)
	}
}

// work handles one channel's messages in order until ctx ends or the
// channel is lost. A message already taken is finished even then.
func (b *Bot) work(ctx context.Context, w *worker) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case ev := <-w.q:
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			default:
			}
			platform.Guard(context.WithoutCancel(ctx), b.log, platform.EventTimeout, func(ctx context.Context) { b.handleEvent(ctx, ev) })
		}
	}
}

// handle runs one event through the router and carries out its responses.
func (b *Bot) handle(ctx context.Context, ev router.Event) {
	if err := ev.Validate(); err != nil {
		b.log.DebugContext(ctx, "ignored an invalid chat message", "event", ev.ID, "err", err)
		return
	}
	res, err := b.cfg.Router.Handle(ctx, ev, router.Options{})
	if errors.Is(err, router.ErrNotLinked) {
		return
	}
	if err != nil {
		b.log.ErrorContext(ctx, "handle chat message", "event", ev.ID, "channel", ev.Channel, "err", err)
		return
	}
	prio := platform.Low
	if strings.HasPrefix(res.HandledBy, "command") {
		prio = platform.High
	}
	for _, r := range res.Responses {
		b.respond(ctx, ev, r, prio, TransportIRC)
	}
}

// respond carries out one router response to ev, a chat message read over
// via (TransportIRC or TransportEventSub): replies go back the same way.
func (b *Bot) respond(ctx context.Context, ev router.Event, r router.Response, prio platform.Priority, via string) {
	text := responseText(r)
	if m := r.Moderation; m != nil {
		switch m.Action {
		case router.ActionWarn:
			warning := text
			if warning == "" {
				warning = m.Reason
			}
			if warning == "" {
				warning = "please follow the chat rules."
			}
			b.say(ctx, ev, "@"+ev.User.Shown()+" "+warning, "", platform.High, via)
			return
		case router.ActionDelete, router.ActionTimeout, router.ActionBan:
			b.moderate(ctx, ev, *m, via)
		default:
			b.log.WarnContext(ctx, "unknown moderation action", "action", m.Action)
		}
	}
	if text == "" {
		return
	}
	if r.Private {
		b.whisper(ctx, ev, text, prio, via)
		return
	}
	parent := strings.TrimPrefix(ev.ID, "twitch:")
	if r.Moderation != nil {
		parent = "" // the message is gone: no thread to reply in
	}
	b.say(ctx, ev, text, parent, prio, via)
}

// responseText degrades a response to one chat line.
func responseText(r router.Response) string {
	parts := []string{}
	if r.Reply != "" {
		parts = append(parts, r.Reply)
	}
	if e := r.Embed; e != nil {
		for _, s := range []string{e.Title, e.Description, e.URL} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		for _, f := range e.Fields {
			parts = append(parts, f.Name+": "+f.Value)
		}
	}
	if len(r.Buttons) > 0 {
		opts := make([]string, 0, len(r.Buttons))
		for _, btn := range r.Buttons {
			opts = append(opts, fmt.Sprintf("%s: %s", btn.Label, btn.ID))
		}
		parts = append(parts, "("+strings.Join(opts, " | ")+")")
	}
	return strings.Join(parts, " — ")
}

// maxChat is Twitch's limit on one chat message, in characters.
const maxChat = 500

// clean makes text one safe IRC line of at most n characters.
func clean(text string, n int) string {
	text = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "?"))
	text = strings.TrimSpace(text)
	return runes.Truncate(text, n, "…")
}

// errNoBotAccount fails a chat send when the bot reads anonymously.
var errNoBotAccount = problem.New(problem.Conflict, "The bot account is not connected: connect it on the health page so the bot can reply.")

// say queues a chat message in ev's channel over via, threaded under parent
// when set.
func (b *Bot) say(ctx context.Context, ev router.Event, text, parent string, prio platform.Priority, via string) {
	if err := b.sayIn(ev.Channel, text, parent, prio, via); err != nil {
		b.log.WarnContext(ctx, "reply not queued", "channel", ev.Channel, "err", err)
	}
}

// sayIn queues a chat message in channel ch (a login) over via (IRC, or
// Helix for TransportEventSub), threaded under parent when set; an empty
// text sends nothing. Both transports spend the same budget: Twitch applies
// its IRC chat limits to Helix chat messages too.
func (b *Bot) sayIn(ch, text, parent string, prio platform.Priority, via string) error {
	text = clean(text, maxChat)
	if text == "" {
		return nil
	}
	if !validMsgID(parent) {
		parent = ""
	}
	if via == TransportEventSub {
		return b.queue.Send("#"+ch, prio, func(ctx context.Context) error {
			return b.sendHelixChat(ctx, ch, text, parent)
		})
	}
	return b.queue.Send("#"+ch, prio, func(ctx context.Context) error {
		b.mu.Lock()
		c, up, anon := b.client, b.up, b.anonymous
		b.mu.Unlock()
		if anon {
			b.noteAnonymous(ctx)
			return errNoBotAccount
		}
		if c == nil || !up {
			return &platform.RetryAfter{Wait: 2 * time.Second}
		}
		if parent != "" {
			c.Reply(ch, parent, text)
		} else {
			c.Say(ch, text)
		}
		return nil
	})
}

func (b *Bot) noteAnonymous(ctx context.Context) {
	b.mu.Lock()
	first := !b.warned
	b.warned = true
	b.mu.Unlock()
	if first {
		b.log.WarnContext(ctx, "a reply could not be sent: the bot reads chat anonymously; connect the bot account on the health page (further failures are only counted)")
	}
}

// validMsgID accepts Twitch message ids (UUIDs) as a reply tag value.
func validMsgID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
