package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses (our C stand-in, sqlitecgo/driver.go)
)

// FerretDB 1.24's SQLite backend looks a document up by `_ferretdb_sjson->'$._id'` but creates
// its _id index on `_ferretdb_sjson->"_id"`. SQLite only uses an expression index for the identical
// expression, so every _id lookup and every update scans the whole table (about 10 ms per
// operation at 1,500 documents, growing with the collection). keepIDLookupIndexed adds an index on
// the expression the queries use to every collection table, and keeps doing so for new collections.
// FerretDB does not list it (its index catalogue lives in its own metadata) and dropping the
// collection drops the table with it.
func keepIDLookupIndexed(ctx context.Context, dataDir string, logger *slog.Logger) {
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()

	for {
		files, _ := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
		for _, file := range files {
			if err := indexDatabase(ctx, file); err != nil {
				// Busy or mid-creation: the next round retries.
				logger.Debug("id lookup index not added yet", "file", file, "err", err)
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func indexDatabase(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(2000)")
	if err != nil {
		return err
	}
	defer db.Close()

	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+"_id_lookup", table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
