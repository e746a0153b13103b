// Package audit records administrative actions (sign-ins, resets, invites,
// role changes, API keys, settings, and every change to a community's bot:
// commands, aliases, rules, points values, modules, overlays, the prefix)
// with what they changed, and lists them for admins.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// Actions recorded in the trail.
const (
	SignIn              = "sign_in"
	SignInFailed        = "sign_in_failed"
	SignOut             = "sign_out"
	PasswordResetAsk    = "password_reset_requested"
	PasswordReset       = "password_reset"
	PasswordChanged     = "password_changed"
	MemberInvited       = "member_invited"
	InviteAccepted      = "invite_accepted"
	InviteRevoked       = "invite_revoked"
	MemberRoleChanged   = "member_role_changed"
	MemberRemoved       = "member_removed"
	APIKeyCreated       = "api_key_created"
	APIKeyRegenerated   = "api_key_regenerated"
	APIKeyRevoked       = "api_key_revoked"
	CommunityCreated    = "community_created"
	CommunitySettings   = "community_settings_changed"
	UserCreated         = "user_created"
	ServerLinked        = "server_linked"
	ServerUnlinked      = "server_unlinked"
	BotAccountConnected = "bot_account_connected"

	// Changes to a community's bot, from the hub or from chat.
	PrefixChanged      = "prefix_changed"
	CommandCreated     = "command_created"
	CommandUpdated     = "command_updated" // also enabling and disabling
	CommandDeleted     = "command_deleted"
	CounterSet         = "command_counter_set"
	AliasAdded         = "alias_added"
	AliasDeleted       = "alias_deleted"
	RuleCreated        = "moderation_rule_created"
	RuleUpdated        = "moderation_rule_updated" // also enabling and disabling
	RuleDeleted        = "moderation_rule_deleted"
	PointsValueChanged = "points_value_changed"
	ModuleCreated      = "module_created"
	ModuleDeleted      = "module_deleted"
	OverlayCreated     = "overlay_created"
	OverlaySettings    = "overlay_settings_changed"
	OverlayContentSet  = "overlay_content_set"
	OverlayURLRenewed  = "overlay_url_regenerated"
	OverlayDeleted     = "overlay_deleted"
	QuoteAdded         = "quote_added"
	QuoteDeleted       = "quote_deleted"
	SlashChoiceChanged = "slash_choice_changed" // whether a command is a Discord slash command
)

// ViewerTrackingChanged records a change to a community's viewer tracking.
const ViewerTrackingChanged = "viewer_tracking_changed"

// Workflow licence and permission actions.
const (
	WorkflowLicenceSet         = "workflow_licence_set" // target: the licence's id; the key itself is never recorded
	WorkflowLicenceRemoved     = "workflow_licence_removed"
	WorkflowPermissionsChanged = "workflow_permissions_changed"
)

// Second-factor actions.
const (
	TwoFactorEnabled       = "two_factor_enabled" // target: the factor ("authenticator app", "passkey NAME")
	TwoFactorRemoved       = "two_factor_removed"
	TwoFactorFailed        = "two_factor_failed"  // a wrong code or passkey at sign-in
	TwoFactorCleared       = "two_factor_cleared" // by an operator, from the command line
	RecoveryCodesGenerated = "recovery_codes_generated"
	RecoveryCodeUsed       = "recovery_code_used"
)

// Workflow actions.
const (
	WorkflowCreated   = "workflow_created"
	WorkflowUpdated   = "workflow_updated"
	WorkflowDeleted   = "workflow_deleted"
	WorkflowPublished = "workflow_published"
	WorkflowDrafted   = "workflow_drafted" // taken back to draft: its triggers stop
	WorkflowArchived  = "workflow_archived"
	WorkflowRunStart  = "workflow_run_started" // a manual run, replay or retry
	WorkflowRunCancel = "workflow_run_cancelled"
	WorkflowWebhook   = "workflow_webhook_changed"
	WorkflowSchedule  = "workflow_schedule_changed"
)

// Actions lists every action, for the filter on the audit page.
var Actions = append([]string{SignIn, SignInFailed, SignOut, PasswordResetAsk, PasswordReset, PasswordChanged,
	MemberInvited, InviteAccepted, InviteRevoked, MemberRoleChanged, MemberRemoved,
	APIKeyCreated, APIKeyRegenerated, APIKeyRevoked, CommunityCreated, CommunitySettings, UserCreated,
	ServerLinked, ServerUnlinked, BotAccountConnected,
	PrefixChanged, CommandCreated, CommandUpdated, CommandDeleted, CounterSet, AliasAdded, AliasDeleted,
	RuleCreated, RuleUpdated, RuleDeleted, PointsValueChanged, ViewerTrackingChanged, ModuleCreated, ModuleDeleted,
	OverlayCreated, OverlaySettings, OverlayContentSet, OverlayURLRenewed, OverlayDeleted, QuoteAdded, QuoteDeleted, SlashChoiceChanged,
	TwoFactorEnabled, TwoFactorRemoved, TwoFactorFailed, TwoFactorCleared, RecoveryCodesGenerated, RecoveryCodeUsed,
	WorkflowCreated, WorkflowUpdated, WorkflowDeleted, WorkflowPublished, WorkflowDrafted, WorkflowArchived,
	WorkflowRunStart, WorkflowRunCancel, WorkflowWebhook, WorkflowSchedule,
	WorkflowLicenceSet, WorkflowLicenceRemoved, WorkflowPermissionsChanged}, append(append(append(append(marketplaceCatalogActions, marketplaceSocialActions...), marketplacePayActions...), marketplaceInstallActions...), append(append(append(append(labelsActions, identityHubActions...), labelGroupActions...), peopleActions...), append(counterActions, timersActions...)...)...)...)

// Actor is who did something and from where.
type Actor struct {
	UserID int64 // 0 when unknown (a failed sign-in for no account, the command line, a chat user)
	Email  string
	// Name says who acted without a hub account, or how a hub user did:
	// "twitch user alice (id 123)", "simulator, as twitch user viewer (id sim:viewer)".
	Name string
	IP   string
}

// Entry is one action to record.
type Entry struct {
	CommunityID int64 // 0 for actions outside any community
	Action      string
	Target      string
	// Before and After are the state the action changed, stored as JSON (nil:
	// none, as before a creation or after a deletion). A secret never goes in:
	// callers put Secret(…) or SecretChanged in its place.
	Before, After any
}

// Markers that stand for a secret (a module's secret, an overlay's URL token)
// in Before and After.
const (
	SecretSet     = "(set)"
	SecretChanged = "(changed)"
)

// Secret stands for a secret value in Before or After: SecretSet when it is
// set, "" (left out by omitempty) when not. It never returns the value.
func Secret(set bool) string {
	if set {
		return SecretSet
	}
	return ""
}

// Record writes e, attributed to a, through q (a pool or the transaction that
// made the change, so that the change and its record commit together).
func Record(ctx context.Context, q db.DBTX, a Actor, e Entry) error {
	_, err := RecordID(ctx, q, a, e)
	return err
}

// RecordID is Record that returns the new entry's id, for a job that reports
// the entry later (see Get).
func RecordID(ctx context.Context, q db.DBTX, a Actor, e Entry) (int64, error) {
	var cid, uid *int64
	if e.CommunityID != 0 {
		cid = &e.CommunityID
	}
	if a.UserID != 0 {
		uid = &a.UserID
	}
	before, err := state(e.Before)
	if err != nil {
		return 0, fmt.Errorf("record audit %s: before: %w", e.Action, err)
	}
	after, err := state(e.After)
	if err != nil {
		return 0, fmt.Errorf("record audit %s: after: %w", e.Action, err)
	}
	entryID, err := db.New(q).AuditInsert(ctx, db.AuditInsertParams{
		CommunityID: cid, ActorID: uid, ActorEmail: a.Email, ActorName: a.Name, Action: e.Action, Target: e.Target, Ip: a.IP,
		Before: before, After: after,
	})
	if err != nil {
		return 0, fmt.Errorf("record audit %s: %w", e.Action, err)
	}
	return entryID, nil
}

// ErrNoEntry is returned by Get for an id with no entry.
var ErrNoEntry = errors.New("no such audit entry")

// Get returns the entry with id, read through q.
func Get(ctx context.Context, q db.DBTX, entryID int64) (Item, error) {
	r, err := db.New(q).AuditGet(ctx, entryID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, ErrNoEntry
	}
	if err != nil {
		return Item{}, fmt.Errorf("load audit entry %d: %w", entryID, err)
	}
	return items([]db.AuditLog{r})[0], nil
}

// state marshals a Before or After; nil (or a nil pointer) is stored as NULL.
func state(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// Filter narrows a listing; zero fields do not filter.
type Filter struct {
	Action   string
	Actor    string // part of the actor's email or name
	Since    time.Time
	Until    time.Time
	BeforeID int64 // for paging: entries older than this one
	Limit    int
}

// Item is one recorded action.
type Item struct {
	ID            int64
	CommunityID   int64
	CommunityName string // filled in the hub-wide listing only
	ActorID       int64  // the acting hub account; 0 when none (or since deleted)
	ActorEmail    string
	ActorName     string // who acted without a hub account, or how (see Actor.Name)
	Action        string
	Target        string
	IP            string
	At            time.Time
	Before, After json.RawMessage // the state before and after; nil when none
}

// Who names the actor for a reader: the email, the name, or both.
func (it Item) Who() string {
	switch {
	case it.ActorName == "":
		return it.ActorEmail
	case it.ActorEmail == "":
		return it.ActorName
	}
	return it.ActorEmail + " (" + it.ActorName + ")"
}

// Log reads the trail.
type Log struct {
	Pool *pgxpool.Pool
}

// ListCommunity returns a community's entries, newest first.
func (l Log) ListCommunity(ctx context.Context, communityID int64, f Filter) ([]Item, error) {
	rows, err := db.New(l.Pool).AuditListByCommunity(ctx, db.AuditListByCommunityParams{
		CommunityID: &communityID, Action: str(f.Action), Actor: str(db.EscapeLike(f.Actor)), Since: tm(f.Since), Until: tm(f.Until),
		BeforeID: id(f.BeforeID), MaxRows: limit(f.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list audit of community %d: %w", communityID, err)
	}
	return items(rows), nil
}

// ListAll returns every entry, newest first, for global admins.
func (l Log) ListAll(ctx context.Context, f Filter) ([]Item, error) {
	rows, err := db.New(l.Pool).AuditListAll(ctx, db.AuditListAllParams{
		Action: str(f.Action), Actor: str(db.EscapeLike(f.Actor)), Since: tm(f.Since), Until: tm(f.Until),
		BeforeID: id(f.BeforeID), MaxRows: limit(f.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	logs := make([]db.AuditLog, len(rows))
	for i, r := range rows {
		logs[i] = r.AuditLog
	}
	out := items(logs)
	for i, r := range rows {
		out[i].CommunityName = r.CommunityName
	}
	return out, nil
}

func items(rows []db.AuditLog) []Item {
	out := make([]Item, 0, len(rows))
	for _, r := range rows {
		it := Item{ID: r.ID, ActorEmail: r.ActorEmail, ActorName: r.ActorName, Action: r.Action, Target: r.Target, IP: r.Ip, At: r.CreatedAt}
		if r.Before != nil {
			it.Before = json.RawMessage(r.Before)
		}
		if r.After != nil {
			it.After = json.RawMessage(r.After)
		}
		if r.CommunityID != nil {
			it.CommunityID = *r.CommunityID
		}
		if r.ActorID != nil {
			it.ActorID = *r.ActorID
		}
		out = append(out, it)
	}
	return out
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func tm(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func id(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func limit(n int) int32 {
	if n <= 0 || n > 200 {
		return 50
	}
	return int32(n)
}
