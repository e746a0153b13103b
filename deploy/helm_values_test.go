package deploy

import (
	"strings"
	"testing"
)

// Bad values fail the render (as `helm install` and `helm template` would)
// with an error that names the value at fault.
func TestHelmBadValues(t *testing.T) {
	cases := []struct {
		name string
		base string
		set  []string
		want string
	}{
		{"no secret at all", "", []string{"config.baseURL=https://w.example.com"},
			"secret.databaseURL is required"},
		{"no redis", "", []string{"config.baseURL=https://w.example.com", "secret.databaseURL=postgres://db/w", "secret.tokenEncryptionKey=k"},
			"secret.redisURL is required"},
		{"no key", "", []string{"config.baseURL=https://w.example.com", "secret.databaseURL=postgres://db/w", "secret.redisURL=redis://r:6379"},
			"secret.tokenEncryptionKey is required"},
		{"no base url", "", []string{"existingSecret=waddle"},
			"config.baseURL is required"},
		{"replicas 0 with a budget", "minimal-values.yaml", []string{"replicaCount=0"},
			"replicaCount is 0 while podDisruptionBudget.enabled"},
		{"budget as big as the replicas", "minimal-values.yaml", []string{"podDisruptionBudget.minAvailable=2"},
			"podDisruptionBudget.minAvailable is 2 with replicaCount 2"},
		{"replicas not a number", "minimal-values.yaml", []string{"replicaCount=two"},
			"/replicaCount"},
		{"negative replicas", "minimal-values.yaml", []string{"replicaCount=-1"},
			"/replicaCount"},
		{"no image repository", "minimal-values.yaml", []string{"image.repository="},
			"/image/repository"},
		{"image tag latest", "minimal-values.yaml", []string{"image.tag=latest"},
			"image.tag is latest"},
		{"image tag a number", "minimal-values.yaml", []string{"image.tag=2"},
			"/image/tag"},
		{"digest not sha256", "minimal-values.yaml", []string{"image.digest=md5:abc"},
			"/image/digest"},
		{"mysql url", "full-values.yaml", []string{"secret.databaseURL=mysql://db/w"},
			"/secret/databaseURL"},
		{"log level", "minimal-values.yaml", []string{"config.logLevel=verbose"},
			"/config/logLevel"},
		{"base url with a path", "minimal-values.yaml", []string{"config.baseURL=https://w.example.com/hub"},
			"/config/baseURL"},
		{"shutdown 0", "minimal-values.yaml", []string{"config.shutdownTimeoutSeconds=0"},
			"/config/shutdownTimeoutSeconds"},
		{"shutdown as a duration", "minimal-values.yaml", []string{"config.shutdownTimeoutSeconds=20s"},
			"/config/shutdownTimeoutSeconds"},
		{"metrics networks not CIDRs", "minimal-values.yaml", []string{"metrics.allowedNetworks=pods"},
			"/metrics/allowedNetworks"},
		{"no resources", "minimal-values.yaml", []string{"resources=null"},
			"resources"},
		{"no cpu request", "minimal-values.yaml", []string{"resources.requests.cpu=null"},
			"cpu"},
		{"root", "minimal-values.yaml", []string{"podSecurityContext.runAsNonRoot=false"},
			"/podSecurityContext/runAsNonRoot"},
		{"privilege escalation", "minimal-values.yaml", []string{"securityContext.allowPrivilegeEscalation=true"},
			"/securityContext/allowPrivilegeEscalation"},
		{"ingress path", "full-values.yaml", []string{"ingress.hosts[0].paths[0].path=hub"},
			"/ingress/hosts/0/paths/0/path"},
		{"token in config", "minimal-values.yaml", []string{"config.env.DISCORD_BOT_TOKEN=abc"},
			"config.env.DISCORD_BOT_TOKEN looks secret"},
		{"key in config", "minimal-values.yaml", []string{"config.env.STRIPE_SECRET_KEY=sk"},
			"config.env.STRIPE_SECRET_KEY looks secret"},
		{"database url in config", "minimal-values.yaml", []string{"config.env.DATABASE_URL=postgres://db/w"},
			"config.env.DATABASE_URL looks secret"},
		{"password in a url in config", "minimal-values.yaml", []string{"config.env.OTEL_EXPORTER_OTLP_ENDPOINT=https://u:p@otel:4318"},
			"config.env.OTEL_EXPORTER_OTLP_ENDPOINT looks secret"},
		{"lower-case variable", "minimal-values.yaml", []string{"config.env.log_level=debug"},
			"log_level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderChart(t, c.base, c.set...)
			if err == nil {
				t.Fatalf("rendered with %v; want an error naming %q", c.set, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
		})
	}
}

// The public keys platforms publish are settings, not secrets.
func TestHelmPublicKeyInConfig(t *testing.T) {
	m := mustRender(t, "minimal-values.yaml", "config.env.DISCORD_PUBLIC_KEY=ab12", "config.env.WADDLE_LICENSE_PUBLIC_KEY=cd34")
	data := m.configData(t)
	if data["DISCORD_PUBLIC_KEY"] != "ab12" || data["WADDLE_LICENSE_PUBLIC_KEY"] != "cd34" {
		t.Errorf("ConfigMap = %v, want both public keys", data)
	}
}
