package compat_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/db/compat"
)

// migrationNumber reads NNNNN of NNNNN_name.sql.
func migrationNumber(t *testing.T, name string) int {
	t.Helper()
	prefix, _, ok := strings.Cut(name, "_")
	n, err := strconv.Atoi(prefix)
	if !ok || err != nil {
		t.Fatalf("migration %s is not named NNNNN_name.sql", name)
	}
	return n
}

// Migrations added after the baseline follow the expand-then-contract
// rule: whatever removes or changes what the previous release uses carries
// a `-- contract:` marker saying why, and since which release.
func TestNewMigrationsFollowContractRule(t *testing.T) {
	t.Parallel()
	migrations, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v (%d files)", err, len(names))
	}
	newest := 0
	for _, name := range names {
		n := migrationNumber(t, name)
		newest = max(newest, n)
		if n <= compat.ContractBaseline {
			continue
		}
		src, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range compat.CheckContract("db/migrations/"+name, string(src)) {
			t.Error(v)
		}
	}
	if compat.ContractBaseline > newest {
		t.Errorf("ContractBaseline is %d, past the newest migration %d: new migrations would go unchecked", compat.ContractBaseline, newest)
	}
}

// want is a `-- want: <problem>` comment of a bad example: the statement
// on the next line must be reported with that problem.
type want struct {
	line    int
	problem string
}

func wants(src string) []want {
	var out []want
	for i, l := range strings.Split(src, "\n") {
		if p, ok := strings.CutPrefix(l, "-- want: "); ok {
			out = append(out, want{line: i + 2, problem: p})
		}
	}
	return out
}

func TestCheckContractExamples(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", "rules", kind, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("testdata/rules/%s: %v (%d files)", kind, err, len(files))
		}
		for _, file := range files {
			t.Run(kind+"/"+filepath.Base(file), func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				got := compat.CheckContract(file, string(src))
				ws := wants(string(src))
				if kind == "bad" && len(ws) == 0 {
					t.Fatalf("a bad example without a `-- want:` comment")
				}
				if len(got) != len(ws) {
					t.Fatalf("got %d violations, want %d:\n%v", len(got), len(ws), got)
				}
				for i, v := range got {
					w := ws[i]
					if v.Line != w.line || !strings.HasPrefix(v.Problem, w.problem) || v.File != file {
						t.Errorf("violation %+v, want %s:%d %q", v, file, w.line, w.problem)
					}
					msg := v.Error()
					if !strings.HasPrefix(msg, file+":"+strconv.Itoa(w.line)+": ") || !strings.Contains(msg, "-- contract:") {
						t.Errorf("message %q names neither the file and line nor the marker", msg)
					}
				}
			})
		}
	}
}

// The grandfathered migrations hold real contract steps: checked from the
// start, the rule finds them, so it is not blind to this repository's SQL.
func TestCheckContractFindsGrandfatheredSteps(t *testing.T) {
	t.Parallel()
	migrations, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range names {
		src, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		found += len(compat.CheckContract(name, string(src)))
	}
	if found == 0 {
		t.Error("no migration up to the baseline drops, renames or retypes anything: the checker reads nothing")
	}
}

func FuzzCheckContract(f *testing.F) {
	for _, s := range []string{
		"-- +goose Up\nALTER TABLE t DROP COLUMN c;\n-- +goose Down\n",
		"DO $x$ BEGIN DROP TABLE t; END $x$;",
		"SELECT 'unterminated",
		"/* open comment",
		"$$ unterminated dollar",
		"ALTER TABLE t ADD COLUMN \"x\" int NOT NULL, ADD (",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, v := range compat.CheckContract("fuzz.sql", src) {
			if v.Line < 1 || v.Problem == "" {
				t.Errorf("violation %+v: want a line and a problem", v)
			}
		}
	})
}
