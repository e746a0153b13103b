package workflow

import (
	"context"
	"fmt"
	"slices"
)

// Loop and flow nodes open groups: each item, iteration or branch runs in a
// frame of its own, and the node's "done" port fires once every frame has
// completed, with their results. They are run by the engine, not by a Run.

// startGroup runs a loop or flow node's activation: it opens its group.
func (r *runner) startGroup(ctx context.Context, a *activation) error {
	n, cfg := r.c.nodes[a.Node], r.c.cfgs[a.Node]
	g := &group{Node: n.ID, Kind: n.Type, Frames: slices.Clone(a.Frames), Input: a.Input, Last: a.Input}
	switch c := cfg.(type) {
	case *ForeachConfig:
		items := a.Input
		if c.Items != "" {
			x := &Exec{Run: r.info, Node: n, Input: a.Input, Scope: r.scope(a), Env: r.env}
			items, _ = RenderValue(c.Items, x.Scope)
		}
		list, ok := items.([]any)
		if !ok {
			return &nodeError{node: n.ID, reason: fmt.Sprintf("items is %s, not an array", describe(items))}
		}
		if len(list) > c.MaxItems {
			return &nodeError{node: n.ID, reason: fmt.Sprintf("the array has %d items, more than this loop's maximum of %d", len(list), c.MaxItems)}
		}
		g.Items, g.Limit = list, c.Concurrency
		g.Results = make([]any, len(list))
	case *WhileConfig:
		g.Limit = c.MaxIterations
	case *ParallelConfig:
		if c.Branches > r.limits.MaxParallel {
			return &limitError{fmt.Sprintf("node %s starts %d branches, more than the run's limit of %d", n.ID, c.Branches, r.limits.MaxParallel)}
		}
		g.Limit, g.Results = c.Branches, make([]any, c.Branches)
	case *SequenceConfig:
		g.Limit, g.Results = c.Steps, make([]any, c.Steps)
	default:
		return fmt.Errorf("node %s: %s is not a loop or flow node", n.ID, n.Type)
	}
	r.st.NextID++
	id := r.st.NextID
	r.st.Groups[id] = g
	r.record(a, Trace{Status: "succeeded", Notes: []string{groupNote(g)}, Started: now()})
	return r.advance(ctx, id)
}

func groupNote(g *group) string {
	switch g.Kind {
	case "loop_foreach":
		return fmt.Sprintf("looping over %d items, %d at a time", len(g.Items), g.Limit)
	case "loop_while":
		return fmt.Sprintf("looping while the condition holds, at most %d times", g.Limit)
	case "flow_parallel":
		return fmt.Sprintf("running %d branches at once", g.Limit)
	}
	return fmt.Sprintf("running %d steps in turn", g.Limit)
}

// advance opens the group's next frames, or ends it when all are done.
func (r *runner) advance(ctx context.Context, gid int) error {
	g := r.st.Groups[gid]
	for {
		switch g.Kind {
		case "loop_foreach":
			if g.Open < g.Limit && g.Next < len(g.Items) {
				i := g.Next
				g.Next++
				r.open(gid, g, i, g.Items[i], g.Items[i], []string{"item"})
				continue
			}
			if g.Open == 0 {
				return r.finish(gid, g, g.Results)
			}
		case "loop_while":
			if g.Open > 0 {
				return nil
			}
			holds, err := r.whileHolds(g)
			if err != nil {
				return err
			}
			if !holds {
				return r.finish(gid, g, g.Last)
			}
			if g.Next >= g.Limit {
				return &nodeError{node: g.Node, reason: fmt.Sprintf("the condition still held after %d iterations, this loop's maximum", g.Limit)}
			}
			i := g.Next
			g.Next++
			r.open(gid, g, i, i, g.Last, []string{"body"})
			continue
		case "flow_parallel":
			for g.Next < g.Limit {
				i := g.Next
				g.Next++
				r.open(gid, g, i, nil, g.Input, []string{portN("branch_", i+1)})
			}
			if g.Open == 0 {
				return r.finish(gid, g, g.Results)
			}
		case "flow_sequence":
			if g.Open == 0 && g.Next < g.Limit {
				i := g.Next
				g.Next++
				r.open(gid, g, i, nil, g.Input, []string{portN("step_", i+1)})
				continue
			}
			if g.Open == 0 {
				return r.finish(gid, g, g.Results)
			}
		}
		return nil
	}
}

// open starts frame i of a group, sending input on the ports; a port with
// nothing connected completes the frame at once, with the input as result.
func (r *runner) open(gid int, g *group, i int, item, input any, ports []string) {
	r.st.NextID++
	fid := r.st.NextID
	f := &frame{Group: gid, Index: i, Item: item}
	r.st.Frames[fid] = f
	frames := append(slices.Clone(g.Frames), fid)
	k := r.emitFrom(g.Node, ports, input, frames)
	if k == 0 {
		delete(r.st.Frames, fid)
		r.collect(g, i, input)
		return
	}
	f.Live = k
	g.Open++
}

func (r *runner) collect(g *group, i int, result any) {
	if i < len(g.Results) {
		g.Results[i] = result
	}
	g.Last = result
}

// frameDone ends a frame whose activations have all completed.
func (r *runner) frameDone(fid int) {
	f := r.st.Frames[fid]
	delete(r.st.Frames, fid)
	g := r.st.Groups[f.Group]
	if g == nil {
		return
	}
	g.Open--
	r.collect(g, f.Index, f.Result)
	if err := r.advance(context.Background(), f.Group); err != nil {
		r.groupErr = append(r.groupErr, groupFailure{node: g.Node, err: err})
	}
}

// finish ends a group: its node's "done" port fires in the node's frames.
func (r *runner) finish(gid int, g *group, output any) error {
	delete(r.st.Groups, gid)
	r.st.Outputs[g.Node] = output
	k := r.emitFrom(g.Node, []string{"done"}, output, g.Frames)
	r.settle(g.Frames, k, output)
	return nil
}

type groupFailure struct {
	node string
	err  error
}
