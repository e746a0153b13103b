package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/waddle/waddle/problem"
)

const (
	awsKey    = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// newLambda is a local AWS Lambda endpoint for the Invoke API:
// POST /2015-03-31/functions/{name}/invocations, signed with SigV4 (the
// signature is checked against awsKey/awsSecret). Functions: "echo" (also
// by ARN) returns its payload; "crash" fails with X-Amz-Function-Error:
// Unhandled; "broken" answers 500 ServiceException; "throttled" answers 429 once, then echoes; "text" returns a
// payload that is not JSON; "big" a 4 KiB payload; "slow" hangs; anything
// else is 404 ResourceNotFoundException.
func newLambda(t *testing.T) *server {
	var throttled atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if err := checkSigV4(r, body); err != nil {
			w.Header().Set("X-Amzn-Errortype", "InvalidSignatureException")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"message":%q}`, err.Error())
			return
		}
		if got := r.Header.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
			w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"Type":"User","message":"invocation type %q"}`, got)
			return
		}
		name := r.PathValue("name")
		if i := strings.LastIndex(name, ":function:"); i >= 0 {
			name = name[i+len(":function:"):]
		}
		switch name {
		case "echo":
			w.Header().Set("X-Amz-Executed-Version", "$LATEST")
			w.Write(body)
		case "crash":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorType":"Error","errorMessage":"boom"}`)
		case "throttled":
			if throttled.Add(1) == 1 {
				w.Header().Set("X-Amzn-Errortype", "TooManyRequestsException")
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`)
				return
			}
			w.Write(body)
		case "broken":
			w.Header().Set("X-Amzn-Errortype", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"Type":"Service","message":"internal failure"}`)
		case "text":
			io.WriteString(w, "hello")
		case "big":
			fmt.Fprintf(w, `{"pad":%q}`, strings.Repeat("x", 4096))
		case "slow":
			hang(w, r)
		default:
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"Type":"User","Message":"Function not found: %s"}`, name)
		}
	})
	return newServer(t, mux.ServeHTTP)
}

// checkSigV4 recomputes the request's SigV4 signature with the SDK's signer
// over the headers the client signed, and compares.
func checkSigV4(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(auth, " ")
	if scheme != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("authorization scheme %q", scheme)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	credential := strings.Split(fields["Credential"], "/")
	if len(credential) != 5 || credential[0] != awsKey || credential[3] != "lambda" {
		return fmt.Errorf("credential %q", fields["Credential"])
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	again.ContentLength = r.ContentLength
	for h := range strings.SplitSeq(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" && h != "x-amz-date" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: awsKey, SecretAccessKey: awsSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "lambda", credential[2], signedAt); err != nil {
		return err
	}
	if again.Header.Get("Authorization") != auth {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, again.Header.Get("Authorization"))
	}
	return nil
}

func lambdaTarget(url, function string) Target {
	return Target{Kind: Lambda, URL: url, Function: function, Region: "eu-west-1", AccessKeyID: awsKey, SecretAccessKey: awsSecret}
}

func TestLambdaInvoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		function     string
		region       string
		want         string
		wantErr      error
		wantStatus   int
		wantAWSError string
		wantFuncErr  string
		wantHits     int64
	}{
		{name: "payload", function: "echo", want: `{"user":"ada"}`, wantHits: 1},
		{name: "by ARN, region from ARN", function: "arn:aws:lambda:eu-central-1:123456789012:function:echo", region: "-", want: `{"user":"ada"}`, wantHits: 1},
		{name: "function error", function: "crash", wantFuncErr: "Unhandled", wantHits: 1},
		{name: "throttled then fine", function: "throttled", want: `{"user":"ada"}`, wantHits: 2},
		{name: "not JSON", function: "text", wantErr: ErrBadResponse, wantHits: 1},
		{name: "too large", function: "big", wantErr: ErrResponseTooLarge, wantHits: 1},
		{name: "no such function", function: "nope", wantStatus: http.StatusNotFound, wantAWSError: "ResourceNotFoundException", wantHits: 1},
		{name: "service error not retried", function: "broken", wantStatus: http.StatusInternalServerError, wantAWSError: "ServiceException", wantHits: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newLambda(t)
			c := newClient(t, Config{MaxResponseBytes: 1024})
			tg := lambdaTarget(srv.URL, tc.function)
			if tc.region == "-" {
				tg.Region = ""
			}
			out, err := c.Invoke(context.Background(), tg, []byte(`{"user":"ada"}`))
			if tc.want != "" {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if string(out) != tc.want {
					t.Errorf("answer = %s, want %s", out, tc.want)
				}
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantStatus != 0 {
				se, ok := errors.AsType[*StatusError](err)
				if !ok || se.Code != tc.wantStatus || !strings.Contains(se.Body, tc.wantAWSError) {
					t.Errorf("err = %v, want StatusError %d naming the AWS error", err, tc.wantStatus)
				}
			}
			if tc.wantFuncErr != "" {
				fe, ok := errors.AsType[*FunctionError](err)
				if !ok || fe.Type != tc.wantFuncErr || !strings.Contains(fe.Payload, "boom") {
					t.Errorf("err = %v, want FunctionError %s carrying the payload", err, tc.wantFuncErr)
				}
			}
			if n := srv.hits.Load(); n != tc.wantHits {
				t.Errorf("endpoint got %d requests, want %d", n, tc.wantHits)
			}
		})
	}
}

func TestLambdaWrongKeyIsRefusedBySignatureCheck(t *testing.T) {
	t.Parallel()
	srv := newLambda(t)
	c := newClient(t, Config{})
	tg := lambdaTarget(srv.URL, "echo")
	tg.SecretAccessKey = "not-the-secret"
	_, err := c.Invoke(context.Background(), tg, []byte(`{}`))
	if se, ok := errors.AsType[*StatusError](err); !ok || se.Code != http.StatusForbidden {
		t.Errorf("err = %v, want StatusError 403", err)
	}
}

func TestLambdaServerCredentials(t *testing.T) {
	// Not parallel: it sets the environment the AWS SDK reads. The
	// operator's own endpoint (AWS_ENDPOINT_URL) is not a user URL, so the
	// dial guard does not apply to it: AllowPrivate stays off.
	srv := newLambda(t)
	t.Setenv("AWS_ACCESS_KEY_ID", awsKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsSecret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	tg := Target{Kind: Lambda, Function: "echo", Region: "eu-west-1"}
	cases := []struct {
		name      string
		cfg       Config
		target    Target
		want      string
		wantField string
	}{
		{name: "not lent by default", cfg: Config{}, target: tg, wantField: "AccessKeyID"},
		{name: "lent", cfg: Config{AmbientAWSCredentials: true}, target: tg, want: `{"n":1}`},
		{name: "never to a user's endpoint", cfg: Config{AmbientAWSCredentials: true},
			target: func() Target { t := tg; t.URL = "https://lambda.example.com"; return t }(), wantField: "URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := New(tc.cfg).Invoke(context.Background(), tc.target, []byte(`{"n":1}`))
			if tc.want != "" && (err != nil || string(out) != tc.want) {
				t.Errorf("Invoke = %s, %v; want %s", out, err, tc.want)
			}
			if tc.wantField != "" {
				if p := problem.As(err); p == nil || p.Field != tc.wantField {
					t.Errorf("err = %v, want an invalid-%s problem", err, tc.wantField)
				}
			}
		})
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("endpoint got %d requests, want 1", n)
	}
}
