-- +goose Up
-- A run's and a trace row's community_id each had a foreign key to
-- communities, checked on every insert (about 10 µs a row: four checks per
-- synchronous webhook run). Neither is needed to delete them with their
-- community: a community's workflows cascade to their runs, and runs to
-- their trace rows. The engine writes community_id from the workflow it
-- runs, and every query still filters by it.
ALTER TABLE workflow_runs DROP CONSTRAINT workflow_runs_community_id_fkey;
ALTER TABLE workflow_node_runs DROP CONSTRAINT workflow_node_runs_community_id_fkey;

-- +goose Down
ALTER TABLE workflow_node_runs ADD CONSTRAINT workflow_node_runs_community_id_fkey
    FOREIGN KEY (community_id) REFERENCES communities (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE workflow_node_runs VALIDATE CONSTRAINT workflow_node_runs_community_id_fkey;
ALTER TABLE workflow_runs ADD CONSTRAINT workflow_runs_community_id_fkey
    FOREIGN KEY (community_id) REFERENCES communities (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE workflow_runs VALIDATE CONSTRAINT workflow_runs_community_id_fkey;
