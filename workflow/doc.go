// Package workflow is the automation engine: community managers draw
// workflows of typed nodes (triggers, conditions, actions, data, loops and
// flow) in the hub; the engine validates them, keeps every published
// version, and runs them durably on the job queue with a trace per node.
package workflow
