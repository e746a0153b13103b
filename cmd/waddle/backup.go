package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// keyReminder follows every backup: the dump alone does not bring a hub back.
const keyReminder = `Keep TOKEN_ENCRYPTION_KEY safely and apart from this backup: without that key the
platform tokens and other secrets sealed in the backup cannot be opened, and whoever
holds both holds those secrets.
`

// progressEvery is how often a running backup prints its size.
const progressEvery = 10 * time.Second

// backup writes a pg_dump of DATABASE_URL in custom format to a file that
// appears only once it is complete and read back.
func backup(ctx context.Context, cfg config, args []string, x pgExec, stdout io.Writer) error {
	fs := newFlagSet("backup")
	out := fs.String("o", "", "the file to write (default waddle-YYYYMMDD-HHMMSS.dump, UTC)")
	if err := fs.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{"backup takes no arguments but -o FILE"}
	}
	name := *out
	if name == "" {
		name = "waddle-" + time.Now().UTC().Format("20060102-150405") + ".dump"
	}
	conn, pool, serverMajor, err := openForTools(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	dump, err := x.findTool(ctx, "pg_dump", "PG_DUMP", serverMajor)
	if err != nil {
		return err
	}
	restore, err := x.findTool(ctx, "pg_restore", "PG_RESTORE", serverMajor)
	if err != nil {
		return err
	}
	start := time.Now()
	size, facts, err := x.dumpToFile(ctx, conn, dump, restore, name)
	if err != nil {
		return fmt.Errorf("back up %s: %w", conn.where, err)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s in %s\n  size: %s (pg_dump %d, custom format)\n  schema version: %d\n  communities: %d\n\n%s",
		conn.where, name, time.Since(start).Round(time.Millisecond), humanSize(size), dump.major, facts.schemaVersion, facts.communities, keyReminder)
	return nil
}

// dumpToFile dumps into a temporary file beside name (mode 0600), syncs it,
// reads it back through pg_restore, and only then renames it to name and
// syncs the directory: a failed or interrupted backup never leaves a file
// that looks complete. pg_dump takes one snapshot, so the dump is consistent
// while the hub keeps writing.
func (x pgExec) dumpToFile(ctx context.Context, conn pgConn, dump, restore pgTool, name string) (int64, archiveFacts, error) {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.partial") // mode 0600
	if err != nil {
		return 0, archiveFacts{}, fmt.Errorf("create the backup file: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpName)
		}
	}()
	// pg_dump writes the file itself, so it can seek back and record where
	// each table's data starts (pg_restore then can restore selectively and
	// in parallel).
	stop := x.reportProgress(tmpName)
	err = x.run(dump, conn.command(ctx, dump, "--format=custom", "--file="+tmpName))
	stop()
	if err != nil {
		return 0, archiveFacts{}, err
	}
	f, err := os.OpenFile(tmpName, os.O_RDWR, 0)
	if err != nil {
		return 0, archiveFacts{}, err
	}
	err = f.Sync()
	st, serr := f.Stat()
	if cerr := f.Close(); err == nil {
		err = errors.Join(serr, cerr)
	}
	if err != nil {
		return 0, archiveFacts{}, fmt.Errorf("write the backup file: %w", err)
	}
	facts, err := x.readArchive(ctx, restore, tmpName)
	if err != nil {
		return 0, archiveFacts{}, fmt.Errorf("read the new backup back: %w", err)
	}
	if err := os.Chmod(tmpName, 0o600); err != nil { // pg_dump may have made it anew
		return 0, archiveFacts{}, err
	}
	if err := os.Rename(tmpName, name); err != nil {
		return 0, archiveFacts{}, fmt.Errorf("name the backup file: %w", err)
	}
	done = true
	d, err := os.Open(dir)
	if err == nil { // make the rename itself durable
		err = errors.Join(d.Sync(), d.Close())
	}
	if err != nil {
		return 0, archiveFacts{}, fmt.Errorf("sync the backup's directory: %w", err)
	}
	return st.Size(), facts, nil
}

// reportProgress prints the size of file to x.progress every progressEvery
// until the returned stop is called.
func (x pgExec) reportProgress(file string) (stop func()) {
	if x.progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if st, err := os.Stat(file); err == nil {
					fmt.Fprintf(x.progress, "backup: %s written so far\n", humanSize(st.Size()))
				}
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// openForTools opens DATABASE_URL for backup and restore: the connection
// the PostgreSQL client tools are given (its password kept for their
// environment), a pool for Waddle's own queries, and the server's major
// version the tools must match.
func openForTools(ctx context.Context, dbURL string) (pgConn, *pgxpool.Pool, int, error) {
	conn, err := newPGConn("DATABASE_URL", dbURL)
	if err != nil {
		return pgConn{}, nil, 0, err
	}
	pool, err := openPool(ctx, dbURL, "DATABASE_URL", nil)
	if err != nil {
		return pgConn{}, nil, 0, err
	}
	major, err := serverMajor(ctx, pool)
	if err != nil {
		pool.Close()
		return pgConn{}, nil, 0, err
	}
	return conn, pool, major, nil
}

func serverMajor(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	n, err := db.New(pool).ServerVersionNum(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the server's version: %w", err)
	}
	return int(n) / 10000, nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
