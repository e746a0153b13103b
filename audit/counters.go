package audit

// Named counter actions: a community's {counter:NAME} counters set, reset or
// deleted from the hub, the API or chat (a reply's increment is not audited).
const (
	NamedCounterSet     = "counter_set"
	NamedCounterDeleted = "counter_deleted"
)

var counterActions = []string{NamedCounterSet, NamedCounterDeleted}
