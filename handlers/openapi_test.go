package handlers

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The API description served at /api/v1/openapi.yaml parses as strict YAML
// (a repeated key, as an unquoted comma in a flow-style description makes,
// is an error), and every operation says what it does and what it answers.
func TestOpenAPIDescriptionIsWellFormed(t *testing.T) {
	var spec struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &spec); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.") || len(spec.Paths) < 30 {
		t.Fatalf("openapi %q with %d paths", spec.OpenAPI, len(spec.Paths))
	}
	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true}
	for path, item := range spec.Paths {
		for method, v := range item {
			op, _ := v.(map[string]any)
			if !methods[method] {
				continue
			}
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s %s: no summary", method, path)
			}
			if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
		}
	}
}
