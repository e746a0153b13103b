// Package community owns communities, their members and roles, and invitations.
// Every query is scoped by community id in SQL.
package community

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Role is a member's role in one community.
type Role string

// The roles, from most to least powerful.
const (
	Owner     Role = "owner"
	Admin     Role = "admin"
	Moderator Role = "moderator"
	Member    Role = "member"
)

// Roles lists every role, most powerful first.
var Roles = []Role{Owner, Admin, Moderator, Member}

func (r Role) rank() int {
	switch r {
	case Owner:
		return 4
	case Admin:
		return 3
	case Moderator:
		return 2
	case Member:
		return 1
	}
	return 0
}

// AtLeast reports whether r is as powerful as min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// CanManage reports whether r may invite, change roles, remove members, edit
// settings and read the audit trail.
func (r Role) CanManage() bool { return r.AtLeast(Admin) }

// Assignable lists the roles r may give to others.
func (r Role) Assignable() []Role {
	switch r {
	case Owner:
		return Roles
	case Admin:
		return []Role{Admin, Moderator, Member}
	}
	return nil
}

func (r Role) canAssign(to Role) bool {
	for _, x := range r.Assignable() {
		if x == to {
			return true
		}
	}
	return false
}

// ParseRole checks a role from a form.
func ParseRole(field, s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", problem.Invalidf(field, "Choose a role: owner, admin, moderator or member.")
	}
	return r, nil
}

// Community is one community.
type Community struct {
	ID          int64
	Slug        string
	Name        string
	Description string
	CreatedAt   time.Time
	// RequireTwoFactor: owners and admins need a second factor to manage it.
	RequireTwoFactor bool
}

// Membership is a community seen by one user, with their role in it.
type Membership struct {
	Community
	Role Role
}

// Actor is a signed-in user acting in one community.
type Actor struct {
	User auth.User
	Role Role // their role in the community (owner for global admins)
	IP   string
}

func (a Actor) audit() audit.Actor {
	return audit.Actor{UserID: a.User.ID, Email: a.User.Email, IP: a.IP}
}

// Config holds what the service needs.
type Config struct {
	Pool    *pgxpool.Pool
	Jobs    *river.Client[pgx.Tx]
	Auth    *auth.Service
	Logger  *slog.Logger
	BaseURL string
}

// Service manages communities.
type Service struct {
	pool    *pgxpool.Pool
	jobs    *river.Client[pgx.Tx]
	auth    *auth.Service
	logger  *slog.Logger
	baseURL string
}

// New returns a Service.
func New(cfg Config) *Service {
	return &Service{pool: cfg.Pool, jobs: cfg.Jobs, auth: cfg.Auth, logger: cfg.Logger, baseURL: strings.TrimRight(cfg.BaseURL, "/")}
}

// ErrNotFound is the answer for a community that does not exist or that the
// user does not belong to: the two are not told apart.
var ErrNotFound = problem.New(problem.NotFound, "No such community.")

// ErrNotAllowed is the answer when the user's role does not allow the action.
var ErrNotAllowed = problem.New(problem.Forbidden, "Your role in this community does not allow this.")

func toCommunity(c db.Community) Community {
	return Community{ID: c.ID, Slug: c.Slug, Name: c.Name, Description: c.Description, CreatedAt: c.CreatedAt, RequireTwoFactor: c.RequireTwoFactor}
}

// Access returns the community and user's role in it. Global admins act as
// owners everywhere; anyone else who is not a member gets ErrNotFound.
func (s *Service) Access(ctx context.Context, user auth.User, communityID int64) (Membership, error) {
	q := db.New(s.pool)
	c, err := q.CommunityGet(ctx, communityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Membership{}, ErrNotFound
	}
	if err != nil {
		return Membership{}, fmt.Errorf("load community %d: %w", communityID, err)
	}
	role, err := q.MemberGetRole(ctx, db.MemberGetRoleParams{CommunityID: communityID, UserID: user.ID})
	switch {
	case err == nil:
		if user.IsAdmin {
			role = string(Owner)
		}
		return Membership{Community: toCommunity(c), Role: Role(role)}, nil
	case errors.Is(err, pgx.ErrNoRows) && user.IsAdmin:
		return Membership{Community: toCommunity(c), Role: Owner}, nil
	case errors.Is(err, pgx.ErrNoRows):
		return Membership{}, ErrNotFound
	}
	return Membership{}, fmt.Errorf("load role in community %d: %w", communityID, err)
}

// ListForUser returns the communities user belongs to; global admins see all.
func (s *Service) ListForUser(ctx context.Context, user auth.User) ([]Membership, error) {
	q := db.New(s.pool)
	rows, err := q.CommunityListForUser(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("list communities: %w", err)
	}
	out := make([]Membership, 0, len(rows))
	seen := map[int64]bool{}
	for _, r := range rows {
		role := Role(r.Role)
		if user.IsAdmin {
			role = Owner
		}
		seen[r.ID] = true
		out = append(out, Membership{Community: Community{ID: r.ID, Slug: r.Slug, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt,
			RequireTwoFactor: r.RequireTwoFactor}, Role: role})
	}
	if user.IsAdmin {
		all, err := q.CommunityListAll(ctx)
		if err != nil {
			return nil, fmt.Errorf("list communities: %w", err)
		}
		for _, c := range all {
			if !seen[c.ID] {
				out = append(out, Membership{Community: toCommunity(c), Role: Owner})
			}
		}
	}
	return out, nil
}

// Settings are the editable properties of a community.
type Settings struct {
	Name        string
	Description string
}

func (st Settings) validate() (Settings, error) {
	st.Name = strings.TrimSpace(st.Name)
	st.Description = strings.TrimSpace(st.Description)
	switch {
	case st.Name == "":
		return st, problem.Invalidf("name", "Give the community a name.")
	case utf8.RuneCountInString(st.Name) > 100:
		return st, problem.Invalidf("name", "A community name has at most 100 characters.")
	case utf8.RuneCountInString(st.Description) > 1000:
		return st, problem.Invalidf("description", "A description has at most 1000 characters.")
	case !utf8.ValidString(st.Name + st.Description):
		return st, problem.Invalidf("name", "The text is not valid UTF-8.")
	}
	return st, nil
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Create makes a community with creator as its owner. Only global admins create communities.
func (s *Service) Create(ctx context.Context, creator auth.User, ip, slug string, st Settings) (Community, error) {
	if !creator.IsAdmin {
		return Community{}, problem.New(problem.Forbidden, "Only global admins create communities.")
	}
	st, err := st.validate()
	if err != nil {
		return Community{}, err
	}
	slug = strings.ToLower(strings.TrimSpace(slug))
	if !slugRe.MatchString(slug) {
		return Community{}, problem.Invalidf("slug", "A short name has 2 to 63 lower-case letters, digits and dashes, starting with a letter or digit.")
	}
	var c Community
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		r, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: st.Name, Description: st.Description})
		if db.IsUniqueViolation(err) {
			return problem.Invalidf("slug", "The short name %q is taken.", slug)
		}
		if err != nil {
			return err
		}
		c = toCommunity(r)
		if err := q.MemberAdd(ctx, db.MemberAddParams{CommunityID: c.ID, UserID: creator.ID, Role: string(Owner)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{UserID: creator.ID, Email: creator.Email, IP: ip},
			audit.Entry{CommunityID: c.ID, Action: audit.CommunityCreated, Target: c.Name})
	})
	if err != nil {
		return Community{}, fmt.Errorf("create community: %w", err)
	}
	return c, nil
}

// Count reports how many communities exist.
func (s *Service) Count(ctx context.Context) (int64, error) {
	n, err := db.New(s.pool).CommunityCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("count communities: %w", err)
	}
	return n, nil
}

// UpdateSettings changes name and description.
func (s *Service) UpdateSettings(ctx context.Context, a Actor, communityID int64, st Settings) (Community, error) {
	if !a.Role.CanManage() {
		return Community{}, ErrNotAllowed
	}
	st, err := st.validate()
	if err != nil {
		return Community{}, err
	}
	var c Community
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).CommunityUpdate(ctx, db.CommunityUpdateParams{ID: communityID, Name: st.Name, Description: st.Description})
		if err != nil {
			return err
		}
		c = toCommunity(r)
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: communityID, Action: audit.CommunitySettings, Target: c.Name})
	})
	if err != nil {
		return Community{}, fmt.Errorf("update community %d: %w", communityID, err)
	}
	return c, nil
}
