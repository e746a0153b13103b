package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/secret"
)

// errKeyDoesNotOpen ends a restore whose data is in place but whose sealed
// secrets the configured TOKEN_ENCRYPTION_KEY cannot open.
var errKeyDoesNotOpen = errors.New("TOKEN_ENCRYPTION_KEY does not open the restored secrets: set the key the backup was made with")

// restore loads a backup made by `waddle backup` into an empty database
// (DATABASE_URL, or --database-url), migrates it to this release's schema,
// and checks that TOKEN_ENCRYPTION_KEY opens its sealed secrets. pg_restore
// runs in one transaction and stops at the first error, so a failed restore
// leaves the database empty.
func restore(ctx context.Context, args []string, x pgExec, stdout io.Writer) error {
	fs := newFlagSet("restore")
	dbURL := fs.String("database-url", "", "the database to restore into (default DATABASE_URL)")
	var files []string
	for { // flags may come before or after FILE
		if err := fs.Parse(args); err != nil {
			return &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		return &usageError{"restore needs one backup FILE"}
	}
	file := files[0]
	if st, err := os.Stat(file); err != nil {
		return fmt.Errorf("backup file: %w", err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("backup file %s is not a regular file", file)
	}
	getenv := x.getenv
	if *dbURL != "" {
		getenv = func(k string) string {
			if k == "DATABASE_URL" {
				return *dbURL
			}
			return x.getenv(k)
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	conn, pool, serverMajor, err := openForTools(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	tool, err := x.findTool(ctx, "pg_restore", "PG_RESTORE", serverMajor)
	if err != nil {
		return err
	}
	// Read the whole archive first: a truncated, corrupt or foreign file, or
	// one from a newer release, is refused before the database is touched.
	facts, err := x.readArchive(ctx, tool, file)
	if err != nil {
		return fmt.Errorf("%s is not a usable backup: %w", file, err)
	}
	known, _, err := db.NewestMigration()
	if err != nil {
		return err
	}
	if facts.schemaVersion > known {
		return fmt.Errorf("%s holds schema version %d, newer than this waddle knows (up to %d): restore it with the release that made it, or a newer one", file, facts.schemaVersion, known)
	}
	n, err := db.New(pool).DatabaseRelationCount(ctx)
	if err != nil {
		return fmt.Errorf("look into %s: %w", conn.where, err)
	}
	if n > 0 {
		return fmt.Errorf("the target database already has tables; restore into a new, empty database "+
			"(%s holds %d tables, views or sequences; create one with createdb or CREATE DATABASE, and name it in --database-url)", conn.where, n)
	}

	// --no-owner and --no-privileges: the restored objects belong to
	// DATABASE_URL's role, and grants to roles the new server may lack do not
	// stop the restore.
	cmd := conn.command(ctx, tool, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", file)
	cmd.Stdout = io.Discard
	if err := x.run(tool, cmd); err != nil {
		return fmt.Errorf("restore %s into %s failed, and nothing of it was kept (it runs in one transaction): %w", file, conn.where, err)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n  communities: %d\n  schema version: %d\n", file, conn.where, facts.communities, facts.schemaVersion)

	if err := db.MigrateUp(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return fmt.Errorf("the backup is restored, but migrating it to this release failed: %w", err)
	}
	applied, err := db.SchemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	if applied != facts.schemaVersion {
		fmt.Fprintf(stdout, "  migrated to schema version %d\n", applied)
	}
	return checkKey(ctx, pool, cfg.TokenKey, stdout)
}

// checkKey opens a few sealed secrets of each kind with key and says whether
// it can. The restore stands either way; a key that does not open them is an
// error (exit status 1), so a scripted restore test notices before the bots
// fail to connect.
func checkKey(ctx context.Context, pool *pgxpool.Pool, key string, stdout io.Writer) error {
	rows, err := db.New(pool).SealedSecretSample(ctx)
	if err != nil {
		return fmt.Errorf("read sealed secrets: %w", err)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "the backup holds no sealed secrets yet: TOKEN_ENCRYPTION_KEY not checked")
		return nil
	}
	var kinds []string
	for _, r := range rows {
		if !slices.Contains(kinds, r.Kind) {
			kinds = append(kinds, r.Kind)
		}
	}
	what := fmt.Sprintf("%d checked: %s", len(rows), strings.Join(kinds, ", "))
	box, err := secret.New(key)
	if err != nil {
		return &configError{"TOKEN_ENCRYPTION_KEY", "is not usable: " + err.Error()}
	}
	failed := 0
	for _, r := range rows {
		sealed, err := base64.StdEncoding.DecodeString(r.Sealed)
		if err == nil {
			_, err = box.Open(sealed)
		}
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		why := fmt.Sprintf("%d of %s", failed, what)
		if key == "" {
			why = "it is not set; " + what
		}
		fmt.Fprintf(stdout, "WARNING: %v (%s)\n", errKeyDoesNotOpen, why)
		return fmt.Errorf("the data is restored, but %w", errKeyDoesNotOpen)
	}
	fmt.Fprintf(stdout, "TOKEN_ENCRYPTION_KEY opens the restored secrets (%s)\n", what)
	return nil
}
