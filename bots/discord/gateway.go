package discord

// Discord's gateway rules that discordgo v0.29.0 does not keep, kept here:
//
//   - It answers Invalid Session (op 9) by sending IDENTIFY again at once on
//     the same socket, whatever d says: Discord wants a wait of 1–5 seconds
//     and a new connection when d is false, and a RESUME when it is true.
//   - It never reads resume_gateway_url from READY: it resumes at the URL it
//     first connected to.
//   - Left to itself it reconnects after any close, 4014 and 4004 included,
//     identifying without regard to session_start_limit or max_concurrency.
//
// So every shard session runs with ShouldReconnectOnError off, and
// filterConn tells a gwWatch what discordgo does not look at (op 9 and its
// d, the gateway's close code, READY's session id and resume URL), and
// swallows op 9 so the library never answers it. One runner per shard
// (runShard) then decides: resume (the same session, dialled at
// resume_gateway_url), identify anew (a new session, once the identify gate
// lets it), or wait.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/platform"
)

// privileged are the intents Discord grants only when they are turned on in
// the developer portal (and, for a large app, approved by Discord).
const privileged = discordgo.IntentMessageContent | discordgo.IntentsGuildMembers | discordgo.IntentsGuildPresences

// limitedDetail is what the health page says while the bot runs without the
// privileged intents.
const limitedDetail = "Discord refused the privileged intents (close 4014), so the bot connected without them: " +
	"slash commands, buttons and events keep working; ! commands in messages and member features (joins, member points) are off. " +
	"To turn them on, enable Bot → Privileged Gateway Intents → Message Content Intent and Server Members Intent " +
	"for this application in the Discord developer portal (past Discord's size threshold the app also needs Discord's approval for them), then restart Waddle."

// Gateway close codes that matter here.
const (
	closeAuthFailed       = 4004
	closeInvalidSeq       = 4007
	closeRateLimited      = 4008
	closeSessionTimedOut  = 4009
	closeInvalidShard     = 4010
	closeShardingRequired = 4011
	closeInvalidVersion   = 4012
	closeInvalidIntents   = 4013
	closeDisallowedIntent = 4014
)

var (
	errInvalidSession = errors.New("discord gateway: invalid session (op 9)")
	errRedirect       = errors.New("discord gateway: dialling the resume URL instead")
)

// gwWatch is what one shard session's connections showed. Its methods are
// safe for concurrent use.
type gwWatch struct {
	lost chan struct{} // signalled when the open session drops

	mu         sync.Mutex
	target     string // the URL the next dial must reach
	redirected bool   // the last dial was refused for not being target
	sessionID  string
	resumeURL  string
	closeCode  int  // the gateway's close code on the last connection; 0 none
	invalid    int  // op 9 on the last connection: 0 none, 1 d=false, 2 d=true
	closing    bool // the bot is ending the session for good
}

func newWatch(target string) *gwWatch {
	return &gwWatch{lost: make(chan struct{}, 1), target: target}
}

// next readies the watch for a new connection to target.
func (w *gwWatch) next(target string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.target, w.redirected, w.closeCode, w.invalid = target, false, 0, 0
}

func (w *gwWatch) gateway() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target
}

// dialOK reports whether addr (host:port) is where target points; when it
// is not, the dial is refused, which makes discordgo forget the URL it
// cached and ask (through gatewayAnswer) again.
func (w *gwWatch) dialOK(addr string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, err := url.Parse(w.target)
	if w.target == "" || err != nil {
		return true
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	if strings.EqualFold(net.JoinHostPort(u.Hostname(), port), addr) {
		return true
	}
	w.redirected = true
	return false
}

// saw looks at one text message from the gateway before the library does;
// an error ends the connection instead of handing it on.
func (w *gwWatch) saw(msg []byte) error {
	var head struct {
		Op int             `json:"op"`
		T  string          `json:"t"`
		D  json.RawMessage `json:"d"`
	}
	if json.Unmarshal(msg, &head) != nil {
		return nil
	}
	switch {
	case head.Op == 9:
		var resumable bool
		json.Unmarshal(head.D, &resumable)
		w.mu.Lock()
		w.invalid = 1
		if resumable {
			w.invalid = 2
		}
		w.mu.Unlock()
		return errInvalidSession
	case head.Op == 0 && head.T == "READY":
		var r struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
		}
		json.Unmarshal(head.D, &r)
		w.mu.Lock()
		w.sessionID = r.SessionID
		w.resumeURL = ""
		if u, err := url.Parse(r.ResumeURL); err == nil && (u.Scheme == "wss" || u.Scheme == "ws") && u.Host != "" {
			w.resumeURL = r.ResumeURL
		}
		w.mu.Unlock()
	}
	return nil
}

// closed records the gateway's close frame payload.
func (w *gwWatch) closed(payload []byte) {
	if len(payload) < 2 {
		return
	}
	w.mu.Lock()
	w.closeCode = int(payload[0])<<8 | int(payload[1])
	w.mu.Unlock()
}

// end marks the session as closed for good by the bot: its close frame
// (1000, which ends the session on Discord's side) goes out.
func (w *gwWatch) end() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
}

func (w *gwWatch) ending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing
}

// signal reports that the open session dropped.
func (w *gwWatch) signal() {
	select {
	case w.lost <- struct{}{}:
	default:
	}
}

// gatewayAnswer answers discordgo's GET /gateway with the URL the shard's
// runner chose (the gateway from GET /gateway/bot, or resume_gateway_url).
type gatewayAnswer struct {
	base http.RoundTripper
	w    *gwWatch
}

func (t gatewayAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || r.URL.String() != discordgo.EndpointGateway {
		return t.base.RoundTrip(r)
	}
	body, _ := json.Marshal(map[string]string{"url": t.w.gateway()})
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(string(body))),
		ContentLength: int64(len(body)), Request: r}, nil
}

// gatewayLimits is GET /gateway/bot.
type gatewayLimits struct {
	URL            string
	Shards         int // Discord's recommendation
	Total          int
	Remaining      int
	ResetAt        time.Time
	MaxConcurrency int
}

// budgetError says the IDENTIFY budget is down to its reserve.
type budgetError struct {
	left, total int
	retry       time.Time
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("discord: %d of %d IDENTIFY left until %s", e.left, e.total, e.retry.UTC().Format(time.RFC3339))
}

// identifyGate lets a shard identify when Discord's budget and buckets
// allow: at most one IDENTIFY per max_concurrency bucket (shard id modulo
// max_concurrency) per window, and none once the day's budget is down to a
// reserve. Identifies are counted in Redis when there is one, so every
// instance sees them; on one machine (or while Redis fails) in memory, with
// Discord's own remaining count, read before each IDENTIFY, as the floor.
type identifyGate struct {
	api     *discordgo.Session
	rdb     *redis.Client
	prefix  string // Redis key prefix, with the app id
	gateway string // DISCORD_GATEWAY_URL; "" = Discord's answer
	window  time.Duration
	hold    time.Duration // how long a claimed bucket waits for its IDENTIFY to be sent
	now     func() time.Time
	warn    func(msg string, err error)

	mu      sync.Mutex
	slots   map[int]time.Time // bucket → free from (memory)
	count   int               // identifies counted in memory this window
	countTo time.Time         // end of that window
}

// limits asks Discord for the gateway URL and session start limits.
func (g *identifyGate) limits(ctx context.Context) (gatewayLimits, error) {
	r, err := g.api.GatewayBot(discordgo.WithContext(ctx))
	if err != nil {
		return gatewayLimits{}, fmt.Errorf("GET /gateway/bot: %w", err)
	}
	l := r.SessionStartLimit
	out := gatewayLimits{URL: r.URL, Shards: r.Shards, Total: l.Total, Remaining: l.Remaining,
		ResetAt: g.now().Add(time.Duration(l.ResetAfter) * time.Millisecond), MaxConcurrency: max(1, l.MaxConcurrency)}
	if l.Total <= 0 { // not given: assume Discord's usual day
		out.Total, out.Remaining, out.ResetAt = 1000, 1000, g.now().Add(24*time.Hour)
	}
	out.Remaining = min(max(out.Remaining, 0), out.Total)
	if g.gateway != "" {
		out.URL = g.gateway
	}
	if u, err := url.Parse(out.URL); err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return gatewayLimits{}, fmt.Errorf("GET /gateway/bot: gateway URL %q is not a ws(s) URL", out.URL)
	}
	return out, nil
}

// reserve is the part of the day's budget the bot never spends by itself,
// left for restarts and other tools.
func reserve(total int) int { return max(1, total/20) }

// acquire waits until shard may identify, counts the IDENTIFY and returns
// the limits it read; done must be called once the IDENTIFY was sent (or
// the connection failed), and starts the bucket's window from then.
func (g *identifyGate) acquire(ctx context.Context, shard int) (gatewayLimits, func(), error) {
	for {
		lim, err := g.limits(ctx)
		if err != nil {
			return lim, nil, err
		}
		used := g.counted(ctx, lim)
		if left := min(lim.Remaining, lim.Total-used); left <= reserve(lim.Total) {
			return lim, nil, &budgetError{left: max(left, 0), total: lim.Total, retry: lim.ResetAt}
		}
		bucket := shard % lim.MaxConcurrency
		wait := g.claim(ctx, bucket)
		if wait <= 0 {
			g.add(ctx, lim)
			return lim, func() { g.release(context.WithoutCancel(ctx), bucket) }, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return lim, nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (g *identifyGate) bucketKey(b int) string { return g.prefix + "bucket:" + strconv.Itoa(b) }
func (g *identifyGate) countKey() string       { return g.prefix + "count" }

// claim takes bucket b for g.hold, or says how long to wait before asking
// again (at most a window: a claimed bucket is freed early once its
// IDENTIFY is sent).
func (g *identifyGate) claim(ctx context.Context, b int) time.Duration {
	if g.rdb != nil {
		ok, err := g.rdb.SetNX(ctx, g.bucketKey(b), "1", g.hold).Result()
		if err == nil {
			if ok {
				return 0
			}
			ttl, err := g.rdb.PTTL(ctx, g.bucketKey(b)).Result()
			if err == nil {
				return min(max(ttl, 10*time.Millisecond), g.window)
			}
		}
		g.warn("claim an IDENTIFY bucket in Redis; using memory", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slots == nil {
		g.slots = map[int]time.Time{}
	}
	now := g.now()
	if free := g.slots[b]; now.Before(free) {
		return min(free.Sub(now), g.window)
	}
	g.slots[b] = now.Add(g.hold)
	return 0
}

// release starts bucket b's window now: the IDENTIFY just went out.
func (g *identifyGate) release(ctx context.Context, b int) {
	if g.rdb != nil {
		err := g.rdb.Set(ctx, g.bucketKey(b), "1", g.window).Err()
		if err == nil {
			return
		}
		g.warn("hold an IDENTIFY bucket in Redis; using memory", err)
	}
	g.mu.Lock()
	if g.slots == nil {
		g.slots = map[int]time.Time{}
	}
	g.slots[b] = g.now().Add(g.window)
	g.mu.Unlock()
}

// counted is how many identifies were counted in the current window.
func (g *identifyGate) counted(ctx context.Context, lim gatewayLimits) int {
	if g.rdb != nil {
		n, err := g.rdb.Get(ctx, g.countKey()).Int()
		if err == nil || errors.Is(err, redis.Nil) {
			return n
		}
		g.warn("read the IDENTIFY count in Redis; using memory", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.now().Before(g.countTo) {
		g.count, g.countTo = 0, lim.ResetAt
	}
	return g.count
}

// add counts one IDENTIFY, in Redis (expiring when Discord's window ends)
// and in memory.
func (g *identifyGate) add(ctx context.Context, lim gatewayLimits) {
	g.mu.Lock()
	if !g.now().Before(g.countTo) {
		g.count, g.countTo = 0, lim.ResetAt
	}
	g.count++
	g.mu.Unlock()
	if g.rdb == nil {
		return
	}
	ttl := max(time.Until(lim.ResetAt), time.Second)
	_, err := g.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, g.countKey())
		p.PExpire(ctx, g.countKey(), ttl) // NX needs Redis 7: a later window may only shorten it
		return nil
	})
	if err != nil {
		g.warn("count an IDENTIFY in Redis", err)
	}
}

// outcome is what a shard's runner does after a connection ends.
type outcome int

const (
	resumeNext   outcome = iota // RESUME the same session
	identifyNext                // a new session, after the gate
	invalidNext                 // op 9 d=false: a new session after 1–5 s
	limitedNext                 // 4014: a new session without privileged intents
	fatalNext                   // Discord refuses the configuration: wait long
)

// decide reads why the connection ended; the message is for the health page.
func (w *gwWatch) decide() (outcome, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	resumable := w.sessionID != ""
	switch w.invalid {
	case 1:
		return invalidNext, "Discord invalidated the session (op 9)"
	case 2:
		if resumable {
			return resumeNext, "Discord asked to resume (op 9)"
		}
		return invalidNext, "Discord invalidated the session (op 9)"
	}
	switch w.closeCode {
	case closeDisallowedIntent:
		return limitedNext, "Discord refused the privileged intents (close 4014)"
	case closeAuthFailed:
		return fatalNext, "Discord refused DISCORD_BOT_TOKEN (close 4004): reset the token in the developer portal and set the new one"
	case closeInvalidShard, closeShardingRequired:
		return fatalNext, fmt.Sprintf("Discord refused the shard (close %d): raise DISCORD_SHARD_COUNT to what Discord recommends", w.closeCode)
	case closeInvalidVersion, closeInvalidIntents:
		return fatalNext, fmt.Sprintf("Discord refused the connection settings (close %d)", w.closeCode)
	case closeInvalidSeq, closeSessionTimedOut:
		return identifyNext, fmt.Sprintf("the session expired (close %d)", w.closeCode)
	}
	if resumable {
		return resumeNext, "the connection dropped"
	}
	return identifyNext, "the connection failed"
}

// startURL is where a resume dials: resume_gateway_url when READY gave one.
func (w *gwWatch) startURL(fallback string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.resumeURL != "" {
		return w.resumeURL
	}
	return fallback
}

func (w *gwWatch) wasRedirected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.redirected
}

// shardTrouble is why a shard held here is not connected.
type shardTrouble struct {
	state string // a platform.State*
	why   string
	retry time.Time
}

// shardRun is a shard's runner, owned by reshard.
type shardRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// shardSession returns a new discordgo session for shard id, watched by w.
func (b *Bot) shardSession(ctx context.Context, id int, w *gwWatch) *discordgo.Session {
	s := b.session()
	s.Client.Transport = gatewayAnswer{base: b.tr, w: w}
	d := dialer{log: b.log, open: b.cfg.OpenTimeout, watch: w}
	s.Dialer.NetDialContext, s.Dialer.NetDialTLSContext = d.dial, d.dialTLS
	s.ShouldReconnectOnError = false // runShard decides
	s.ShardID, s.ShardCount = id, b.cfg.ShardCount
	s.Identify.Intents = intents
	if b.isLimited() {
		s.Identify.Intents = intents &^ privileged
	}
	b.handlers(ctx, s)
	s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) { w.signal() })
	return s
}

// open connects s; a dial refused for the resume URL is tried once more,
// now at that URL.
func (b *Bot) open(s *discordgo.Session, w *gwWatch) error {
	err := s.Open()
	if err != nil && w.wasRedirected() {
		err = s.Open()
	}
	return err
}

// runShard holds shard id's gateway connection until ctx ends: it
// identifies through the gate, resumes at resume_gateway_url when Discord
// allows it, and waits as Discord asks in between.
func (b *Bot) runShard(ctx context.Context, id int) {
	var (
		s     *discordgo.Session // the session to resume; nil: identify
		w     *gwWatch
		fails int
		base  string // the gateway URL from GET /gateway/bot
	)
	for ctx.Err() == nil {
		var err error
		if s == nil {
			lim, done, gerr := b.starts.acquire(ctx, id)
			if gerr != nil {
				if ctx.Err() != nil {
					return
				}
				var be *budgetError
				if errors.As(gerr, &be) {
					b.log.ErrorContext(ctx, "IDENTIFY budget down to its reserve: shard waits", "shard", id, "left", be.left, "total", be.total, "retry", be.retry)
					b.setTrouble(id, &shardTrouble{state: platform.StateDegraded, retry: be.retry, why: fmt.Sprintf(
						"Shard %d stopped connecting: only %d of Discord's %d gateway logins (IDENTIFY) a day are left, and the bot keeps them in reserve, "+
							"since Discord resets the token of a bot that uses them all. It will try again at %s, when Discord renews them. "+
							"So many logins mean the connection keeps failing: see the log.", id, be.left, be.total, be.retry.UTC().Format("2006-01-02 15:04 UTC"))})
					b.sleep(ctx, time.Until(be.retry))
					continue
				}
				retry := b.retryWait(fails)
				fails++
				b.log.WarnContext(ctx, "ask Discord for the gateway", "shard", id, "err", gerr, "attempt", fails)
				why := fmt.Sprintf("Cannot connect shard %d: asking Discord for the gateway failed (%v); retrying at %s.", id, gerr, clockAt(time.Now().Add(retry)))
				var re *discordgo.RESTError
				if errors.As(gerr, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
					why = fmt.Sprintf("Cannot connect shard %d: Discord refused DISCORD_BOT_TOKEN (401); set the bot's current token. Retrying at %s.", id, clockAt(time.Now().Add(retry)))
				}
				b.setTrouble(id, &shardTrouble{state: platform.StateReconnecting, retry: time.Now().Add(retry), why: why})
				b.sleep(ctx, retry)
				continue
			}
			base = lim.URL
			w = newWatch(base)
			s = b.shardSession(ctx, id, w)
			err = b.open(s, w)
			done()
		} else {
			w.next(w.startURL(base))
			err = b.open(s, w)
		}
		if err == nil {
			fails = 0
			b.shardUp(id, s)
			select {
			case <-ctx.Done():
			case <-w.lost:
			}
			b.shardDown(id)
			if ctx.Err() != nil {
				w.end()
				s.Close() // never reconnected by discordgo: ShouldReconnectOnError is off from the start
				return
			}
		}
		next, why := w.decide()
		if next == limitedNext && b.isLimited() && s.Identify.Intents&privileged == 0 {
			next, why = fatalNext, "Discord refused the intents even without the privileged ones (close 4014)"
		}
		b.log.InfoContext(ctx, "shard connection ended", "shard", id, "why", why, "err", err)
		if err != nil && (next == resumeNext || next == identifyNext) {
			// The connection did not get through: wait longer each time.
			if next == identifyNext {
				s = nil
			}
			retry := b.retryWait(fails)
			fails++
			b.setTrouble(id, &shardTrouble{state: platform.StateReconnecting, retry: time.Now().Add(retry),
				why: fmt.Sprintf("Cannot connect shard %d to the Discord gateway (%s: %v); retrying at %s.", id, why, err, clockAt(time.Now().Add(retry)))})
			b.sleep(ctx, retry)
			continue
		}
		switch next {
		case resumeNext:
			w.signalDrain() // at once: Discord keeps the session for a short while
		case invalidNext:
			s = nil
			b.sleep(ctx, b.invalidWait())
		case limitedNext:
			s = nil
			if b.setLimited() {
				b.log.WarnContext(ctx, "privileged intents not granted: connecting without them", "shard", id)
			}
		case fatalNext:
			s = nil
			retry := time.Now().Add(b.cfg.FatalWait)
			b.log.ErrorContext(ctx, "Discord refused the shard", "shard", id, "why", why)
			b.setTrouble(id, &shardTrouble{state: platform.StateDegraded, retry: retry,
				why: fmt.Sprintf("Cannot connect shard %d: %s. Retrying at %s.", id, why, clockAt(retry))})
			b.sleep(ctx, b.cfg.FatalWait)
		default: // identifyNext after a session ended
			s = nil
		}
	}
}

// signalDrain empties lost before the session's next connection.
func (w *gwWatch) signalDrain() {
	select {
	case <-w.lost:
	default:
	}
}

// retryWait is the wait after the n-th failure in a row: RetryMin doubled
// each time up to RetryMax, less up to a quarter.
func (b *Bot) retryWait(n int) time.Duration {
	d := b.cfg.RetryMin << min(n, 20)
	if d <= 0 || d > b.cfg.RetryMax {
		d = b.cfg.RetryMax
	}
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// invalidWait is Discord's 1–5 s wait after an Invalid Session.
func (b *Bot) invalidWait() time.Duration {
	if b.cfg.InvalidWait > 0 {
		return b.cfg.InvalidWait
	}
	return time.Second + time.Duration(rand.Int64N(int64(4*time.Second)))
}

// sleep waits d or until ctx ends.
func (b *Bot) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func clockAt(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

func (b *Bot) isLimited() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limited
}

// setLimited records that Discord refused the privileged intents and
// reports whether that is news.
func (b *Bot) setLimited() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	news := !b.limited
	b.limited = true
	return news
}

// setTrouble records why shard id is not connected and shows it.
func (b *Bot) setTrouble(id int, t *shardTrouble) {
	b.mu.Lock()
	b.trouble[id] = t
	b.mu.Unlock()
	b.refreshStatus()
}

// shardUp records shard id's open session.
func (b *Bot) shardUp(id int, s *discordgo.Session) {
	b.mu.Lock()
	b.shards[id] = s
	delete(b.trouble, id)
	b.mu.Unlock()
	b.refreshStatus()
}

// shardDown forgets shard id's session, which dropped or is being closed.
func (b *Bot) shardDown(id int) {
	b.mu.Lock()
	delete(b.shards, id)
	b.mu.Unlock()
}
