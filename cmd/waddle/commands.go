package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

func migrate(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return &usageError{"migrate needs one of: up, down, status"}
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, "DATABASE_URL", nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch args[0] {
	case "up":
		return db.MigrateUp(ctx, pool, logger)
	case "down":
		return db.MigrateDown(ctx, pool, logger)
	case "status":
		st, err := db.MigrationStatus(ctx, pool)
		if err != nil {
			return err
		}
		return writeMigrationStatus(stdout, st)
	}
	return &usageError{fmt.Sprintf("unknown migrate command %q: want up, down or status", args[0])}
}

// generatePassword returns a random 20-character password (about 100 bits).
func generatePassword() string {
	return rand.Text()[:20]
}

func admin(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return &usageError{"admin needs a command: create or reset-password"}
	}
	fs := newFlagSet("admin " + args[0])
	email := fs.String("email", "", "account email")
	name := fs.String("name", "", "display name")
	isAdmin := fs.Bool("admin", false, "make a global admin")
	clear2FA := fs.Bool("clear-2fa", false, "reset-password: also remove the account's second factors (authenticator app, passkeys, recovery codes)")
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error()}
	}
	if *email == "" {
		return &usageError{"--email is required"}
	}
	if *clear2FA && args[0] != "reset-password" {
		return &usageError{"--clear-2fa goes with reset-password"}
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	password, generated := cfg.AdminPassword, false
	if password == "" {
		password, generated = generatePassword(), true
	}
	switch args[0] {
	case "create":
		u, err := a.auth.CreateUser(ctx, *email, *name, password, *isAdmin)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, a.pool, audit.Actor{Email: "command line"}, audit.Entry{Action: audit.UserCreated, Target: u.Email}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (admin: %t)\n", u.Email, u.IsAdmin)
	case "reset-password":
		u, err := a.auth.SetPassword(ctx, *email, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s set; its sessions were signed out\n", u.Email)
		if *clear2FA {
			if _, err := a.auth.ClearSecondFactors(ctx, u.Email, audit.Actor{Email: "command line"}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "second factors of %s removed: it signs in with the password alone until it sets up new ones\n", u.Email)
		}
	default:
		return &usageError{fmt.Sprintf("unknown admin command %q", args[0])}
	}
	if generated {
		fmt.Fprintf(stdout, "password: %s\n(shown once: store it now)\n", password)
	}
	return nil
}

// setup prepares a fresh install for `make run`: migrations, the first admin
// and a demo community. Run again, it changes nothing.
func setup(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	if err := db.MigrateUp(ctx, a.pool, logger); err != nil {
		return err
	}
	n, err := a.auth.CountUsers(ctx)
	if err != nil {
		return err
	}
	var adminUser auth.User
	if n == 0 {
		password, generated := cfg.AdminPassword, false
		if password == "" {
			password, generated = generatePassword(), true
		}
		adminUser, err = a.auth.CreateUser(ctx, cfg.AdminEmail, "Admin", password, true)
		if err != nil {
			if p := problem.As(err); p != nil {
				return fmt.Errorf("first admin from WADDLE_ADMIN_EMAIL/WADDLE_ADMIN_PASSWORD: %w", err)
			}
			return err
		}
		fmt.Fprintf(stdout, "\nFirst admin created: %s\n", adminUser.Email)
		if generated {
			fmt.Fprintf(stdout, "Password: %s\n(shown once: store it now, or set WADDLE_ADMIN_PASSWORD before the first run)\n", password)
		}
	} else if adminUser, err = a.auth.UserByEmail(ctx, cfg.AdminEmail); err != nil && !errors.Is(err, auth.ErrUserNotFound) {
		return err
	}
	c, err := a.comm.Count(ctx)
	if err != nil {
		return err
	}
	if c == 0 && adminUser.IsAdmin {
		if _, err := a.comm.Create(ctx, adminUser, "", "demo", community.Settings{Name: "Demo community", Description: "A community to try Waddle with."}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Demo community created.")
	}
	fmt.Fprintf(stdout, "\nWaddle hub: %s\n\n", cfg.BaseURL)
	return nil
}
