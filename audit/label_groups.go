package audit

// Entity groups: a label mapped to a platform role, and the choices made
// after a re-sync.
const (
	LabelGroupMapped   = "label_group_mapped"   // target: "label NAME → PLATFORM GROUP on SERVER"
	LabelGroupUnmapped = "label_group_unmapped" // target as LabelGroupMapped
	LabelGroupResolved = "label_group_resolved" // a difference a re-sync found, settled by a moderator's choice
)

var labelGroupActions = []string{LabelGroupMapped, LabelGroupUnmapped, LabelGroupResolved}
