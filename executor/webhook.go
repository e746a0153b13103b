package executor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook signature headers. The signature is "sha256=" and the hex
// HMAC-SHA256, keyed with the target's secret, of "<timestamp>.<body>",
// where timestamp is the X-Waddle-Timestamp value (Unix seconds).
const (
	HeaderTimestamp = "X-Waddle-Timestamp"
	HeaderSignature = "X-Waddle-Signature"
)

// DefaultSignatureWindow is how far a webhook timestamp may be from the
// receiver's clock, either way.
const DefaultSignatureWindow = 5 * time.Minute

// Errors from VerifySignature.
var (
	ErrInvalidSignature = errors.New("invalid webhook signature")
	ErrStaleSignature   = errors.New("webhook timestamp outside the allowed window")
)

// Sign returns the X-Waddle-Signature value for body sent at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	return sign(secret, strconv.FormatInt(ts.Unix(), 10), body)
}

func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a webhook call as its receiver should: the
// signature must match body under secret (compared in constant time) and
// the timestamp must be within window of now, either way (window
// DefaultSignatureWindow when zero or less), which bounds replays.
func VerifySignature(secret string, header http.Header, body []byte, now time.Time, window time.Duration) error {
	if secret == "" {
		return fmt.Errorf("no secret to verify with: %w", ErrInvalidSignature)
	}
	if window <= 0 {
		window = DefaultSignatureWindow
	}
	tsText := header.Get(HeaderTimestamp)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("missing or malformed %s: %w", HeaderTimestamp, ErrInvalidSignature)
	}
	got, ok := strings.CutPrefix(header.Get(HeaderSignature), "sha256=")
	if !ok {
		return fmt.Errorf("missing or malformed %s: %w", HeaderSignature, ErrInvalidSignature)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("malformed %s: %w", HeaderSignature, ErrInvalidSignature)
	}
	wantMAC, _ := hex.DecodeString(strings.TrimPrefix(sign(secret, tsText, body), "sha256="))
	if !hmac.Equal(gotMAC, wantMAC) {
		return ErrInvalidSignature
	}
	// In seconds, arranged so that no timestamp can overflow.
	n, w := now.Unix(), int64(window/time.Second)
	if ts < n-w || ts > n+w {
		return fmt.Errorf("timestamp %d, now %d: %w", ts, n, ErrStaleSignature)
	}
	return nil
}

// webhookRequest builds the signed POST.
func (c *Client) webhookRequest(ctx context.Context, t Target, body []byte) (*http.Request, error) {
	req, err := newRequest(ctx, http.MethodPost, t.URL, body)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(c.now().Unix(), 10)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sign(t.Secret, ts, body))
	return req, nil
}

func (c *Client) invokeWebhook(ctx context.Context, t Target, body []byte) ([]byte, error) {
	req, err := c.webhookRequest(ctx, t, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.guarded.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	return c.readAnswer(resp)
}
