// Package migrations embeds the SQL migrations, one folder per dialect. The
// two folders describe the same schema; only types and syntax differ.
// File names follow bun/migrate: <version>_<name>.tx.up.sql runs in a
// transaction and is marked applied only when it succeeds.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// ForDialect returns the migrations for "sqlite" or "postgres".
func ForDialect(name string) (fs.FS, error) {
	switch name {
	case "sqlite", "postgres":
		return fs.Sub(files, name)
	}
	return nil, fmt.Errorf("migrations: unknown dialect %q", name)
}
