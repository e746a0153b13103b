package audit

// People actions (target: the person, "person 12 (alice)").
const (
	ReputationAdjusted = "reputation_adjusted" // by a moderator, with the reason in After
)

// peopleActions are the people pages' actions, in Actions.
var peopleActions = []string{ReputationAdjusted}
