package deploy

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/telemetry"
	"github.com/waddle/waddle/workflow"
)

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaTarget struct {
	RefID      string             `json:"refId"`
	Expr       string             `json:"expr"`
	Datasource *grafanaDatasource `json:"datasource"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	Targets    []grafanaTarget    `json:"targets"`
	Panels     []grafanaPanel     `json:"panels"` // a collapsed row's
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Query      json.RawMessage    `json:"query"`
	Datasource *grafanaDatasource `json:"datasource"`
}

type grafanaDashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

func loadDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	raw, err := os.ReadFile("grafana/waddle.json")
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/waddle.json: %v", err)
	}
	if dec.More() {
		t.Fatal("grafana/waddle.json: more than one JSON value")
	}
	return d
}

// registeredMetrics builds Waddle's Prometheus registry the way serve does
// (cmd/waddle/serve.go), with each metric's owner, touches the vectors whose
// series appear only once used, and returns the names a scrape can show,
// histograms with their _bucket, _sum and _count series.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var statuses []*platform.Status
	for _, p := range router.Platforms {
		statuses = append(statuses, platform.NewStatus(p))
	}
	reg.MustRegister(platform.NewCollector(statuses...),
		telemetry.NewJobsCollector(dbtest.Pool(t), []string{river.QueueDefault, workflow.Queue}, logger))
	router.New(router.Config{Logger: logger, Metrics: reg}) // its series exist from the start
	h := handlers.New(handlers.Config{Logger: logger, Registry: reg})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil)) // the HTTP vectors' first series
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz: %d", rec.Code)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	return names
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
	// Grafana variables: $name, ${name} or ${name:format}, [[name]].
	grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)
)

// metricNames returns the metric names a PromQL expression selects: what
// is left once strings, label matchers, ranges and groupings are removed,
// less functions (a name before a parenthesis), keywords and numbers.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	for prev := ""; prev != s; {
		prev = s
		s = promMatchers.ReplaceAllString(s, " ")
	}
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") || promKeywords[strings.ToLower(name)] {
			continue
		}
		if loc[0] > 0 && strings.ContainsAny(s[loc[0]-1:loc[0]], "0123456789.") {
			continue // the exponent or suffix of a number
		}
		out = append(out, name)
	}
	return out
}

// variables returns the Grafana variables text refers to.
func variables(text string) []string {
	var out []string
	for _, m := range grafanaVar.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}

func TestMetricNamesOfExpressions(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`sum by (platform) (rate(waddle_outbox_sent_total{instance=~"$instance"}[$__rate_interval]))`, []string{"waddle_outbox_sent_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(a_bucket{route!="/x/{token}"}[5m])))`, []string{"a_bucket"}},
		{`sum(x) / ignoring(kind) group_left y > 0 and on (i) z offset 5m`, []string{"x", "y", "z"}},
		{`1e3 * up`, []string{"up"}},
		{`max by (queue, state) (q{state=~"a|b"}) or vector(0)`, []string{"q"}},
	}
	for _, tc := range cases {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both are needed for an import that updates in place", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: datasource variables by uid need 36 or later", d.SchemaVersion)
	}
	vars := map[string]string{} // name → type
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("variable datasource is %q, want a datasource variable", vars["datasource"])
	}
	if vars["instance"] == "" {
		t.Error("no instance variable")
	}
	known := registeredMetrics(t)
	used := map[string]bool{}

	// checkDatasource refers only to a defined datasource variable.
	checkDatasource := func(where string, ds *grafanaDatasource) {
		if ds == nil {
			t.Errorf("%s: no datasource", where)
			return
		}
		vs := variables(ds.UID)
		if len(vs) != 1 {
			t.Errorf("%s: datasource uid %q is not the datasource variable", where, ds.UID)
		}
		for _, v := range vs {
			if vars[v] != "datasource" {
				t.Errorf("%s: datasource uid %q refers to %q, not a datasource variable", where, ds.UID, v)
			}
		}
		if ds.Type != "prometheus" {
			t.Errorf("%s: datasource type %q", where, ds.Type)
		}
	}
	// checkExpr selects registered metrics, through defined variables.
	checkExpr := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !known[n] {
				t.Errorf("%s: %q: Waddle registers no metric %s", where, expr, n)
			}
		}
		for _, v := range variables(expr) {
			if _, ok := vars[v]; !ok && !strings.HasPrefix(v, "__") {
				t.Errorf("%s: %q: undefined variable %s", where, expr, v)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		checkDatasource("variable "+v.Name, v.Datasource)
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: query: %v", v.Name, err)
			continue
		}
		m := regexp.MustCompile(`^label_values\(([^,]+),\s*\w+\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query)
			continue
		}
		checkExpr("variable "+v.Name, m[1])
	}

	var all []grafanaPanel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	ids := map[int]bool{}
	panels := 0
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Type == "row" {
			continue
		}
		panels++
		where := "panel " + p.Title
		checkDatasource(where, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", where)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil {
				checkDatasource(where+" target "+tg.RefID, tg.Datasource)
			}
			checkExpr(where+" target "+tg.RefID, tg.Expr)
		}
	}
	if panels < 10 {
		t.Errorf("%d panels", panels)
	}
	// What operators are promised they can watch (issue: "Seeing it run").
	for _, m := range []string{"waddle_router_events_total", "waddle_router_commands_total", "waddle_router_command_duration_seconds_bucket",
		"waddle_errors_total", "waddle_outbox_depth", "waddle_outbox_dropped_total", "waddle_bot_state", "waddle_job_queue_depth",
		"waddle_overlay_streams_open", "waddle_http_requests_total", "waddle_http_request_duration_seconds_bucket"} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}
