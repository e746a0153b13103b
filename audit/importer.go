package audit

// Imports from another bot (importer package).
const (
	ImportCreated = "import_created" // target: "import #N from SOURCE"; after: what it holds
	ImportApplied = "import_applied" // recorded when the apply is asked for, and again with the report when it ends
	ImportUndone  = "import_undone"
)

func init() {
	Actions = append(Actions, ImportCreated, ImportApplied, ImportUndone)
}
