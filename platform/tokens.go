package platform

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/secret"
)

// BotSubject is the token subject of a bot's own account (the Twitch account
// TWITCH_BOT_LOGIN that chats), as opposed to a linked server's.
const BotSubject = "bot"

// Token is an OAuth token of a platform account.
type Token struct {
	Access       string
	Refresh      string
	Scopes       []string
	Expires      time.Time // zero: does not expire
	AccountID    string    // the platform's id of the account that granted it
	AccountLogin string    // its login (Twitch) or name

	// NeedsReconnect is why the platform no longer accepts the token; ""
	// while it does. A bot does not use such a token until its owner
	// connects the account again (Save clears it).
	NeedsReconnect string

	sealed string // the stored access token as sealed, naming this version of the row
}

// Expiring reports whether the token expires within d.
func (t Token) Expiring(now time.Time, d time.Duration) bool {
	return !t.Expires.IsZero() && t.Expires.Sub(now) < d
}

// Install is what a finished OAuth install of the app into a server gives:
// the server (a Slack workspace), its name, and the bot's token in it.
type Install struct {
	Server, Name, BotUserID string
	Token                   Token // bot token; AccountID = bot user id
}

// ErrNoToken answers a lookup for an account no one has connected.
var ErrNoToken = problem.New(problem.NotFound, "No token is stored for this account: connect it in the hub.")

// Tokens stores platform tokens sealed with TOKEN_ENCRYPTION_KEY.
type Tokens struct {
	pool *pgxpool.Pool
	box  *secret.Box
}

// NewTokens returns a token store.
func NewTokens(pool *pgxpool.Pool, box *secret.Box) *Tokens {
	return &Tokens{pool: pool, box: box}
}

// Save stores the token of subject: a linked server (its token is deleted
// with its link) or BotSubject.
func (t *Tokens) Save(ctx context.Context, platform, subject string, tok Token) error {
	return t.save(ctx, t.pool, platform, subject, tok)
}

// ConnectBot stores the token of a bot's own account and records in the
// audit log, in the same transaction, who connected it.
func (t *Tokens) ConnectBot(ctx context.Context, by audit.Actor, platform string, tok Token) error {
	return pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if err := t.save(ctx, tx, platform, BotSubject, tok); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: audit.BotAccountConnected, Target: platform + " " + tok.AccountLogin})
	})
}

func (t *Tokens) save(ctx context.Context, q db.DBTX, platform, subject string, tok Token) error {
	if subject == "" || len(subject) > 100 {
		return problem.Invalidf("subject", "A token subject has 1 to 100 characters.")
	}
	access, err := t.seal(tok.Access)
	if err != nil {
		return err
	}
	refresh := ""
	if tok.Refresh != "" {
		if refresh, err = t.seal(tok.Refresh); err != nil {
			return err
		}
	}
	var entityID *int64
	if subject != BotSubject {
		e, err := db.New(q).EntityGetByServer(ctx, db.EntityGetByServerParams{Platform: platform, Server: subject})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "The %s server %q is not linked to a community.", platform, subject)
		}
		if err != nil {
			return fmt.Errorf("look up %s server %q: %w", platform, subject, err)
		}
		entityID = &e.ID
	}
	var expires *time.Time
	if !tok.Expires.IsZero() {
		expires = &tok.Expires
	}
	scopes := tok.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	if err := db.New(q).TokenUpsert(ctx, db.TokenUpsertParams{
		Platform: platform, Subject: subject, EntityID: entityID, AccessSealed: access, RefreshSealed: refresh,
		Scopes: scopes, AccountID: tok.AccountID, AccountLogin: tok.AccountLogin, ExpiresAt: expires,
	}); err != nil {
		return fmt.Errorf("store %s token of %q: %w", platform, subject, err)
	}
	return nil
}

// Get returns the token of subject, or ErrNoToken.
func (t *Tokens) Get(ctx context.Context, platform, subject string) (Token, error) {
	row, err := db.New(t.pool).TokenGet(ctx, db.TokenGetParams{Platform: platform, Subject: subject})
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrNoToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("load %s token of %q: %w", platform, subject, err)
	}
	return t.fromRow(row)
}

// fromRow opens a stored token.
func (t *Tokens) fromRow(row db.PlatformToken) (Token, error) {
	tok := Token{Scopes: row.Scopes, AccountID: row.AccountID, AccountLogin: row.AccountLogin, NeedsReconnect: row.NeedsReconnect, sealed: row.AccessSealed}
	if row.ExpiresAt != nil {
		tok.Expires = *row.ExpiresAt
	}
	var err error
	if tok.Access, err = t.open(row.AccessSealed); err != nil {
		return Token{}, fmt.Errorf("open %s token of %q: %w", row.Platform, row.Subject, err)
	}
	if row.RefreshSealed != "" {
		if tok.Refresh, err = t.open(row.RefreshSealed); err != nil {
			return Token{}, fmt.Errorf("open %s refresh token of %q: %w", row.Platform, row.Subject, err)
		}
	}
	return tok, nil
}

// Refresh replaces the token of subject with what refresh makes of it, one
// refresher at a time across instances: the token's row stays locked from
// the read to the write, so a platform whose refresh tokens are good once
// (Slack's) is never sent one twice. stale reports whether the stored token,
// perhaps refreshed meanwhile by another instance, still needs refreshing;
// if not, it is returned as it is. refresh runs inside the transaction and
// should be bounded by ctx.
func (t *Tokens) Refresh(ctx context.Context, platform, subject string, stale func(Token) bool,
	refresh func(context.Context, Token) (Token, error)) (Token, error) {
	var out Token
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).TokenGetForUpdate(ctx, db.TokenGetForUpdateParams{Platform: platform, Subject: subject})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoToken
		}
		if err != nil {
			return fmt.Errorf("lock %s token of %q: %w", platform, subject, err)
		}
		tok, err := t.fromRow(row)
		if err != nil {
			return err
		}
		if !stale(tok) {
			out = tok
			return nil
		}
		fresh, err := refresh(ctx, tok)
		if err != nil {
			return err
		}
		if err := t.save(ctx, tx, platform, subject, fresh); err != nil {
			return err
		}
		// Read back, so that the token names the version now stored.
		row, err = db.New(tx).TokenGetForUpdate(ctx, db.TokenGetForUpdateParams{Platform: platform, Subject: subject})
		if err != nil {
			return fmt.Errorf("reload %s token of %q: %w", platform, subject, err)
		}
		out, err = t.fromRow(row)
		return err
	})
	return out, err
}

// Delete forgets the token of subject.
func (t *Tokens) Delete(ctx context.Context, platform, subject string) error {
	if _, err := db.New(t.pool).TokenDelete(ctx, db.TokenDeleteParams{Platform: platform, Subject: subject}); err != nil {
		return fmt.Errorf("delete %s token of %q: %w", platform, subject, err)
	}
	return nil
}

func (t *Tokens) seal(s string) (string, error) {
	b, err := t.box.Seal([]byte(s))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func (t *Tokens) open(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	p, err := t.box.Open(b)
	return string(p), err
}
