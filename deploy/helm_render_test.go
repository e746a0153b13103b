package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/waddle"

// manifests is one rendering of the chart, decoded into the API types.
type manifests struct {
	notes          string
	deployment     *appsv1.Deployment
	configMaps     []corev1.ConfigMap
	secrets        []corev1.Secret
	services       []corev1.Service
	ingresses      []networkingv1.Ingress
	pdbs           []policyv1.PodDisruptionBudget
	serviceAccount *corev1.ServiceAccount
	kinds          []string
}

// readValues reads a values file of the chart's ci directory.
func readValues(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(b, &vals); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return vals
}

// renderChart renders the chart as `helm install` would (schema check,
// then templates) with the ci values file base (none when empty) and
// --set style overrides on top.
func renderChart(t *testing.T, base string, set ...string) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	vals := map[string]any{}
	if base != "" {
		vals = readValues(t, base)
	}
	for _, s := range set {
		if err := strvals.ParseInto(s, vals); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	opts := common.ReleaseOptions{Name: "w", Namespace: "bots", Revision: 1, IsInstall: true}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, nil, false)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, top)
}

// mustRender renders and decodes the chart, failing the test on any error.
func mustRender(t *testing.T, base string, set ...string) manifests {
	t.Helper()
	files, err := renderChart(t, base, set...)
	if err != nil {
		t.Fatalf("render with %s %v: %v", base, set, err)
	}
	return decode(t, files)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decode turns rendered files into typed objects; a document of a kind the
// chart does not make, or a field the type does not know, fails the test.
func decode(t *testing.T, files map[string]string) manifests {
	t.Helper()
	var m manifests
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			m.notes = files[name]
			continue
		}
		for _, doc := range docSep.Split(files[name], -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := m.add([]byte(doc)); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
		}
	}
	return m
}

func (m *manifests) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	if tm.Kind == "" {
		return nil // a template that rendered only comments
	}
	m.kinds = append(m.kinds, tm.Kind)
	strict := func(v any) error { return yaml.UnmarshalStrict(doc, v) }
	switch tm.Kind {
	case "Deployment":
		if m.deployment != nil {
			return fmt.Errorf("a second Deployment")
		}
		m.deployment = &appsv1.Deployment{}
		return strict(m.deployment)
	case "ConfigMap":
		var v corev1.ConfigMap
		m.configMaps = append(m.configMaps, v)
		return strict(&m.configMaps[len(m.configMaps)-1])
	case "Secret":
		var v corev1.Secret
		m.secrets = append(m.secrets, v)
		return strict(&m.secrets[len(m.secrets)-1])
	case "Service":
		var v corev1.Service
		m.services = append(m.services, v)
		return strict(&m.services[len(m.services)-1])
	case "Ingress":
		var v networkingv1.Ingress
		m.ingresses = append(m.ingresses, v)
		return strict(&m.ingresses[len(m.ingresses)-1])
	case "PodDisruptionBudget":
		var v policyv1.PodDisruptionBudget
		m.pdbs = append(m.pdbs, v)
		return strict(&m.pdbs[len(m.pdbs)-1])
	case "ServiceAccount":
		m.serviceAccount = &corev1.ServiceAccount{}
		return strict(m.serviceAccount)
	case "ServiceMonitor":
		return nil // a CRD of the Prometheus Operator: no Go type here
	}
	return fmt.Errorf("unexpected kind %q", tm.Kind)
}

// container is the Deployment's one container.
func (m manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	if m.deployment == nil {
		t.Fatal("no Deployment rendered")
	}
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0]
}

// configData is the data of the one ConfigMap.
func (m manifests) configData(t *testing.T) map[string]string {
	t.Helper()
	if len(m.configMaps) != 1 {
		t.Fatalf("%d ConfigMaps, want 1", len(m.configMaps))
	}
	return m.configMaps[0].Data
}
