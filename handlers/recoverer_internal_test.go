package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A handler that panics answers 500 and logs it; under /api/ the answer is
// the API's JSON envelope, like every other API error.
func TestRecovererAnswersAPIInJSON(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := &Handler{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	boom := h.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	for _, tc := range []struct {
		path, wantType string
	}{
		{"/api/v1/me", "application/json"},
		{"/account", "text/plain; charset=utf-8"},
	} {
		rec := httptest.NewRecorder()
		boom.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != tc.wantType {
			t.Errorf("GET %s: %d %q, want 500 %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.wantType)
		}
		if tc.wantType == "application/json" {
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success || env.Message != "Something went wrong on our side." {
				t.Errorf("GET %s: body %q (%v), want the JSON envelope with the message", tc.path, rec.Body, err)
			}
		}
	}
	if n := strings.Count(logs.String(), "msg=panic"); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, logs.String())
	}
}
