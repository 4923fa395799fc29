// Stands in for modernc.org/sqlite in the local FerretDB build (../go.mod's replace); see driver.go.
module modernc.org/sqlite

go 1.24.0

require github.com/mattn/go-sqlite3 v1.14.32
