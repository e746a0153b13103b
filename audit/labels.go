package audit

// Labels on people and communities (labels package).
const (
	LabelCreated       = "label_created" // target: the label's name; community 0 for a hub-wide label
	LabelUpdated       = "label_updated"
	LabelDeleted       = "label_deleted"
	PersonLabelAdded   = "person_label_added" // target: "person ID: label NAME"
	PersonLabelRemoved = "person_label_removed"
	LabelsBulk         = "labels_bulk_changed" // after: how many were added and removed
	CommunityLabelsSet = "community_labels_set"
)

// labelsActions are the labels' actions, in Actions.
var labelsActions = []string{LabelCreated, LabelUpdated, LabelDeleted, PersonLabelAdded, PersonLabelRemoved, LabelsBulk, CommunityLabelsSet}
