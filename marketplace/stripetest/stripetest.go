// Package stripetest is a local server that speaks Stripe's API to
// stripe-go, for tests: it creates Checkout Sessions, refusing what Stripe
// refuses with Stripe's error shapes, and it produces webhook deliveries
// signed the way Stripe signs them.
package stripetest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIVersion is the API version the events carry: the one stripe-go v82 reads.
const APIVersion = "2025-08-27.basil"

// Server is a fake Stripe API.
type Server struct {
	URL           string // the API base, as STRIPE_API_URL
	Key           string // the secret key it accepts
	WebhookSecret string // the endpoint secret its deliveries are signed with

	mu       sync.Mutex
	sessions map[string]*Session
	subs     map[string]*Subscription
	order    []string
}

// Session is a Checkout Session as the fake stored it.
type Session struct {
	ID, Mode, URL, SuccessURL, CancelURL, ClientReferenceID string
	Metadata, SubscriptionMetadata                          map[string]string
	Currency, ProductName, Interval                         string
	UnitAmount, Quantity                                    int64
}

// Subscription is a subscription a completed session started.
type Subscription struct {
	ID, Customer string
	Metadata     map[string]string
	PeriodEnd    time.Time
}

// New starts a fake Stripe; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Key: "sk_test_" + token(12), WebhookSecret: "whsec_" + token(16),
		sessions: map[string]*Session{}, subs: map[string]*Subscription{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checkout/sessions", s.createSession)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "", "", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// stripeError answers in Stripe's error shape.
func stripeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := map[string]string{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

var topParams = regexp.MustCompile(`^(mode|success_url|cancel_url|client_reference_id|metadata\[[a-z_]+\]|subscription_data\[metadata\]\[[a-z_]+\]|payment_intent_data\[metadata\]\[[a-z_]+\]|line_items\[0\]\[(quantity|price_data\]\[(currency|unit_amount|product_data\]\[name|recurring\]\[interval))\])$`)

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "", "Invalid API Key provided: "+maskKey(r.Header.Get("Authorization")))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "Invalid request: the body must be form-encoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "Invalid request: "+err.Error())
		return
	}
	f := r.PostForm
	for k := range f {
		if !topParams.MatchString(k) {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_unknown", k, "Received unknown parameter: "+k)
			return
		}
	}
	missing := func(p string) {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", p, "Missing required param: "+p+".")
	}
	mode := f.Get("mode")
	switch mode {
	case "":
		missing("mode")
		return
	case "payment", "subscription":
	default:
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_string", "mode",
			"Invalid mode: must be one of payment, setup, or subscription")
		return
	}
	li := "line_items[0]"
	pd := li + "[price_data]"
	for _, p := range []string{li + "[quantity]", pd + "[currency]", pd + "[unit_amount]", pd + "[product_data][name]", "success_url"} {
		if f.Get(p) == "" {
			missing(p)
			return
		}
	}
	amount, err := strconv.ParseInt(f.Get(pd+"[unit_amount]"), 10, 64)
	if err != nil || amount < 0 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", pd+"[unit_amount]", "Invalid integer: "+f.Get(pd+"[unit_amount]"))
		return
	}
	qty, err := strconv.ParseInt(f.Get(li+"[quantity]"), 10, 64)
	if err != nil || qty < 1 {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", li+"[quantity]", "Invalid integer: "+f.Get(li+"[quantity]"))
		return
	}
	if cur := f.Get(pd + "[currency]"); len(cur) != 3 || strings.ToLower(cur) != cur {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", pd+"[currency]", "Invalid currency: "+cur+".")
		return
	}
	interval := f.Get(pd + "[recurring][interval]")
	switch {
	case mode == "subscription" && interval == "":
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "line_items",
			"You must provide at least one recurring price in `subscription` mode when using prices.")
		return
	case mode == "payment" && interval != "":
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "line_items",
			"You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.")
		return
	case interval != "" && interval != "day" && interval != "week" && interval != "month" && interval != "year":
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", pd+"[recurring][interval]", "Invalid recurring[interval]: must be one of day, month, week, or year")
		return
	}
	for _, u := range []string{"success_url", "cancel_url"} {
		if v := f.Get(u); v != "" {
			if p, err := url.Parse(v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "url_invalid", u, "Not a valid URL")
				return
			}
		}
	}
	if mode == "payment" && hasPrefix(f, "subscription_data[") {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "subscription_data", "You can not pass `subscription_data` in `payment` mode.")
		return
	}
	if mode == "subscription" && hasPrefix(f, "payment_intent_data[") {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "payment_intent_data", "You can not pass `payment_intent_data` in `subscription` mode.")
		return
	}
	id := "cs_test_" + token(12)
	sess := &Session{ID: id, Mode: mode, URL: "https://checkout.stripe.com/c/pay/" + id, SuccessURL: f.Get("success_url"), CancelURL: f.Get("cancel_url"),
		ClientReferenceID: f.Get("client_reference_id"), Metadata: meta(f, "metadata"), SubscriptionMetadata: meta(f, "subscription_data[metadata]"),
		Currency: f.Get(pd + "[currency]"), ProductName: f.Get(pd + "[product_data][name]"), Interval: interval, UnitAmount: amount, Quantity: qty}
	s.mu.Lock()
	s.sessions[id] = sess
	s.order = append(s.order, id)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "object": "checkout.session", "mode": mode, "url": sess.URL, "status": "open", "payment_status": "unpaid",
		"success_url": sess.SuccessURL, "cancel_url": sess.CancelURL, "client_reference_id": nullable(sess.ClientReferenceID),
		"metadata": sess.Metadata, "currency": sess.Currency, "amount_total": amount * qty, "livemode": false, "created": time.Now().Unix(),
		"customer": nil, "subscription": nil,
	})
}

func hasPrefix(f url.Values, p string) bool {
	for k := range f {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func meta(f url.Values, prefix string) map[string]string {
	out := map[string]string{}
	for k := range f {
		if rest, ok := strings.CutPrefix(k, prefix+"["); ok && strings.HasSuffix(rest, "]") && !strings.Contains(rest, "[") {
			out[strings.TrimSuffix(rest, "]")] = f.Get(k)
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func maskKey(auth string) string {
	k := strings.TrimPrefix(auth, "Bearer ")
	if len(k) > 4 {
		return strings.Repeat("*", len(k)-4) + k[len(k)-4:]
	}
	return k
}

// Sessions lists the sessions created, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.sessions[id])
	}
	return out
}

// Signature is the Stripe-Signature header for payload signed with secret at t.
func Signature(secret string, payload []byte, t time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// Sign is the Stripe-Signature header of payload signed with the endpoint's secret at t.
func (s *Server) Sign(payload []byte, t time.Time) string {
	return Signature(s.WebhookSecret, payload, t)
}

// Deliver posts payload to a webhook endpoint the way Stripe does, signed at t.
func (s *Server) Deliver(endpoint string, payload []byte, t time.Time) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(payload)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", s.Sign(payload, t))
	return http.DefaultClient.Do(req)
}
