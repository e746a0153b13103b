package deploy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// waddleServices are the instances compose.yaml runs, and waddlePort the
// port they listen on inside the network.
var waddleServices = []string{"waddle-1", "waddle-2"}

const waddlePort = "8080"

// operatorEnv writes the operator's waddle.env: the example with the
// required values filled in as README says, then set (a value of "" clears
// the variable). It returns the file's path and the values it filled in.
func operatorEnv(t *testing.T, set map[string]string) (string, map[string]string) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	pw := make([]byte, 32)
	rand.Read(pw)
	filled := map[string]string{
		"TOKEN_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key), // openssl rand -base64 32
		"POSTGRES_PASSWORD":    hex.EncodeToString(pw),                 // openssl rand -hex 32
		"WADDLE_DOMAIN":        "hub.waddle.test",
	}
	for k, v := range set {
		filled[k] = v
	}
	example, err := os.ReadFile("waddle.env.example")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(example)))
	for sc.Scan() {
		line := sc.Text()
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if v, fill := filled[k]; fill {
				line, seen[k] = k+"="+v, true
			}
		}
		out.WriteString(line + "\n")
	}
	for k, v := range filled {
		if !seen[k] {
			t.Fatalf("waddle.env.example has no %s= line to fill in with %q", k, v)
		}
	}
	path := filepath.Join(t.TempDir(), "waddle.env")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, filled
}

// loadCompose loads compose.yaml as `docker compose --env-file envFile -f
// deploy/compose.yaml` does, without the caller's environment, and resolves
// each service's environment with envFile as its waddle.env.
func loadCompose(t *testing.T, envFile string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."),
		cli.WithEnvFiles(envFile), cli.WithDotEnv,
		cli.WithoutEnvironmentResolution) // the operator's waddle.env is envFile, not deploy/waddle.env
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		return nil, err
	}
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range p.Services {
		for i, f := range s.EnvFiles {
			if f.Path != filepath.Join(wd, "waddle.env") {
				t.Errorf("%s: env_file %s, want waddle.env beside compose.yaml", name, f.Path)
			}
			s.EnvFiles[i].Path = envFile
		}
		p.Services[name] = s
	}
	return p.WithServicesEnvironmentResolved(true)
}

func mustLoad(t *testing.T) (*types.Project, map[string]string) {
	t.Helper()
	env, filled := operatorEnv(t, nil)
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("load compose.yaml with the example settings filled in: %v", err)
	}
	return p, filled
}

// env is a service's resolved environment.
func env(t *testing.T, s types.ServiceConfig) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			t.Errorf("%s: %s has no value", s.Name, k)
			continue
		}
		out[k] = *v
	}
	return out
}

func TestComposeServices(t *testing.T) {
	p, _ := mustLoad(t)
	want := append([]string{"caddy", "postgres", "redis"}, waddleServices...)
	slices.Sort(want)
	if got := p.ServiceNames(); !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for _, s := range p.Services {
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want unless-stopped", s.Name, s.Restart)
		}
		// No shell in the waddle image, and none needed elsewhere: the exec
		// form runs the program itself.
		if hc := s.HealthCheck; hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
			t.Errorf("%s: no health check in the CMD form", s.Name)
		}
	}
}

func TestComposeHealthChecks(t *testing.T) {
	p, _ := mustLoad(t)
	want := map[string][]string{
		"waddle-1": {"CMD", "/waddle", "healthcheck"},
		"waddle-2": {"CMD", "/waddle", "healthcheck"},
		"postgres": {"CMD", "pg_isready", "--username=waddle", "--dbname=waddle"},
		"redis":    {"CMD", "redis-cli", "ping"},
	}
	for name, test := range want {
		if got := p.Services[name].HealthCheck.Test; !slices.Equal(got, test) {
			t.Errorf("%s: health check %q, want %q", name, got, test)
		}
	}
}

func TestComposeWaddleInstances(t *testing.T) {
	p, filled := mustLoad(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range waddleServices {
		s := p.Services[name]
		if s.Image != "waddle:latest" {
			t.Errorf("%s: image %q, want waddle:latest from WADDLE_IMAGE and WADDLE_VERSION", name, s.Image)
		}
		if s.Build == nil || s.Build.Context != root || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: build %+v, want the repository's Dockerfile", name, s.Build)
		}
		for _, dep := range []string{"postgres", "redis"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s %+v, want condition service_healthy", name, dep, d)
			}
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s: publishes %v; only Caddy may be reached from outside", name, s.Ports)
		}
		if !s.ReadOnly || !slices.Equal(s.Tmpfs, []string{"/tmp"}) {
			t.Errorf("%s: read_only %t, tmpfs %v; want a read-only root with /tmp in memory", name, s.ReadOnly, s.Tmpfs)
		}
		if !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: cap_drop %v, security_opt %v; want ALL dropped and no-new-privileges", name, s.CapDrop, s.SecurityOpt)
		}

		e := env(t, s)
		db, err := url.Parse(e["DATABASE_URL"])
		if err != nil {
			t.Fatalf("%s: DATABASE_URL: %v", name, err)
		}
		pw, _ := db.User.Password()
		pg := env(t, p.Services["postgres"])
		if db.Host != "postgres:5432" || db.User.Username() != pg["POSTGRES_USER"] || pw != filled["POSTGRES_PASSWORD"] ||
			pg["POSTGRES_PASSWORD"] != pw || db.Path != "/"+pg["POSTGRES_DB"] {
			t.Errorf("%s: DATABASE_URL %s does not reach the postgres service as its user %q, database %q", name, db.Redacted(), pg["POSTGRES_USER"], pg["POSTGRES_DB"])
		}
		if e["REDIS_URL"] != "redis://redis:6379/0" {
			t.Errorf("%s: REDIS_URL %q, want the redis service", name, e["REDIS_URL"])
		}
		if want := "https://" + filled["WADDLE_DOMAIN"]; e["BASE_URL"] != want {
			t.Errorf("%s: BASE_URL %q, want %q", name, e["BASE_URL"], want)
		}
		if e["LISTEN_ADDR"] != "0.0.0.0:"+waddlePort {
			t.Errorf("%s: LISTEN_ADDR %q: Caddy reaches it on port %s of the network", name, e["LISTEN_ADDR"], waddlePort)
		}
		if e["TOKEN_ENCRYPTION_KEY"] != filled["TOKEN_ENCRYPTION_KEY"] {
			t.Errorf("%s: TOKEN_ENCRYPTION_KEY is not the one from waddle.env", name)
		}
		subnet := networkSubnet(t, p)
		if e["TRUSTED_PROXIES"] != subnet.String() {
			t.Errorf("%s: TRUSTED_PROXIES %q, want the network %s that Caddy is on", name, e["TRUSTED_PROXIES"], subnet)
		}
		if !strings.Contains(","+e["METRICS_ALLOWED_NETWORKS"]+",", ","+subnet.String()+",") {
			t.Errorf("%s: METRICS_ALLOWED_NETWORKS %q leaves out the network %s Prometheus scrapes from", name, e["METRICS_ALLOWED_NETWORKS"], subnet)
		}
		// waddle.env reaches the container too: settings it does not override.
		if e["LOG_FORMAT"] != "json" || e["SHUTDOWN_TIMEOUT"] == "" {
			t.Errorf("%s: LOG_FORMAT %q, SHUTDOWN_TIMEOUT %q: waddle.env is not its env_file", name, e["LOG_FORMAT"], e["SHUTDOWN_TIMEOUT"])
		}
		// Docker kills the container after stop_grace_period: waddle must have
		// finished its requests (SHUTDOWN_TIMEOUT) and cancelled jobs (5s) by then.
		shutdown, err := time.ParseDuration(e["SHUTDOWN_TIMEOUT"])
		if err != nil {
			t.Fatalf("%s: SHUTDOWN_TIMEOUT: %v", name, err)
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= shutdown+5*time.Second {
			t.Errorf("%s: stop_grace_period %v is not longer than SHUTDOWN_TIMEOUT %v plus 5s", name, s.StopGracePeriod, shutdown)
		}
		if hc := s.HealthCheck; hc.StartPeriod == nil || time.Duration(*hc.StartPeriod) < 30*time.Second {
			t.Errorf("%s: health check start_period %v: the first start migrates the schema first", name, hc.StartPeriod)
		}
	}
}

// networkSubnet is the range of the project's default network.
func networkSubnet(t *testing.T, p *types.Project) netip.Prefix {
	t.Helper()
	n, ok := p.Networks["default"]
	if !ok || len(n.Ipam.Config) != 1 {
		t.Fatalf("default network %+v: want one fixed subnet, for TRUSTED_PROXIES", n)
	}
	pr, err := netip.ParsePrefix(n.Ipam.Config[0].Subnet)
	if err != nil {
		t.Fatalf("default network subnet: %v", err)
	}
	return pr
}

func TestComposeOnlyCaddyIsPublished(t *testing.T) {
	p, _ := mustLoad(t)
	for _, s := range p.Services {
		if s.Name != "caddy" && len(s.Ports) > 0 {
			t.Errorf("%s publishes %v; only caddy may", s.Name, s.Ports)
		}
	}
	var got []string
	for _, port := range p.Services["caddy"].Ports {
		got = append(got, fmt.Sprintf("%s->%d/%s", port.Published, port.Target, port.Protocol))
	}
	want := []string{"80->80/tcp", "443->443/tcp", "443->443/udp"}
	if !slices.Equal(got, want) {
		t.Errorf("caddy publishes %v, want %v", got, want)
	}
	if d := env(t, p.Services["caddy"])["WADDLE_DOMAIN"]; d != "hub.waddle.test" {
		t.Errorf("caddy: WADDLE_DOMAIN %q: the Caddyfile's site address comes from it", d)
	}
}

func TestComposeVolumes(t *testing.T) {
	p, _ := mustLoad(t)
	caddyfile, err := filepath.Abs("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	type mount struct {
		typ, source, target string
		readOnly            bool
	}
	want := map[string][]mount{
		"postgres": {{types.VolumeTypeVolume, "postgres-data", "/var/lib/postgresql/data", false}},
		"caddy": {
			{types.VolumeTypeBind, caddyfile, "/etc/caddy/Caddyfile", true},
			{types.VolumeTypeVolume, "caddy-data", "/data", false},
			{types.VolumeTypeVolume, "caddy-config", "/config", false},
		},
	}
	for _, s := range p.Services {
		var got []mount
		for _, v := range s.Volumes {
			got = append(got, mount{v.Type, v.Source, v.Target, v.ReadOnly})
		}
		if !slices.Equal(got, want[s.Name]) {
			t.Errorf("%s: volumes %+v, want %+v", s.Name, got, want[s.Name])
		}
	}
	for _, name := range []string{"postgres-data", "caddy-data", "caddy-config"} {
		if v, ok := p.Volumes[name]; !ok || bool(v.External) {
			t.Errorf("volume %s is not declared by the project", name)
		}
	}
	if _, err := os.Stat(caddyfile); err != nil {
		t.Errorf("caddy mounts %s: %v", caddyfile, err)
	}
}

func TestComposeRequiredSettings(t *testing.T) {
	for _, name := range []string{"WADDLE_DOMAIN", "POSTGRES_PASSWORD", "TOKEN_ENCRYPTION_KEY"} {
		t.Run(name, func(t *testing.T) {
			envFile, _ := operatorEnv(t, map[string]string{name: ""})
			_, err := loadCompose(t, envFile)
			if err == nil || !strings.Contains(err.Error(), "set "+name+" in waddle.env") {
				t.Fatalf("load with %s empty: %v, want an error telling the operator to set it", name, err)
			}
		})
	}
}

func TestComposeWithoutEnvFile(t *testing.T) {
	// `docker compose up` without --env-file: the required values are missing.
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."))
	if err != nil {
		t.Fatal(err)
	}
	_, err = opts.LoadProject(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--env-file") {
		t.Fatalf("load without an env file: %v, want an error naming --env-file", err)
	}
}

func TestComposeVersionAndImage(t *testing.T) {
	envFile, _ := operatorEnv(t, map[string]string{"WADDLE_IMAGE": "registry.example.com/waddle", "WADDLE_VERSION": "1.4.0"})
	p, err := loadCompose(t, envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range waddleServices {
		if got := p.Services[name].Image; got != "registry.example.com/waddle:1.4.0" {
			t.Errorf("%s: image %q, want registry.example.com/waddle:1.4.0", name, got)
		}
	}
}

// exampleLine matches a setting of waddle.env.example, commented out or not.
var exampleLine = regexp.MustCompile(`^(# )?([A-Z][A-Z0-9_]*)=(.*)$`)

func TestEnvExampleHasNoSecrets(t *testing.T) {
	b, err := os.ReadFile("waddle.env.example")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		m := exampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seen[m[2]]++
		if m[1] == "" && strings.ContainsAny(m[3], " <>") && !strings.HasPrefix(m[3], `"`) {
			t.Errorf("line %d: %s: quote a value with spaces or <>", i+1, m[2])
		}
		secret := strings.Contains(m[2], "SECRET") || strings.Contains(m[2], "PASSWORD") ||
			strings.HasSuffix(m[2], "_TOKEN") || m[2] == "TOKEN_ENCRYPTION_KEY" || m[2] == "WADDLE_LICENSE_KEY"
		if secret && m[3] != "" {
			t.Errorf("line %d: %s has a value; the example holds no secret", i+1, m[2])
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s appears %d times", k, n)
		}
	}
}
