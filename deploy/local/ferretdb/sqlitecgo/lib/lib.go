// Package lib takes the place of modernc.org/sqlite/lib in the local FerretDB build (see the parent
// package): the SQLite result codes FerretDB and our program compare errors with, from SQLite's C API.
package lib

// SQLite's result codes (https://www.sqlite.org/rescode.html).
const (
	SQLITE_OK                = 0
	SQLITE_BUSY              = 5
	SQLITE_CONSTRAINT_UNIQUE = 2067 // SQLITE_CONSTRAINT | (8 << 8)
)
