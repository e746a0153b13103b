package deploy

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// directive is one line of a Caddyfile: a name, its arguments and the block
// that follows it, if any.
type directive struct {
	line  int
	name  string
	args  []string
	block []directive
}

// parseCaddyfile reads the structure of a Caddyfile: directives one a line,
// blocks in braces, comments from a # that starts a token. Quoted tokens
// keep their spaces. It is enough for this repository's Caddyfile, not a
// replacement for Caddy's parser.
func parseCaddyfile(src string) ([]directive, error) {
	var (
		stack = [][]directive{nil}
		open  []directive // directives whose block is being read
	)
	for n, raw := range strings.Split(src, "\n") {
		toks, err := caddyTokens(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if len(toks) == 0 {
			continue
		}
		if len(toks) == 1 && toks[0] == "}" {
			if len(open) == 0 {
				return nil, fmt.Errorf("line %d: } closes nothing", n+1)
			}
			d := open[len(open)-1]
			open = open[:len(open)-1]
			d.block = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			stack[len(stack)-1] = append(stack[len(stack)-1], d)
			continue
		}
		d := directive{line: n + 1, name: toks[0], args: toks[1:]}
		if last := len(toks) - 1; toks[last] == "{" {
			d.args = toks[1:last]
			open = append(open, d)
			stack = append(stack, nil)
			continue
		}
		if slices.Contains(toks, "{") || slices.Contains(toks, "}") {
			return nil, fmt.Errorf("line %d: a brace must end a line or stand alone", n+1)
		}
		stack[len(stack)-1] = append(stack[len(stack)-1], d)
	}
	if len(open) > 0 {
		return nil, fmt.Errorf("line %d: block not closed", open[len(open)-1].line)
	}
	return stack[0], nil
}

func caddyTokens(line string) ([]string, error) {
	var toks []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		switch {
		case line[0] == '#':
			return toks, nil
		case line[0] == '"':
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			toks = append(toks, line[1:end+1])
			line = line[end+2:]
		default:
			end := strings.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			toks = append(toks, line[:end])
			line = line[end:]
		}
	}
	return toks, nil
}

// find returns the directives named name in ds.
func find(ds []directive, name string) []directive {
	var out []directive
	for _, d := range ds {
		if d.name == name {
			out = append(out, d)
		}
	}
	return out
}

// one returns the only directive named name in ds, failing otherwise.
func one(t *testing.T, ds []directive, name string) directive {
	t.Helper()
	got := find(ds, name)
	if len(got) != 1 {
		t.Fatalf("%d %s directives, want one", len(got), name)
	}
	return got[0]
}

// site is the Caddyfile's only site block.
func site(t *testing.T) directive {
	t.Helper()
	b, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	top, err := parseCaddyfile(string(b))
	if err != nil {
		t.Fatalf("Caddyfile: %v", err)
	}
	if len(top) != 1 || top[0].block == nil {
		t.Fatalf("Caddyfile has %d top-level blocks, want one site", len(top))
	}
	s := top[0]
	// Caddy substitutes {$VAR} from its environment when it reads the file.
	if s.name != "{$WADDLE_DOMAIN}" || len(s.args) != 0 {
		t.Fatalf("site address %q %q, want {$WADDLE_DOMAIN}", s.name, s.args)
	}
	return s
}

func TestCaddyfileProxiesToEveryInstance(t *testing.T) {
	p, _ := mustLoad(t)
	rp := one(t, site(t).block, "reverse_proxy")
	var want []string
	for _, name := range waddleServices {
		want = append(want, name+":"+waddlePort)
	}
	if !slices.Equal(rp.args, want) {
		t.Errorf("reverse_proxy to %v, want every waddle instance of compose.yaml: %v", rp.args, want)
	}
	for _, name := range p.ServiceNames() {
		if strings.HasPrefix(name, "waddle-") && !slices.Contains(waddleServices, name) {
			t.Errorf("compose.yaml runs %s, which neither this test nor the Caddyfile knows", name)
		}
	}

	setting := func(name string) []string {
		t.Helper()
		return one(t, rp.block, name).args
	}
	for name, want := range map[string][]string{
		"flush_interval": {"-1"}, // every SSE write reaches OBS at once
		"lb_policy":      {"least_conn"},
		"health_uri":     {"/readyz"},
		"health_status":  {"200"},
	} {
		if got := setting(name); !slices.Equal(got, want) {
			t.Errorf("reverse_proxy %s %q, want %q", name, got, want)
		}
	}
	// Caddy's default is no timeout on a proxied response: an overlay stream
	// stays open for hours, and an import uploads up to 200 MiB.
	for _, d := range rp.block {
		if strings.Contains(d.name, "timeout") && d.name != "health_timeout" {
			t.Errorf("line %d: %s would cut long streams and uploads", d.line, d.name)
		}
		if d.name == "transport" || d.name == "buffer_requests" || d.name == "buffer_responses" || d.name == "response_buffers" {
			t.Errorf("line %d: %s: keep the default unbuffered transport", d.line, d.name)
		}
	}
	if find(site(t).block, "encode") != nil {
		t.Errorf("encode buffers Server-Sent Events; Waddle's pages are small")
	}

	// The paths Caddy relies on are Waddle's.
	routes, err := os.ReadFile("../handlers/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(routes), `r.Get("/readyz", h.readyz)`) {
		t.Errorf("handlers/routes.go serves no /readyz for the health check")
	}
}

func TestCaddyfileHidesMetrics(t *testing.T) {
	s := site(t)
	var matcher string
	for _, d := range s.block {
		if d.name == "respond" && len(d.args) == 2 && d.args[1] == "404" && strings.HasPrefix(d.args[0], "@") {
			matcher = d.args[0]
		}
	}
	if matcher == "" {
		t.Fatal("no `respond @matcher 404` in the site")
	}
	m := one(t, s.block, matcher)
	if !slices.Equal(m.args, []string{"path", "/metrics", "/metrics/*"}) {
		t.Errorf("%s matches %q, want path /metrics /metrics/*", matcher, m.args)
	}
	routes, err := os.ReadFile("../handlers/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	route := regexp.MustCompile(`Handle\("(/[^"]*)", promhttp`).FindSubmatch(routes)
	if route == nil || string(route[1]) != "/metrics" {
		t.Errorf("Waddle serves its metrics at %q; the Caddyfile hides /metrics", route)
	}
}

func TestCaddyfileSecurityHeaders(t *testing.T) {
	var hsts []string
	for _, d := range find(site(t).block, "header") {
		if len(d.args) == 2 && d.args[0] == "Strict-Transport-Security" {
			hsts = append(hsts, d.args[1])
		}
	}
	if !slices.Equal(hsts, []string{"max-age=31536000"}) {
		t.Errorf("Strict-Transport-Security %q, want one max-age=31536000", hsts)
	}
	// Waddle sets the others itself; two values of one header confuse browsers.
	mw, err := os.ReadFile("../handlers/middleware.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range find(site(t).block, "header") {
		if len(d.args) > 0 && strings.Contains(string(mw), `"`+d.args[0]+`"`) {
			t.Errorf("line %d: Waddle already sets %s", d.line, d.args[0])
		}
	}
	if strings.Contains(string(mw), "Strict-Transport-Security") {
		t.Errorf("Waddle sets Strict-Transport-Security itself now: drop it from the Caddyfile")
	}
}

func TestParseCaddyfile(t *testing.T) {
	good := "a {\n\tb c \"d e\" # note\n\t@m path /x\n\tf {\n\t\tg -1\n\t}\n}\n"
	ds, err := parseCaddyfile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].name != "a" || len(ds[0].block) != 3 ||
		!slices.Equal(ds[0].block[0].args, []string{"c", "d e"}) ||
		ds[0].block[2].name != "f" || !slices.Equal(ds[0].block[2].block[0].args, []string{"-1"}) {
		t.Fatalf("parsed %+v", ds)
	}
	for _, bad := range []string{"a {\n", "}\n", "a { b }\n", "a \"b\n"} {
		if _, err := parseCaddyfile(bad); err == nil {
			t.Errorf("parsed %q without an error", bad)
		}
	}
}
