package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/waddle/waddle/secret"
)

// The operator's files for one host (deploy/): these tests run the real
// loadConfig on the environment deploy/compose.yaml gives each waddle
// instance, with deploy/waddle.env.example filled in as README says.

const deployDir = "../../deploy"

var deployInstances = []string{"waddle-1", "waddle-2"}

// composeOnly are settings of waddle.env.example that compose.yaml reads
// (for its own ${...} values), not waddle.
var composeOnly = []string{"WADDLE_DOMAIN", "POSTGRES_PASSWORD", "WADDLE_IMAGE", "WADDLE_VERSION", "WADDLE_SUBNET"}

// exampleSetting matches a setting of waddle.env.example, commented out or not.
var exampleSetting = regexp.MustCompile(`^(# )?([A-Z][A-Z0-9_]*)=`)

// filledExample is waddle.env.example with the three required values set, as
// an operator writes deploy/waddle.env.
func filledExample(t *testing.T) (path string, filled map[string]string) {
	t.Helper()
	key, pw := make([]byte, 32), make([]byte, 32)
	rand.Read(key)
	rand.Read(pw)
	filled = map[string]string{
		"WADDLE_DOMAIN":        "hub.waddle.test",
		"POSTGRES_PASSWORD":    hex.EncodeToString(pw),
		"TOKEN_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key),
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "waddle.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for sc := bufio.NewScanner(strings.NewReader(string(b))); sc.Scan(); {
		line := sc.Text()
		if k, _, ok := strings.Cut(line, "="); ok && filled[k] != "" {
			line = k + "=" + filled[k]
		}
		out.WriteString(line + "\n")
	}
	path = filepath.Join(t.TempDir(), "waddle.env")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, filled
}

// deployEnv is each waddle instance's environment in deploy/compose.yaml,
// loaded as `docker compose --env-file waddle.env` does.
func deployEnv(t *testing.T) (map[string]map[string]string, map[string]string) {
	t.Helper()
	envFile, filled := filledExample(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(deployDir, "compose.yaml")},
		cli.WithWorkingDirectory(deployDir), cli.WithEnvFiles(envFile), cli.WithDotEnv, cli.WithoutEnvironmentResolution)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load deploy/compose.yaml: %v", err)
	}
	for name, s := range p.Services {
		for i := range s.EnvFiles {
			s.EnvFiles[i].Path = envFile // the operator's copy of the example
		}
		p.Services[name] = s
	}
	if p, err = p.WithServicesEnvironmentResolved(true); err != nil {
		t.Fatalf("resolve the services' environment: %v", err)
	}
	out := map[string]map[string]string{}
	for _, name := range deployInstances {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("deploy/compose.yaml has no service %s", name)
		}
		out[name] = map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				out[name][k] = *v
			}
		}
	}
	return out, filled
}

func TestDeployEnvLoads(t *testing.T) {
	envs, filled := deployEnv(t)
	for name, env := range envs {
		cfg, err := loadConfig(configEnv(env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := "https://" + filled["WADDLE_DOMAIN"]; cfg.BaseURL != want || !publicHTTPS(cfg.BaseURL) {
			t.Errorf("%s: BASE_URL %q, want %q (public https: Twitch webhooks reach it)", name, cfg.BaseURL, want)
		}
		if cfg.RedisURL == "" || len(cfg.TrustedProxies) == 0 || cfg.LogFormat != "json" {
			t.Errorf("%s: REDIS_URL %q, TRUSTED_PROXIES %v, LOG_FORMAT %q: want Redis, Caddy trusted and JSON logs", name, cfg.RedisURL, cfg.TrustedProxies, cfg.LogFormat)
		}
		// The key seals tokens: an empty or malformed one would start a hub
		// that cannot store a platform connection.
		box, err := secret.New(cfg.TokenKey)
		if err != nil {
			t.Fatalf("%s: TOKEN_ENCRYPTION_KEY: %v", name, err)
		}
		if _, err := box.Seal([]byte("token")); err != nil {
			t.Errorf("%s: seal with TOKEN_ENCRYPTION_KEY: %v", name, err)
		}
	}
}

func TestDeployEnvMissingVariable(t *testing.T) {
	envs, _ := deployEnv(t)
	env := envs[deployInstances[0]]
	if _, err := loadConfig(configEnv(env)); err != nil {
		t.Fatalf("the whole environment: %v", err)
	}
	var required []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		without := map[string]string{}
		for k2, v := range env {
			if k2 != k {
				without[k2] = v
			}
		}
		_, err := loadConfig(configEnv(without))
		if err == nil {
			continue
		}
		required = append(required, k)
		var ce *configError
		if !errors.As(err, &ce) || ce.Var != k {
			t.Errorf("without %s: %v, want an error naming %s", k, err, k)
		}
	}
	// What config.go requires, found by removing each variable in turn.
	if !slices.Contains(required, "DATABASE_URL") {
		t.Errorf("required variables %v: loadConfig accepted the environment without DATABASE_URL", required)
	}
}

func TestDeployEnvExampleNamesRealSettings(t *testing.T) {
	envs, _ := deployEnv(t)
	read := map[string]bool{}
	if _, err := loadConfig(func(k string) string { read[k] = true; return envs[deployInstances[0]][k] }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "waddle.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		m := exampleSetting.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		documented[m[2]] = true
		if !read[m[2]] && !slices.Contains(composeOnly, m[2]) {
			t.Errorf("waddle.env.example sets %s, which waddle does not read", m[2])
		}
	}
	// Every setting waddle reads is in the example, set by compose.yaml, or
	// an endpoint for tests and mirrors.
	endpoint := regexp.MustCompile(`_(API|AUTH|WS|GATEWAY)_URL$|^TWITCH_IRC_ADDR$`)
	for k := range read {
		_, fromCompose := envs[deployInstances[0]][k]
		if !documented[k] && !endpoint.MatchString(k) && !fromCompose {
			t.Errorf("waddle reads %s, which waddle.env.example does not mention", k)
		}
	}
}
