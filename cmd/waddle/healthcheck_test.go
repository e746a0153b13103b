package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		wantErr string
	}{
		{name: "healthy", status: http.StatusOK},
		{name: "unavailable", status: http.StatusServiceUnavailable, wantErr: "503 Service Unavailable"},
		{name: "not found", status: http.StatusNotFound, wantErr: "404 Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var paths []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.Method+" "+r.URL.Path)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			listen := strings.TrimPrefix(srv.URL, "http://")
			out, err := runWaddle(t, map[string]string{"LISTEN_ADDR": listen}, "healthcheck")
			srv.Close()
			if strings.Join(paths, ",") != "GET /healthz" {
				t.Errorf("server got %q, want one GET /healthz", paths)
			}
			if tc.wantErr == "" {
				if err != nil || !strings.HasPrefix(out, "ok: ") {
					t.Errorf("healthcheck = %q, %v; want ok and no error", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("healthcheck error = %v, want %q in it", err, tc.wantErr)
			}
		})
	}
}

func TestHealthcheckNothingListening(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	listen := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // the port is now closed
	_, err := runWaddle(t, map[string]string{"LISTEN_ADDR": listen}, "healthcheck")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("healthcheck with nothing listening: %v, want connection refused", err)
	}
}

func TestHealthcheckBadInput(t *testing.T) {
	t.Parallel()
	_, err := runWaddle(t, map[string]string{"LISTEN_ADDR": "no-port"}, "healthcheck")
	if err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
		t.Errorf("healthcheck with LISTEN_ADDR=no-port: %v, want it named", err)
	}
	if _, err := runWaddle(t, nil, "healthcheck", "http://x"); err == nil || !strings.Contains(err.Error(), "no arguments") {
		t.Errorf("healthcheck with an argument: %v, want a usage error", err)
	}
}

func TestHealthzURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ listen, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/healthz"},
		{":9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:8080", "http://[::1]:8080/healthz"},
		{"10.1.2.3:8080", "http://10.1.2.3:8080/healthz"},
		{"waddle.internal:80", "http://waddle.internal:80/healthz"},
	}
	for _, tc := range cases {
		got, err := healthzURL(tc.listen)
		if err != nil || got != tc.want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", tc.listen, got, err, tc.want)
		}
	}
	for _, bad := range []string{"8080", "127.0.0.1", "127.0.0.1:"} {
		if _, err := healthzURL(bad); err == nil {
			t.Errorf("healthzURL(%q) succeeded, want an error", bad)
		}
	}
}
