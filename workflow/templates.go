package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Template is a workflow to start from: a built-in one (ID "builtin:…") or
// one a community saved from its own workflows (ID its number).
type Template struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Builtin     bool       `json:"builtin"`
	Definition  Definition `json:"definition"`
}

// ErrTemplateNotFound answers for a template that is not there.
var ErrTemplateNotFound = problem.New(problem.NotFound, "There is no such template here.")

// The built-in templates. Where they post to a channel, they name no
// server: the builder shows the field to fill before publishing.
var builtinTemplates = []struct{ id, name, description, def string }{
	{"thank-raiders", "Thank raiders", "When someone raids with more than 20 viewers, thank them in chat and play an alert.", `{
 "nodes": [
  {"id": "raid", "type": "trigger_event", "label": "A raid", "position": {"x": 40, "y": 120},
   "config": {"platforms": ["twitch"], "kinds": ["raid"], "rules": [{"left": "{{ trigger.data.viewers }}", "op": "greater_than", "right": "20"}]}},
  {"id": "thanks", "type": "action_chat_message", "label": "Thank them", "position": {"x": 360, "y": 60},
   "config": {"target": "trigger", "text": "Thank you {{ trigger.user.display_name }} for the raid with {{ trigger.data.viewers }} viewers!"}},
  {"id": "alert", "type": "action_browser_source", "label": "Play the alert", "position": {"x": 360, "y": 220},
   "config": {"source": "Alerts", "kind": "alert", "data": {"event": "raid", "user": "{{ trigger.user.display_name }}", "amount": "{{ trigger.data.viewers }}"}}}
 ],
 "connections": [
  {"from": "raid", "from_port": "out", "to": "thanks", "to_port": "in"},
  {"from": "raid", "from_port": "out", "to": "alert", "to_port": "in"}
 ]}`},
	{"welcome-followers", "Welcome new followers", "Greets each new follower in chat.", `{
 "nodes": [
  {"id": "follow", "type": "trigger_event", "label": "A follow", "position": {"x": 40, "y": 120},
   "config": {"platforms": ["twitch"], "kinds": ["follow"], "rules": []}},
  {"id": "welcome", "type": "action_chat_message", "label": "Welcome them", "position": {"x": 360, "y": 120},
   "config": {"target": "trigger", "text": "Welcome {{ trigger.user.display_name }}, thanks for the follow!"}}
 ],
 "connections": [{"from": "follow", "from_port": "out", "to": "welcome", "to_port": "in"}]}`},
	{"daily-announcement", "Daily announcement on every platform", "Every day at noon, posts the stream schedule on Twitch, Discord and Slack at once.", `{
 "nodes": [
  {"id": "noon", "type": "trigger_schedule", "label": "Every day at noon", "position": {"x": 40, "y": 160},
   "config": {"kind": "cron", "cron": "0 12 * * *", "timezone": "UTC", "grace_seconds": 900, "max_concurrent": 1}},
  {"id": "all", "type": "flow_parallel", "label": "On every platform", "position": {"x": 300, "y": 160}, "config": {"branches": 3}},
  {"id": "twitch", "type": "action_chat_message", "label": "Twitch", "position": {"x": 560, "y": 40},
   "config": {"target": "channel", "platform": "twitch", "server": "", "channel": "", "text": "Today's stream starts at 19:00. See you there!"}},
  {"id": "discord", "type": "action_chat_message", "label": "Discord", "position": {"x": 560, "y": 160},
   "config": {"target": "channel", "platform": "discord", "server": "", "channel": "", "text": "Today's stream starts at 19:00. See you there!"}},
  {"id": "slack", "type": "action_chat_message", "label": "Slack", "position": {"x": 560, "y": 280},
   "config": {"target": "channel", "platform": "slack", "server": "", "channel": "", "text": "Today's stream starts at 19:00. See you there!"}}
 ],
 "connections": [
  {"from": "noon", "from_port": "out", "to": "all", "to_port": "in"},
  {"from": "all", "from_port": "branch_1", "to": "twitch", "to_port": "in"},
  {"from": "all", "from_port": "branch_2", "to": "discord", "to_port": "in"},
  {"from": "all", "from_port": "branch_3", "to": "slack", "to_port": "in"}
 ]}`},
	{"shop-points-alert", "Shop webhook → points and alert", "When your shop's webhook fires, gives the buyer 500 points and shows it on stream.", `{
 "nodes": [
  {"id": "shop", "type": "trigger_webhook", "label": "The shop's webhook", "position": {"x": 40, "y": 120},
   "config": {"mode": "async", "timeout_seconds": 10}},
  {"id": "points", "type": "action_module", "label": "Give 500 points", "position": {"x": 340, "y": 60},
   "config": {"module": "give", "args": "{{ trigger.body.user }} 500", "as": "bot"}},
  {"id": "alert", "type": "action_browser_source", "label": "Show it on stream", "position": {"x": 340, "y": 220},
   "config": {"source": "Alerts", "kind": "alert", "data": {"message": "{{ trigger.body.user }} bought {{ trigger.body.item }}!"}}}
 ],
 "connections": [
  {"from": "shop", "from_port": "out", "to": "points", "to_port": "in"},
  {"from": "points", "from_port": "out", "to": "alert", "to_port": "in"}
 ]}`},
	{"command-webhook-reply", "Chat command → webhook → reply", "A chat command asks a web service and answers in chat with what it said.", `{
 "nodes": [
  {"id": "cmd", "type": "trigger_command", "label": "!ask", "position": {"x": 40, "y": 120},
   "config": {"command": "ask", "platforms": ["twitch", "discord", "slack"], "permission": "everyone", "user_cooldown_seconds": 30, "global_cooldown_seconds": 5}},
  {"id": "call", "type": "action_webhook", "label": "Ask the service", "position": {"x": 320, "y": 120},
   "config": {"method": "POST", "url": "https://example.com/ask", "body": "{\"question\": \"{{ trigger.args }}\"}", "timeout_ms": 5000, "retries": 1, "backoff_ms": 500}},
  {"id": "reply", "type": "action_chat_message", "label": "Reply", "position": {"x": 600, "y": 120},
   "config": {"target": "trigger", "text": "{{ nodes.call.body.answer | default:\"The service did not answer.\" }}"}}
 ],
 "connections": [
  {"from": "cmd", "from_port": "out", "to": "call", "to_port": "in"},
  {"from": "call", "from_port": "out", "to": "reply", "to_port": "in"}
 ]}`},
}

const builtinPrefix = "builtin:"

// Templates lists the built-in templates, then the community's own.
func (s *Service) Templates(ctx context.Context, cid int64) ([]Template, error) {
	out := make([]Template, 0, len(builtinTemplates))
	for _, b := range builtinTemplates {
		t, err := builtin(b.id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	rows, err := db.New(s.read).WorkflowTemplateList(ctx, cid)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	for _, row := range rows {
		t, err := fromTemplateRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func builtin(id string) (Template, error) {
	for _, b := range builtinTemplates {
		if b.id == id {
			d, err := ParseDefinition([]byte(b.def))
			if err != nil {
				return Template{}, fmt.Errorf("built-in template %s: %w", id, err)
			}
			return Template{ID: builtinPrefix + b.id, Name: b.name, Description: b.description, Builtin: true, Definition: d}, nil
		}
	}
	return Template{}, ErrTemplateNotFound
}

func fromTemplateRow(row db.WorkflowTemplate) (Template, error) {
	t := Template{ID: strconv.FormatInt(row.ID, 10), Name: row.Name, Description: row.Description}
	if err := json.Unmarshal(row.Definition, &t.Definition); err != nil {
		return t, fmt.Errorf("decode template %d: %w", row.ID, err)
	}
	return t, nil
}

// Template returns one template: built-in, or the community's own.
func (s *Service) Template(ctx context.Context, cid int64, id string) (Template, error) {
	if name, ok := strings.CutPrefix(id, builtinPrefix); ok {
		return builtin(name)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return Template{}, ErrTemplateNotFound
	}
	row, err := db.New(s.read).WorkflowTemplateGet(ctx, db.WorkflowTemplateGetParams{CommunityID: cid, ID: n})
	if errors.Is(err, pgx.ErrNoRows) {
		return Template{}, ErrTemplateNotFound
	}
	if err != nil {
		return Template{}, fmt.Errorf("load template %d: %w", n, err)
	}
	return fromTemplateRow(row)
}

// Instantiate makes a new draft workflow from a template; name empty: the
// template's.
func (s *Service) Instantiate(ctx context.Context, cid int64, by audit.Actor, templateID, name string) (*Workflow, Report, error) {
	t, err := s.Template(ctx, cid, templateID)
	if err != nil {
		return nil, Report{}, err
	}
	if strings.TrimSpace(name) == "" {
		name = t.Name
	}
	return s.Create(ctx, cid, by, Input{Name: name, Description: t.Description, Definition: t.Definition})
}

// SaveTemplate saves a workflow's draft as one of the community's templates.
func (s *Service) SaveTemplate(ctx context.Context, cid, workflowID int64, by audit.Actor, name, description string) (Template, error) {
	w, err := s.Get(ctx, cid, workflowID)
	if err != nil {
		return Template{}, err
	}
	in := Input{Name: name, Description: description, Definition: w.Definition}
	if strings.TrimSpace(in.Name) == "" {
		in.Name = w.Name
	}
	if err := in.check(); err != nil {
		return Template{}, err
	}
	raw, err := json.Marshal(in.Definition)
	if err != nil {
		return Template{}, fmt.Errorf("encode definition: %w", err)
	}
	var t Template
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).WorkflowTemplateInsert(ctx, db.WorkflowTemplateInsertParams{CommunityID: cid, Name: in.Name,
			Description: in.Description, Definition: raw, CreatedBy: userRef(by.UserID)})
		if db.IsUniqueViolation(err) {
			return problem.Invalidf("name", "This community already has a template with that name.")
		}
		if err != nil {
			return fmt.Errorf("save template: %w", err)
		}
		if t, err = fromTemplateRow(row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowCreated, Target: "template " + in.Name})
	})
	return t, err
}

// DeleteTemplate removes one of the community's templates.
func (s *Service) DeleteTemplate(ctx context.Context, cid int64, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return ErrTemplateNotFound // built-in ones cannot be deleted
	}
	k, err := db.New(s.pool).WorkflowTemplateDelete(ctx, db.WorkflowTemplateDeleteParams{CommunityID: cid, ID: n})
	if err != nil {
		return fmt.Errorf("delete template %d: %w", n, err)
	}
	if k == 0 {
		return ErrTemplateNotFound
	}
	return nil
}
