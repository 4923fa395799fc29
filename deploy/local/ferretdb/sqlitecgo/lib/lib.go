// Package lib takes the place of modernc.org/sqlite/lib in the local FerretDB build (see the parent
// package): the SQLite result code FerretDB compares errors with, from SQLite's C API.
package lib

// SQLite's extended result code for a unique index violated (https://www.sqlite.org/rescode.html):
// SQLITE_CONSTRAINT | (8 << 8). The only code FerretDB 1.24 compares errors with.
const SQLITE_CONSTRAINT_UNIQUE = 2067
