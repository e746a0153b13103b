package db

// MigrationFiles gives the external tests the embedded migrations.
var MigrationFiles = migrationFiles
