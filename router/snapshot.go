package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// snapshot is one community's router state, loaded at once and cached.
type snapshot struct {
	communityID int64
	prefix      string
	slowNotice  bool
	commands    map[string]*Command // by name and by alias
	list        []*Command          // by name
	rules       []*rule
	points      map[string]int64 // "platform.kind" overrides
	modules     map[string]*RemoteModule
	installs    map[int64]*installed // marketplace installs, by id
	loaded      time.Time
}

func loadSnapshot(ctx context.Context, pool *pgxpool.Pool, communityID int64) (*snapshot, error) {
	q := db.New(pool)
	c, err := q.CommunityGet(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load community %d: %w", communityID, err)
	}
	s := &snapshot{communityID: communityID, prefix: c.CommandPrefix, slowNotice: c.SlowDownNotice,
		commands: map[string]*Command{}, points: map[string]int64{}, modules: map[string]*RemoteModule{}, loaded: time.Now()}
	cmds, err := q.CommandListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load commands of %d: %w", communityID, err)
	}
	byID := map[int64]*Command{}
	for _, row := range cmds {
		cmd := toCommand(row)
		s.commands[cmd.Name] = cmd
		s.list = append(s.list, cmd)
		byID[cmd.ID] = cmd
	}
	aliases, err := q.CommandAliasesByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load aliases of %d: %w", communityID, err)
	}
	for _, a := range aliases {
		if cmd := byID[a.CommandID]; cmd != nil {
			cmd.Aliases = append(cmd.Aliases, a.Alias)
			s.commands[a.Alias] = cmd
		}
	}
	if err := s.loadInstalls(ctx, q); err != nil {
		return nil, err
	}
	rules, err := q.ModerationRuleListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load moderation rules of %d: %w", communityID, err)
	}
	for _, row := range rules {
		if !row.Enabled {
			continue
		}
		rl, err := compileRule(toRule(row))
		if err != nil {
			continue // validated on save; a rule that no longer compiles is skipped
		}
		s.rules = append(s.rules, rl)
	}
	values, err := q.PointsValuesByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load points values of %d: %w", communityID, err)
	}
	for _, v := range values {
		s.points[v.Key] = int64(v.Points)
	}
	mods, err := q.ModuleListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("load modules of %d: %w", communityID, err)
	}
	for _, m := range mods {
		s.modules[m.Name] = toRemote(m)
	}
	return s, nil
}

// lookup finds a command by name or alias: the community's own first, then built-in modules.
func (s *snapshot) lookup(name string, builtins map[string]*Command) *Command {
	if c := s.commands[name]; c != nil {
		return c
	}
	return builtins[name]
}

func cutSpace(s string) (string, string, bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\n")
	if i < 0 {
		return strings.ToLower(s), "", false
	}
	return strings.ToLower(s[:i]), strings.TrimSpace(s[i+1:]), true
}
