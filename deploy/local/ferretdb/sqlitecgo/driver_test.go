package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"modernc.org/sqlite/lib"
)

// FerretDB's URI form: the pragmas come out in the order given, the other parameters stay.
func TestPragmasAreTakenOutOfTheURIInOrder(t *testing.T) {
	location, pragmas, err := splitPragmas("file:/data/db.sqlite?_pragma=synchronous%28normal%29" +
		"&mode=rwc&_pragma=busy_timeout(10000)&_pragma=journal_mode%28wal%29")
	if err != nil {
		t.Fatal(err)
	}
	if location != "file:/data/db.sqlite?mode=rwc" {
		t.Fatalf("location = %q, want the URI without its _pragma parameters", location)
	}
	want := []string{"synchronous = normal", "busy_timeout = 10000", "journal_mode = wal"}
	if !reflect.DeepEqual(pragmas, want) {
		t.Fatalf("pragmas = %q, want %q", pragmas, want)
	}
	if _, _, err := splitPragmas("file:x.sqlite?_pragma=journal_mode"); err == nil {
		t.Fatal("a _pragma that is not name(value) was accepted")
	}
}

// A connection runs the URI's pragmas, and a duplicate in a unique index reads as FerretDB expects it
// (Error, Code() SQLITE_CONSTRAINT_UNIQUE), through a prepared statement as through a plain one.
func TestPragmasApplyAndAUniqueViolationReadsAsFerretDBExpects(t *testing.T) {
	file := filepath.Join(t.TempDir(), "unique.sqlite")
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()

	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q (%v), want wal from the URI", mode, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k TEXT NOT NULL UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?)", "a"); err != nil {
		t.Fatal(err)
	}

	prepared, err := db.PrepareContext(ctx, "INSERT INTO t VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prepared.Close() })
	_, direct := db.ExecContext(ctx, "INSERT INTO t VALUES (?)", "a")
	_, viaPrepared := prepared.ExecContext(ctx, "a")
	for name, err := range map[string]error{"plain": direct, "prepared": viaPrepared} {
		var failed *Error
		if !errors.As(err, &failed) || failed.Code() != lib.SQLITE_CONSTRAINT_UNIQUE {
			t.Fatalf("%s statement: duplicate answered %v (%T), want Error with SQLITE_CONSTRAINT_UNIQUE", name, err, err)
		}
	}
}
