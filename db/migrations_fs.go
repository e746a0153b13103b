package db

import "io/fs"

// Migrations is the migrations this binary embeds and MigrateUp applies,
// by file name.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern names this directory
	}
	return sub
}
