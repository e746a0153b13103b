package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `waddle import` prints the preview, applies with --apply in this process,
// and refuses bad input with the file and the line.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "setup") // creates the "demo" community
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	export := write("general.abcomg", browserStreamlabsExport)
	sheet := currencySheet(t, dir, [][]any{{"Zed", "Egg", 99, 1}})

	out := mustRunWaddle(t, vars, "import", "--community", "demo", "--source", "streamlabs", export, sheet)
	if !strings.Contains(out, "nothing written yet") || !strings.Contains(out, "needs attention: !weather") || !strings.Contains(out, "1 pending") {
		t.Errorf("preview:\n%s", out)
	}
	a := openTestApp(t, vars)
	count := func(sql string) int {
		var n int
		if err := a.pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT count(*) FROM commands WHERE import_id IS NOT NULL"); n != 0 {
		t.Fatalf("the preview wrote %d commands", n)
	}

	out = mustRunWaddle(t, vars, "import", "--community", "demo", "--source", "streamlabs", "--apply", "--conflicts", "rename", export, sheet)
	if !strings.Contains(out, "100 %") || !strings.Contains(out, "Applied: 2 commands") || !strings.Contains(out, "1 waiting for their first chat") {
		t.Errorf("apply:\n%s", out)
	}
	if n := count("SELECT count(*) FROM imports WHERE state = 'applied'"); n != 1 {
		t.Errorf("applied imports: %d", n)
	}
	if n := count("SELECT count(*) FROM pending_points WHERE login = 'zed' AND points = 99"); n != 1 {
		t.Errorf("zed's pending balance: %d", n)
	}

	bad := write("cut.abcomg", "[\n {\"Command\":\"!a\",\n  \"Response\":\"hi\"")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--community", "demo", "--source", "streamlabs", bad}, "cut.abcomg, line 3"},
		{[]string{"--community", "demo", "--source", "streamlabs", filepath.Join(dir, "missing.xlsx")}, "missing.xlsx"},
		{[]string{"--community", "nowhere", "--source", "streamlabs", export}, `no community with the short name "nowhere"`},
		{[]string{"--community", "demo", "--source", "mixitup", export}, `unknown source "mixitup"`},
		{[]string{"--community", "demo", "--source", "streamlabs"}, "name at least one file"},
		{[]string{"--community", "demo", "--source", "streamlabs", "--conflicts", "merge", export}, "--conflicts"},
	}
	for _, c := range cases {
		if _, err := runWaddle(t, vars, append([]string{"import"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("waddle import %v: %v, want %q", c.args, err, c.want)
		}
	}
}
