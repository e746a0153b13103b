package workflow

// Render renders {{ path.to.value | filter }} against scope; it returns the
// paths that were missing. (Placeholder until the renderer lands.)
func Render(tmpl string, scope map[string]any) (string, []string) { return tmpl, nil }

// TemplatePaths lists the paths a template reads, or says why it does not parse.
func TemplatePaths(tmpl string) ([]string, error) { return nil, nil }
