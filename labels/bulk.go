package labels

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// MaxBulk is the most operations one bulk request may carry.
const MaxBulk = 1000

// PersonRef names a person: by identity id, by platform account id, or by the
// name an account last used on a platform. Exactly one of the three.
type PersonRef struct {
	IdentityID int64
	Platform   string
	Account    string
	Name       string
}

// BulkOp is one operation of a bulk request.
type BulkOp struct {
	Give   bool // add; false: remove
	Person PersonRef
	Label  string // the label's id or name
	Err    error  // set when the request already found the item wrong (unreadable)
}

// Outcome is what became of one operation.
type Outcome struct {
	Index   int    `json:"index"`
	OK      bool   `json:"ok"`
	Changed bool   `json:"changed"` // false: the person already had (or lacked) the label
	Error   string `json:"error,omitempty"`
}

// BulkResult is the outcome of every operation, and whether any was applied.
type BulkResult struct {
	Applied bool      `json:"applied"`
	Added   int64     `json:"added"`
	Removed int64     `json:"removed"`
	Items   []Outcome `json:"items"`
}

// ErrNotApplied marks the items of an all-or-nothing request that were not
// at fault when another item was.
const notApplied = "Not applied: other items have errors, and nothing was applied (send \"partial\": true to apply the valid ones)."

// checkRef names what is wrong with a person reference, or "".
func checkRef(p PersonRef) string {
	forms := 0
	if p.IdentityID != 0 {
		forms++
	}
	if p.Account != "" {
		forms++
	}
	if p.Name != "" {
		forms++
	}
	switch {
	case forms == 0:
		return "person: give an identity id, or {\"platform\", \"account\"}, or {\"platform\", \"name\"}."
	case forms > 1:
		return "person: give one of an identity id, an account or a name, not several."
	case p.IdentityID < 0:
		return "person: an identity id is a positive whole number."
	case p.IdentityID > 0:
		return ""
	}
	switch p.Platform {
	case "twitch", "discord", "slack":
	case "":
		return "person.platform: name the platform (twitch, discord or slack)."
	default:
		return fmt.Sprintf("person.platform: %q is not twitch, discord or slack.", clip(p.Platform, 20))
	}
	if utf8.RuneCountInString(p.Account) > 100 || utf8.RuneCountInString(p.Name) > 100 {
		return "person: an account id or name is at most 100 characters."
	}
	return ""
}

// notMet says that the community has not met the person named, in the same
// words whether or not that identity or account exists elsewhere.
func notMet(p PersonRef) string {
	switch {
	case p.IdentityID > 0:
		return fmt.Sprintf("person: this community has not met person %d.", p.IdentityID)
	case p.Account != "":
		return fmt.Sprintf("person: no %s account %q has been seen here.", p.Platform, clip(p.Account, 100))
	}
	return fmt.Sprintf("person: no one called %q has been seen here on %s.", clip(strings.TrimPrefix(p.Name, "@"), 100), p.Platform)
}

type pair struct{ identity, label int64 }

// Bulk adds and removes labels for many people of the community in one
// transaction. All or nothing (partial false): if any operation is wrong,
// none is applied. partial: the valid ones are applied. Operations apply in
// order, so a person's limit counts the earlier operations.
func (s *Service) Bulk(ctx context.Context, a audit.Actor, communityID int64, ops []BulkOp, partial bool) (BulkResult, error) {
	if len(ops) == 0 {
		return BulkResult{}, problem.Invalidf("operations", "Send at least one operation.")
	}
	if len(ops) > MaxBulk {
		return BulkResult{}, problem.Invalidf("operations", "Send at most %d operations in one request; this one has %d.", MaxBulk, len(ops))
	}
	res := BulkResult{Items: make([]Outcome, len(ops))}
	errs := make([]string, len(ops))
	for i, op := range ops {
		res.Items[i].Index = i
		switch {
		case op.Err != nil:
			errs[i] = op.Err.Error()
		case checkRef(op.Person) != "":
			errs[i] = checkRef(op.Person)
		case strings.TrimSpace(op.Label) == "":
			errs[i] = "label: name the label (its id or name)."
		}
	}
	var changes []Change
	err := s.tx(ctx, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.LabelsLockTimeout(ctx); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		ids, err := s.resolve(ctx, q, communityID, ops, errs)
		if err != nil {
			return err
		}
		labelIDs, err := resolveLabels(ctx, q, communityID, ops, errs)
		if err != nil {
			return err
		}
		// Lock the people's rows, then read what they carry.
		var people []int64
		for i := range ops {
			if errs[i] == "" {
				people = append(people, ids[i])
			}
		}
		slices.Sort(people)
		people = slices.Compact(people)
		locked, err := q.CommunityPeopleLockMany(ctx, db.CommunityPeopleLockManyParams{CommunityID: communityID, IdentityIds: people})
		if err != nil {
			return fmt.Errorf("lock people: %w", err)
		}
		has := make(map[int64]map[int64]bool, len(locked))
		for _, id := range locked {
			has[id] = map[int64]bool{}
		}
		current, err := q.PersonLabelsOfMany(ctx, db.PersonLabelsOfManyParams{CommunityID: communityID, IdentityIds: locked})
		if err != nil {
			return fmt.Errorf("labels of people: %w", err)
		}
		start := make(map[pair]bool, len(current))
		for _, r := range current {
			has[r.IdentityID][r.LabelID] = true
			start[pair{r.IdentityID, r.LabelID}] = true
		}
		// Apply in order, in memory.
		touched := map[pair]bool{}
		var order []pair
		for i, op := range ops {
			if errs[i] != "" {
				continue
			}
			set, ok := has[ids[i]]
			if !ok {
				errs[i] = notMet(op.Person)
				continue
			}
			p := pair{ids[i], labelIDs[i]}
			switch {
			case op.Give && set[p.label]:
			case op.Give && len(set) >= MaxPerPerson:
				errs[i] = fmt.Sprintf("label: this person would have more than %d labels in this community.", MaxPerPerson)
				continue
			case op.Give:
				set[p.label] = true
				res.Items[i].Changed = true
			case set[p.label]:
				delete(set, p.label)
				res.Items[i].Changed = true
			}
			if !touched[p] {
				touched[p] = true
				order = append(order, p)
			}
		}
		bad := slices.ContainsFunc(errs, func(e string) bool { return e != "" })
		if bad && !partial {
			return errNotApplied
		}
		var addI, addL, remI, remL []int64
		for _, p := range order {
			now := has[p.identity][p.label]
			switch {
			case now && !start[p]:
				addI, addL = append(addI, p.identity), append(addL, p.label)
				changes = append(changes, Change{CommunityID: communityID, IdentityID: p.identity, LabelID: p.label, Give: true})
			case !now && start[p]:
				remI, remL = append(remI, p.identity), append(remL, p.label)
				changes = append(changes, Change{CommunityID: communityID, IdentityID: p.identity, LabelID: p.label})
			}
		}
		if len(remI) > 0 {
			if res.Removed, err = q.PersonLabelsRemoveMany(ctx, db.PersonLabelsRemoveManyParams{CommunityID: communityID, IdentityIds: remI, LabelIds: remL}); err != nil {
				return fmt.Errorf("remove labels: %w", err)
			}
		}
		if len(addI) > 0 {
			var by *int64
			if a.UserID != 0 {
				by = &a.UserID
			}
			if res.Added, err = q.PersonLabelsAddMany(ctx, db.PersonLabelsAddManyParams{CommunityID: communityID, IdentityIds: addI, LabelIds: addL, AddedBy: by}); err != nil {
				return fmt.Errorf("add labels: %w", err)
			}
		}
		if len(changes) == 0 {
			return nil
		}
		if s.roles != nil {
			if err := s.roles.Changed(ctx, tx, changes); err != nil {
				return fmt.Errorf("label roles: %w", err)
			}
		}
		return audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: audit.LabelsBulk,
			Target: strconv.Itoa(len(ops)) + " operations", After: map[string]int64{"added": res.Added, "removed": res.Removed}})
	})
	if err != nil && err != errNotApplied {
		return BulkResult{}, err
	}
	res.Applied = err == nil
	for i := range res.Items {
		switch {
		case errs[i] != "":
			res.Items[i].Error = errs[i]
			res.Items[i].Changed = false
		case !res.Applied:
			res.Items[i].Error = notApplied
			res.Items[i].Changed = false
		default:
			res.Items[i].OK = true
		}
	}
	if res.Applied && len(changes) > 0 {
		s.changed(ctx, communityID)
	}
	return res, nil
}

var errNotApplied = fmt.Errorf("bulk not applied")

// resolve finds the identity of every valid item's person in one query.
func (s *Service) resolve(ctx context.Context, q *db.Queries, communityID int64, ops []BulkOp, errs []string) ([]int64, error) {
	p := db.PersonResolveParams{CommunityID: communityID}
	for i, op := range ops {
		if errs[i] != "" {
			continue
		}
		p.Ns = append(p.Ns, int32(i))
		p.IdentityIds = append(p.IdentityIds, op.Person.IdentityID)
		p.Platforms = append(p.Platforms, op.Person.Platform)
		p.Accounts = append(p.Accounts, op.Person.Account)
		p.Names = append(p.Names, strings.TrimPrefix(op.Person.Name, "@"))
	}
	ids := make([]int64, len(ops))
	if len(p.Ns) == 0 {
		return ids, nil
	}
	rows, err := q.PersonResolve(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("resolve people: %w", err)
	}
	for _, r := range rows {
		ids[r.N] = r.IdentityID
		if r.IdentityID == 0 {
			errs[r.N] = notMet(ops[r.N].Person)
		}
	}
	return ids, nil
}

// resolveLabels finds every valid item's label among the community's.
func resolveLabels(ctx context.Context, q *db.Queries, communityID int64, ops []BulkOp, errs []string) ([]int64, error) {
	rows, err := q.LabelsOfScope(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("community labels: %w", err)
	}
	byName := make(map[string]int64, len(rows))
	byID := make(map[string]int64, len(rows))
	for _, r := range rows {
		byName[strings.ToLower(r.Name)] = r.ID
		byID[strconv.FormatInt(r.ID, 10)] = r.ID
	}
	out := make([]int64, len(ops))
	for i, op := range ops {
		if errs[i] != "" {
			continue
		}
		ref := strings.ToLower(strings.Join(strings.Fields(op.Label), " "))
		if id, ok := byName[ref]; ok {
			out[i] = id
		} else if id, ok := byID[ref]; ok {
			out[i] = id
		} else {
			errs[i] = fmt.Sprintf("label: this community has no label %q.", clip(op.Label, MaxNameLen))
		}
	}
	return out, nil
}
