package router

// BuiltinName reports whether name is a built-in command or one the chat
// platforms keep: no community command or alias can have it (the importer
// asks before creating commands in its own transaction).
func (st *Settings) BuiltinName(name string) bool {
	return Reserved(name) || st.reg.commands[name] != nil
}
