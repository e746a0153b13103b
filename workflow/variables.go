package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Variable is a stored variable of a workflow (WorkflowID > 0) or of the
// community (WorkflowID 0).
type Variable struct {
	Name      string    `json:"name"`
	Value     any       `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// variableOwner returns the workflow_id a stored scope uses: the run's
// workflow, or 0 for the community.
func variableOwner(run RunInfo, scope string) (int64, error) {
	if scope == ScopeCommunity {
		return 0, nil
	}
	if run.WorkflowID <= 0 {
		return 0, fmt.Errorf("a workflow variable needs a stored workflow")
	}
	return run.WorkflowID, nil
}

// getVariable reads a stored variable; found is false when it was never set.
func getVariable(ctx context.Context, q *db.Queries, communityID, workflowID int64, name string) (v any, found bool, err error) {
	raw, err := q.WorkflowVariableGet(ctx, db.WorkflowVariableGetParams{CommunityID: communityID, WorkflowID: workflowID, Name: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read variable %q: %w", name, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false, fmt.Errorf("decode variable %q: %w", name, err)
	}
	return v, true, nil
}

// setVariable stores a variable, replacing any earlier value.
func setVariable(ctx context.Context, q *db.Queries, communityID, workflowID int64, name string, raw []byte) error {
	err := q.WorkflowVariableSet(ctx, db.WorkflowVariableSetParams{CommunityID: communityID, WorkflowID: workflowID, Name: name, Value: raw})
	if err != nil {
		return fmt.Errorf("store variable %q: %w", name, err)
	}
	return nil
}

// ListVariables lists a workflow's stored variables (workflowID 0: the
// community's), by name.
func ListVariables(ctx context.Context, q *db.Queries, communityID, workflowID int64) ([]Variable, error) {
	rows, err := q.WorkflowVariableList(ctx, db.WorkflowVariableListParams{CommunityID: communityID, WorkflowID: workflowID})
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	out := make([]Variable, 0, len(rows))
	for _, r := range rows {
		v := Variable{Name: r.Name, UpdatedAt: r.UpdatedAt}
		if err := json.Unmarshal(r.Value, &v.Value); err != nil {
			return nil, fmt.Errorf("decode variable %q: %w", r.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}
