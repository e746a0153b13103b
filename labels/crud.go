package labels

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Limits on a label's fields.
const (
	MaxNameLen        = 40
	MaxDescriptionLen = 300
	DefaultColour     = "#6b7280"
)

// Input is a label as a form or the API gives it.
type Input struct {
	Name        string
	Colour      string // #rrggbb; empty: the default grey
	Description string
}

var colourRE = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// Check normalises in (spaces in the name, the colour's case) and names the
// first field that is wrong.
func (in Input) Check() (Input, error) {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		return in, problem.Invalidf("name", "Give the label a name.")
	case n > MaxNameLen:
		return in, problem.Invalidf("name", "A label's name is at most %d characters; this one has %d.", MaxNameLen, n)
	case strings.Contains(in.Name, ","):
		return in, problem.Invalidf("name", "A label's name may not contain a comma (searches list labels separated by commas).")
	case strings.IndexFunc(in.Name, unicode.IsControl) >= 0 || !utf8.ValidString(in.Name):
		return in, problem.Invalidf("name", "A label's name may not contain control characters.")
	}
	in.Colour = strings.ToLower(strings.TrimSpace(in.Colour))
	if in.Colour == "" {
		in.Colour = DefaultColour
	}
	if !colourRE.MatchString(in.Colour) {
		return in, problem.Invalidf("colour", "The colour must be #rrggbb in hexadecimal, such as #1f9d55; %q is not.", clip(in.Colour, 20))
	}
	in.Description = strings.TrimSpace(in.Description)
	if !utf8.ValidString(in.Description) {
		return in, problem.Invalidf("description", "The description is not valid UTF-8.")
	}
	if n := utf8.RuneCountInString(in.Description); n > MaxDescriptionLen {
		return in, problem.Invalidf("description", "A description is at most %d characters; this one has %d.", MaxDescriptionLen, n)
	}
	return in, nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Listed is a label with how many people (or communities) carry it.
type Listed struct {
	Label
	Uses int64
}

// List returns the community's labels (communityID 0: the hub-wide labels).
func (s *Service) List(ctx context.Context, communityID int64) ([]Listed, error) {
	rows, err := db.New(s.pool).LabelList(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list labels: %w", err)
	}
	out := make([]Listed, len(rows))
	for i, r := range rows {
		out[i] = Listed{Label: toLabel(db.Label{ID: r.ID, CommunityID: r.CommunityID, Name: r.Name, Colour: r.Colour, Description: r.Description}), Uses: r.Uses}
	}
	return out, nil
}

// Get finds a label of the community (0: hub-wide) by its id or its name.
func (s *Service) Get(ctx context.Context, communityID int64, ref string) (Label, error) {
	return getLabel(ctx, db.New(s.pool), communityID, ref)
}

func getLabel(ctx context.Context, q *db.Queries, scope int64, ref string) (Label, error) {
	ref = strings.Join(strings.Fields(ref), " ")
	if ref == "" || utf8.RuneCountInString(ref) > MaxNameLen {
		return Label{}, ErrNotFound
	}
	r, err := q.LabelGetByName(ctx, db.LabelGetByNameParams{Scope: scope, Name: ref})
	if errors.Is(err, pgx.ErrNoRows) {
		id, perr := strconv.ParseInt(ref, 10, 64)
		if perr != nil || id <= 0 {
			return Label{}, ErrNotFound
		}
		r, err = q.LabelGet(ctx, db.LabelGetParams{ID: id, Scope: scope})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Label{}, ErrNotFound
	}
	if err != nil {
		return Label{}, fmt.Errorf("load label %q: %w", ref, err)
	}
	return toLabel(r), nil
}

// Create adds a label to the community (0: a hub-wide label).
func (s *Service) Create(ctx context.Context, a audit.Actor, communityID int64, in Input) (Label, error) {
	in, err := in.Check()
	if err != nil {
		return Label{}, err
	}
	var l Label
	err = s.tx(ctx, func(tx pgx.Tx) error {
		r, err := db.New(tx).LabelCreate(ctx, db.LabelCreateParams{Scope: communityID, Name: in.Name, Colour: in.Colour, Description: in.Description})
		if err != nil {
			return nameErr(err)
		}
		l = toLabel(r)
		return audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: audit.LabelCreated, Target: l.Name, After: l})
	})
	return l, err
}

// Update changes a label's name, colour and description.
func (s *Service) Update(ctx context.Context, a audit.Actor, communityID int64, ref string, in Input) (Label, error) {
	in, err := in.Check()
	if err != nil {
		return Label{}, err
	}
	var l Label
	err = s.tx(ctx, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := getLabel(ctx, q, communityID, ref)
		if err != nil {
			return err
		}
		r, err := q.LabelUpdate(ctx, db.LabelUpdateParams{ID: old.ID, Scope: communityID, Name: in.Name, Colour: in.Colour, Description: in.Description})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return nameErr(err)
		}
		l = toLabel(r)
		return audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: audit.LabelUpdated, Target: l.Name, Before: old, After: l})
	})
	if err == nil {
		s.changed(ctx, communityID)
	}
	return l, err
}

// Delete removes a label, and with it from everyone who carried it (the
// platform roles it gave are taken back through RoleSync).
func (s *Service) Delete(ctx context.Context, a audit.Actor, communityID int64, ref string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := getLabel(ctx, q, communityID, ref)
		if err != nil {
			return err
		}
		if communityID != 0 && s.roles != nil {
			ids, err := q.LabelPeopleIDs(ctx, db.LabelPeopleIDsParams{CommunityID: communityID, LabelID: old.ID})
			if err != nil {
				return fmt.Errorf("list people with label %d: %w", old.ID, err)
			}
			changes := make([]Change, len(ids))
			for i, id := range ids {
				changes[i] = Change{CommunityID: communityID, IdentityID: id, LabelID: old.ID}
			}
			if len(changes) > 0 {
				if err := s.roles.Changed(ctx, tx, changes); err != nil {
					return fmt.Errorf("label roles: %w", err)
				}
			}
		}
		if _, err := q.LabelDelete(ctx, db.LabelDeleteParams{ID: old.ID, Scope: communityID}); err != nil {
			return fmt.Errorf("delete label %d: %w", old.ID, err)
		}
		return audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: audit.LabelDeleted, Target: old.Name, Before: old})
	})
	if err == nil {
		s.changed(ctx, communityID)
	}
	return err
}

// nameErr turns the unique index's refusal into ErrNameTaken.
func nameErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return ErrNameTaken
	}
	return fmt.Errorf("save label: %w", err)
}
