package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// openWhiskURL is the blocking-invoke URL of t's action:
// {URL}/api/v1/namespaces/{ns}/actions/[{package}/]{action}?blocking=true&result=true&timeout={ms}.
// timeout (milliseconds, at most 60000) is how long OpenWhisk waits for the
// activation before answering 202 instead.
func openWhiskURL(t Target) string {
	action := t.Action
	if pkg, name, ok := strings.Cut(action, "/"); ok {
		action = url.PathEscape(pkg) + "/" + url.PathEscape(name)
	} else {
		action = url.PathEscape(action)
	}
	q := url.Values{}
	q.Set("blocking", "true")
	q.Set("result", "true")
	q.Set("timeout", strconv.FormatInt(t.timeout().Milliseconds(), 10))
	return strings.TrimRight(t.URL, "/") + "/api/v1/namespaces/" + url.PathEscape(t.namespace()) +
		"/actions/" + action + "?" + q.Encode()
}

func openWhiskRequest(ctx context.Context, t Target, body []byte) (*http.Request, error) {
	req, err := newRequest(ctx, http.MethodPost, openWhiskURL(t), body)
	if err != nil {
		return nil, err
	}
	user, key, _ := strings.Cut(t.Secret, ":")
	req.SetBasicAuth(user, key)
	return req, nil
}

// invokeOpenWhisk makes a blocking invocation that asks for the result only.
// OpenWhisk answers 200 with the action's result; 202 with an activation ID
// when the activation outlasted the blocking wait (ErrTimeout); 502 with the
// result when the action failed (an application or developer error: its
// result has an "error" field), which is a *FunctionError; other statuses
// are *StatusError.
func (c *Client) invokeOpenWhisk(ctx context.Context, t Target, body []byte) ([]byte, error) {
	req, err := openWhiskRequest(ctx, t, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.guarded.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted:
		id := resp.Header.Get("X-Openwhisk-Activation-Id")
		if id == "" {
			var accepted struct {
				ActivationID string `json:"activationId"`
			}
			if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&accepted); err == nil {
				id = accepted.ActivationID
			}
		}
		return nil, fmt.Errorf("activation %q still running after the blocking wait: %w", id, ErrTimeout)
	case http.StatusBadGateway:
		b, err := readBody(resp.Body, c.maxResp)
		if err != nil {
			return nil, fmt.Errorf("read answer: %w", err)
		}
		var result struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(b, &result) == nil && result.Error != nil {
			return nil, &FunctionError{Type: "application error", Payload: snippet(b)}
		}
		// Not OpenWhisk's own answer: a proxy in front of it failed.
		return nil, &StatusError{Code: resp.StatusCode, Body: snippet(b), retryAfter: retryAfter(resp.Header, c.now())}
	}
	return c.readAnswer(resp)
}
