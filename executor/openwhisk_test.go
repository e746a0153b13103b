package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

const (
	owUser = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
	owKey  = "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

// newOpenWhisk is a local OpenWhisk controller for the blocking-invoke part
// of its REST API: POST /api/v1/namespaces/{ns}/actions/[{pkg}/]{action}
// with basic auth, answering as the controller does (see invokeOpenWhisk).
// Actions: "echo" and "pkg/echo" return their parameters with the
// namespace; "fails" is an application error (502); "slow" outlasts the
// blocking wait (202); "flaky" answers 503 (load balancer overloaded) and
// then succeeds; anything else is 404.
func newOpenWhisk(t *testing.T) *server {
	var flaky atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/actions/{action...}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user, key, ok := r.BasicAuth()
		if !ok || user != owUser || key != owKey {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"The supplied authentication is invalid","code":"a1"}`)
			return
		}
		q := r.URL.Query()
		ms, err := strconv.Atoi(q.Get("timeout"))
		if q.Get("blocking") != "true" || q.Get("result") != "true" || err != nil || ms <= 0 || ms > 60000 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad query","code":"a2"}`)
			return
		}
		var params map[string]any
		if err := json.NewDecoder(r.Body).Decode(&params); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"The request content was malformed","code":"a3"}`)
			return
		}
		ns := r.PathValue("ns")
		w.Header().Set("X-Openwhisk-Activation-Id", "5975c24de0114ef2b5c24de0118ef27e")
		switch r.PathValue("action") {
		case "echo", "pkg/echo":
			json.NewEncoder(w).Encode(map[string]any{"namespace": ns, "params": params})
		case "fails":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"error":"unknown command"}`)
		case "slow":
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"activationId":"5975c24de0114ef2b5c24de0118ef27e"}`)
		case "flaky":
			if flaky.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":"System is overloaded, try again later.","code":"a4"}`)
				return
			}
			io.WriteString(w, `{"ok":true}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"The requested resource does not exist.","code":"a5"}`)
		}
	})
	return newServer(t, mux.ServeHTTP)
}

func TestOpenWhiskInvoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		namespace   string
		action      string
		secret      string
		want        string
		wantErr     error
		wantStatus  int
		wantFuncErr bool
		wantHits    int64
	}{
		{name: "result", action: "echo", want: `{"namespace":"_","params":{"user":"ada"}}`, wantHits: 1},
		{name: "named namespace and package", namespace: "guest", action: "pkg/echo", want: `{"namespace":"guest","params":{"user":"ada"}}`, wantHits: 1},
		{name: "application error", action: "fails", wantFuncErr: true, wantHits: 1},
		{name: "blocking wait over", action: "slow", wantErr: ErrTimeout, wantHits: 1},
		{name: "overloaded then fine", action: "flaky", want: `{"ok":true}`, wantHits: 2},
		{name: "no such action", action: "nope", wantStatus: http.StatusNotFound, wantHits: 1},
		{name: "wrong key", action: "echo", secret: owUser + ":wrong", wantStatus: http.StatusUnauthorized, wantHits: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ow := newOpenWhisk(t)
			c := newClient(t, Config{})
			tg := Target{Kind: OpenWhisk, URL: ow.URL + "/", Secret: owUser + ":" + owKey, Namespace: tc.namespace, Action: tc.action}
			if tc.secret != "" {
				tg.Secret = tc.secret
			}
			out, err := c.Invoke(context.Background(), tg, []byte(`{"user":"ada"}`))
			if tc.want != "" {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if strings.TrimSpace(string(out)) != tc.want {
					t.Errorf("answer = %s, want %s", out, tc.want)
				}
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantStatus != 0 {
				if se, ok := errors.AsType[*StatusError](err); !ok || se.Code != tc.wantStatus {
					t.Errorf("err = %v, want StatusError %d", err, tc.wantStatus)
				}
			}
			if tc.wantFuncErr {
				fe, ok := errors.AsType[*FunctionError](err)
				if !ok || !strings.Contains(fe.Payload, "unknown command") {
					t.Errorf("err = %v, want FunctionError carrying the result", err)
				}
			}
			if n := ow.hits.Load(); n != tc.wantHits {
				t.Errorf("controller got %d requests, want %d", n, tc.wantHits)
			}
		})
	}
}

func TestOpenWhiskProxyBadGatewayIsRetried(t *testing.T) {
	t.Parallel()
	// A 502 whose body is not OpenWhisk's JSON comes from a proxy in front
	// of it: the action did not run, so it is retried like any 502.
	var n atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>502 Bad Gateway</html>")
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	})
	c := newClient(t, Config{})
	got := mustInvoke(t, c, Target{Kind: OpenWhisk, URL: srv.URL, Secret: "u:k", Action: "a"}, `{}`)
	if got != `{"ok":true}` || srv.hits.Load() != 3 {
		t.Errorf("answer %s after %d requests, want {\"ok\":true} after 3", got, srv.hits.Load())
	}
}
