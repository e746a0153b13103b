package audit

// Timer actions.
const (
	TimerCreated = "timer_created"
	TimerUpdated = "timer_updated" // its settings, or turned on or off
	TimerDeleted = "timer_deleted"
)

// timersActions are the timers' actions, in Actions.
var timersActions = []string{TimerCreated, TimerUpdated, TimerDeleted}
