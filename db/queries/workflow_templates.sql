-- name: WorkflowTemplateInsert :one
INSERT INTO workflow_templates (community_id, name, description, definition, created_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: WorkflowTemplateList :many
SELECT * FROM workflow_templates WHERE community_id = $1 ORDER BY name, id;

-- name: WorkflowTemplateGet :one
SELECT * FROM workflow_templates WHERE community_id = $1 AND id = $2;

-- name: WorkflowTemplateDelete :execrows
DELETE FROM workflow_templates WHERE community_id = $1 AND id = $2;
