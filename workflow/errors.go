package workflow

import (
	"fmt"

	"github.com/waddle/waddle/problem"
)

// ErrNotFound answers for a workflow, run, version or webhook that does not
// exist in the community (another community's is the same answer).
var ErrNotFound = problem.New(problem.NotFound, "There is no such workflow here.")

// ErrRunNotFound answers for a run that does not exist in the community.
var ErrRunNotFound = problem.New(problem.NotFound, "There is no such workflow run here.")

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// nodeError is a node's failure, with the reason users read in the trace.
type nodeError struct {
	node   string
	reason string
}

func (e *nodeError) Error() string { return fmt.Sprintf("node %s: %s", e.node, e.reason) }

// limitError fails a run that went past one of its limits.
type limitError struct{ reason string }

func (e *limitError) Error() string { return e.reason }

func fieldOfProblem(err error) string {
	if p := problem.As(err); p != nil {
		return p.Field
	}
	return ""
}

func problemMessage(err error) string {
	if p := problem.As(err); p != nil {
		return p.Message
	}
	return err.Error()
}
