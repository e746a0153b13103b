package deploy

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The installs the tests render: the least an operator sets, the chart's
// defaults with the secrets given inline, and every option on.
var installs = []struct {
	name string
	base string
	set  []string
}{
	{"existing secret", "minimal-values.yaml", nil},
	{"inline secret", "", []string{
		"config.baseURL=https://waddle.example.com",
		"secret.databaseURL=postgres://waddle:pg-pass@postgres:5432/waddle",
		"secret.redisURL=redis://redis:6379/0",
		"secret.tokenEncryptionKey=a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
	}},
	{"full", "full-values.yaml", nil},
}

func TestHelmPodSpec(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			m := mustRender(t, in.base, in.set...)
			c := m.container(t)
			pod := m.deployment.Spec.Template.Spec

			if diff := cmp.Diff([]string{"serve"}, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" {
				t.Errorf("ports = %+v, want http on 8080", c.Ports)
			}
			if got := envValue(c.Env, "LISTEN_ADDR"); got != "0.0.0.0:8080" {
				t.Errorf("LISTEN_ADDR = %q, want 0.0.0.0:8080", got)
			}
			checkProbe(t, "readiness", c.ReadinessProbe, c.Ports, "/readyz")
			checkProbe(t, "liveness", c.LivenessProbe, c.Ports, "/healthz")
			checkProbe(t, "startup", c.StartupProbe, c.Ports, "/healthz")
			if p := c.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 120 {
				t.Errorf("startup probe gives %d s, want at least 120 s for migrations", p.PeriodSeconds*p.FailureThreshold)
			}

			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Errorf("pod securityContext.runAsNonRoot is not true: %+v", psc)
			} else {
				for name, id := range map[string]*int64{"runAsUser": psc.RunAsUser, "runAsGroup": psc.RunAsGroup, "fsGroup": psc.FSGroup} {
					if id == nil || *id != 65532 {
						t.Errorf("pod securityContext.%s = %v, want 65532", name, id)
					}
				}
				if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("pod seccompProfile = %+v, want RuntimeDefault", psc.SeccompProfile)
				}
			}
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Error("container securityContext missing")
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Error("container readOnlyRootFilesystem is not true")
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Error("container allowPrivilegeEscalation is not false")
			case sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
				t.Errorf("container capabilities = %+v, want drop ALL and add none", sc.Capabilities)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("pod automountServiceAccountToken is not false")
			}
			if sa := m.serviceAccount; sa == nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Error("ServiceAccount missing or mounts its token")
			} else if sa.Name != pod.ServiceAccountName {
				t.Errorf("pod runs as %q, chart makes ServiceAccount %q", pod.ServiceAccountName, sa.Name)
			}

			checkTmp(t, pod, c)

			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					t.Errorf("no %s request", r)
				}
			}
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.Cmp(c.Resources.Requests[corev1.ResourceMemory]) < 0 {
				t.Errorf("memory limit %v missing or below the request", q.String())
			}

			ann := m.deployment.Spec.Template.Annotations
			for k, want := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"} {
				if ann[k] != want {
					t.Errorf("pod annotation %s = %q, want %q", k, ann[k], want)
				}
			}
			if ann["checksum/config"] == "" {
				t.Error("no checksum/config annotation: a changed setting would not roll the pods")
			}

			shutdown, err := time.ParseDuration(m.configData(t)["SHUTDOWN_TIMEOUT"])
			if err != nil {
				t.Fatalf("SHUTDOWN_TIMEOUT: %v", err)
			}
			grace := pod.TerminationGracePeriodSeconds
			var preStop time.Duration
			if h := c.Lifecycle; h != nil && h.PreStop != nil && h.PreStop.Sleep != nil {
				preStop = time.Duration(h.PreStop.Sleep.Seconds) * time.Second
			}
			if grace == nil || time.Duration(*grace)*time.Second <= preStop+shutdown {
				t.Errorf("terminationGracePeriodSeconds = %v, want above preStop %s + SHUTDOWN_TIMEOUT %s", grace, preStop, shutdown)
			}
		})
	}
}

func TestHelmSettingsSplit(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			m := mustRender(t, in.base, in.set...)
			data := m.configData(t)
			for k, v := range data {
				if looksSecret(k, v) {
					t.Errorf("ConfigMap holds %s=%q, which looks secret", k, v)
				}
			}
			if _, err := url.Parse(data["BASE_URL"]); err != nil || !strings.HasPrefix(data["BASE_URL"], "https://") {
				t.Errorf("BASE_URL = %q, want the https origin", data["BASE_URL"])
			}
			if data["METRICS_ALLOWED_NETWORKS"] == "" {
				t.Error("no METRICS_ALLOWED_NETWORKS: Prometheus in the cluster could not scrape /metrics")
			}

			c := m.container(t)
			var cmName, secretName string
			for _, e := range c.EnvFrom {
				switch {
				case e.ConfigMapRef != nil:
					cmName = e.ConfigMapRef.Name
				case e.SecretRef != nil:
					secretName = e.SecretRef.Name
				}
			}
			if cmName != m.configMaps[0].Name {
				t.Errorf("envFrom ConfigMap %q, chart makes %q", cmName, m.configMaps[0].Name)
			}
			if in.base == "minimal-values.yaml" {
				if len(m.secrets) != 0 || secretName != "waddle" {
					t.Errorf("with existingSecret: %d Secrets made, envFrom %q; want none made and envFrom waddle", len(m.secrets), secretName)
				}
				return
			}
			if len(m.secrets) != 1 || m.secrets[0].Name != secretName {
				t.Fatalf("envFrom Secret %q, chart makes %d Secrets", secretName, len(m.secrets))
			}
			if m.deployment.Spec.Template.Annotations["checksum/secret"] == "" {
				t.Error("no checksum/secret annotation: a changed secret would not roll the pods")
			}
			sec := m.secrets[0].Data
			for _, k := range []string{"DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEY"} {
				if len(sec[k]) == 0 {
					t.Errorf("Secret has no %s", k)
				}
				if _, inCM := data[k]; inCM {
					t.Errorf("%s is in the ConfigMap too", k)
				}
			}
			if in.base == "full-values.yaml" {
				want := readValues(t, in.base)["secret"].(map[string]any)
				if got := string(sec["SMTP_URL"]); got != want["smtpURL"] {
					t.Errorf("Secret SMTP_URL = %q, want %q", got, want["smtpURL"])
				}
				for k, v := range want["env"].(map[string]any) {
					if got := string(sec[k]); got != v {
						t.Errorf("Secret %s = %q, want %q", k, got, v)
					}
				}
			}
		})
	}
}

// looksSecret says whether a setting must not sit in a ConfigMap.
func looksSecret(k, v string) bool {
	name := regexp.MustCompile(`KEY|SECRET|PASSW|TOKEN|PRIVATE`).MatchString(k) && !strings.HasSuffix(k, "PUBLIC_KEY")
	if name || k == "DATABASE_URL" || k == "DATABASE_READ_URL" || k == "REDIS_URL" || k == "SMTP_URL" {
		return true
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return false
	}
	_, hasPassword := u.User.Password()
	return hasPassword
}

func TestHelmLooksSecret(t *testing.T) {
	cases := []struct {
		k, v string
		want bool
	}{
		{"BASE_URL", "https://waddle.example.com", false},
		{"DISCORD_PUBLIC_KEY", "ab12", false},
		{"TOKEN_ENCRYPTION_KEY", "x", true},
		{"SLACK_SIGNING_SECRET", "x", true},
		{"DATABASE_URL", "postgres://db/waddle", true},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pw@otel:4318", true},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel:4318", false},
	}
	for _, c := range cases {
		if got := looksSecret(c.k, c.v); got != c.want {
			t.Errorf("looksSecret(%s, %s) = %v, want %v", c.k, c.v, got, c.want)
		}
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkProbe wants an HTTP GET of path on the container's port 8080.
func checkProbe(t *testing.T, kind string, p *corev1.Probe, ports []corev1.ContainerPort, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: not an HTTP GET: %+v", kind, p)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe path = %q, want %q", kind, p.HTTPGet.Path, path)
	}
	port := p.HTTPGet.Port
	if port.Type == intstr.String {
		for _, cp := range ports {
			if cp.Name == port.StrVal {
				port = intstr.FromInt32(cp.ContainerPort)
			}
		}
	}
	if port.IntValue() != 8080 {
		t.Errorf("%s probe port %s, want 8080", kind, p.HTTPGet.Port.String())
	}
}

// checkTmp wants /tmp writable on an emptyDir, since the root is read-only.
func checkTmp(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	var vol string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/tmp" && !vm.ReadOnly {
			vol = vm.Name
		}
	}
	for _, v := range pod.Volumes {
		if v.Name == vol && v.EmptyDir != nil {
			return
		}
	}
	t.Errorf("no writable emptyDir at /tmp: mounts %+v, volumes %+v", c.VolumeMounts, pod.Volumes)
}

func TestHelmServiceAndBudget(t *testing.T) {
	cases := []struct {
		name     string
		set      []string
		replicas int32
		wantPDB  bool
	}{
		{"default", nil, 2, true},
		{"three", []string{"replicaCount=3"}, 3, true},
		{"one", []string{"replicaCount=1"}, 1, false},
		{"budget off", []string{"podDisruptionBudget.enabled=false"}, 2, false},
		{"scaled to zero", []string{"replicaCount=0", "podDisruptionBudget.enabled=false"}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustRender(t, "minimal-values.yaml", c.set...)
			if got := m.deployment.Spec.Replicas; got == nil || *got != c.replicas {
				t.Errorf("replicas = %v, want %d", got, c.replicas)
			}
			podLabels := m.deployment.Spec.Template.Labels
			if len(m.pdbs) != map[bool]int{true: 1, false: 0}[c.wantPDB] {
				t.Fatalf("%d PodDisruptionBudgets, want present=%v", len(m.pdbs), c.wantPDB)
			}
			if c.wantPDB {
				pdb := m.pdbs[0].Spec
				if pdb.MinAvailable == nil || pdb.MinAvailable.IntValue() != 1 {
					t.Errorf("PDB minAvailable = %v, want 1", pdb.MinAvailable)
				}
				if !selects(pdb.Selector.MatchLabels, podLabels) {
					t.Errorf("PDB selector %v does not select pods %v", pdb.Selector.MatchLabels, podLabels)
				}
			}
			if len(m.services) != 1 {
				t.Fatalf("%d Services, want 1", len(m.services))
			}
			svc := m.services[0].Spec
			if svc.Type != corev1.ServiceTypeClusterIP || len(svc.Ports) != 1 || svc.Ports[0].TargetPort.String() != "http" {
				t.Errorf("Service = %+v, want ClusterIP to the http port", svc)
			}
			if !selects(svc.Selector, podLabels) {
				t.Errorf("Service selector %v does not select pods %v", svc.Selector, podLabels)
			}
			if len(m.ingresses) != 0 {
				t.Error("an Ingress by default; want it off")
			}
			if !strings.Contains(m.notes, "rollout status deployment/"+m.deployment.Name) {
				t.Errorf("NOTES.txt does not name the Deployment:\n%s", m.notes)
			}
		})
	}
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func TestHelmIngress(t *testing.T) {
	m := mustRender(t, "full-values.yaml")
	if len(m.ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(m.ingresses))
	}
	ing := m.ingresses[0]
	for k, want := range map[string]string{
		"nginx.ingress.kubernetes.io/proxy-buffering":    "off",
		"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
		"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
		"cert-manager.io/cluster-issuer":                 "letsencrypt",
	} {
		if got := ing.Annotations[k]; got != want {
			t.Errorf("Ingress annotation %s = %q, want %q", k, got, want)
		}
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "waddle-tls" || !cmp.Equal(ing.Spec.TLS[0].Hosts, []string{"waddle.example.com"}) {
		t.Errorf("Ingress TLS = %+v", ing.Spec.TLS)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].HTTP == nil || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress rules = %+v", ing.Spec.Rules)
	}
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if backend == nil || backend.Name != m.services[0].Name || backend.Port.Name != "http" {
		t.Errorf("Ingress backend = %+v, want Service %s port http", backend, m.services[0].Name)
	}

	// Without config.baseURL, BASE_URL comes from the TLS host.
	if got := m.configData(t)["BASE_URL"]; got != "https://waddle.example.com" {
		t.Errorf("BASE_URL = %q, want https://waddle.example.com", got)
	}
	plain := mustRender(t, "full-values.yaml", "ingress.tls=null", "ingress.nginxAnnotations=false")
	if got := plain.configData(t)["BASE_URL"]; got != "http://waddle.example.com" {
		t.Errorf("without TLS, BASE_URL = %q, want http://waddle.example.com", got)
	}
	if _, ok := plain.ingresses[0].Annotations["nginx.ingress.kubernetes.io/proxy-buffering"]; ok {
		t.Error("nginxAnnotations=false still sets the nginx annotations")
	}
}

// A changed setting changes the pod template, so the pods roll.
func TestHelmChecksumRolls(t *testing.T) {
	base := mustRender(t, "full-values.yaml").deployment.Spec.Template.Annotations
	cfg := mustRender(t, "full-values.yaml", "config.logLevel=warn").deployment.Spec.Template.Annotations
	sec := mustRender(t, "full-values.yaml", "secret.redisURL=redis://other:6379/0").deployment.Spec.Template.Annotations
	if cfg["checksum/config"] == base["checksum/config"] {
		t.Error("checksum/config unchanged by a new LOG_LEVEL")
	}
	if sec["checksum/secret"] == base["checksum/secret"] || sec["checksum/config"] != base["checksum/config"] {
		t.Error("a new REDIS_URL must change checksum/secret alone")
	}
}

// The ServiceMonitor needs the Prometheus Operator's CRDs, so it is opt-in.
func TestHelmServiceMonitor(t *testing.T) {
	for base, want := range map[string]int{"minimal-values.yaml": 0, "full-values.yaml": 1} {
		n := 0
		for _, k := range mustRender(t, base).kinds {
			if k == "ServiceMonitor" {
				n++
			}
		}
		if n != want {
			t.Errorf("%s: %d ServiceMonitors, want %d", base, n, want)
		}
	}
}
