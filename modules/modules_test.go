package modules_test

import (
	"slices"
	"testing"

	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/router"
)

// TestDeclarations: the marketplace lists built-ins from their declarations,
// so each has a unique name, a usage, a known permission and known services.
func TestDeclarations(t *testing.T) {
	want := []string{"help", "points", "leaderboard", "quote", "so", "give", "commands", "alias", "counter"}
	var names []string
	for _, m := range modules.All() {
		d := m.Declaration()
		names = append(names, d.Name)
		if d.Usage == "" {
			t.Errorf("%s has no usage", d.Name)
		}
		if !slices.Contains(router.Permissions, d.Permission) {
			t.Errorf("%s has permission %q, want one of %v", d.Name, d.Permission, router.Permissions)
		}
		if len(d.Uses) == 0 {
			t.Errorf("%s declares no service", d.Name)
		}
		for _, s := range d.Uses {
			if !slices.Contains(router.Services, s) {
				t.Errorf("%s uses unknown service %q", d.Name, s)
			}
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("modules %v, want %v", names, want)
	}
}
