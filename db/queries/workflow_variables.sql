-- Variables that outlive a run: workflow_id is the workflow's, or 0 for the
-- community's own.

-- name: WorkflowVariableGet :one
SELECT value FROM workflow_variables
WHERE community_id = $1 AND workflow_id = $2 AND name = $3;

-- name: WorkflowVariableSet :exec
INSERT INTO workflow_variables (community_id, workflow_id, name, value)
VALUES ($1, $2, $3, $4)
ON CONFLICT (community_id, workflow_id, name)
DO UPDATE SET value = EXCLUDED.value, updated_at = now();

-- name: WorkflowVariableList :many
SELECT name, value, updated_at FROM workflow_variables
WHERE community_id = $1 AND workflow_id = $2
ORDER BY name;
