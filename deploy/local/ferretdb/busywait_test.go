package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A writer that finds the write lock taken waits in poll_for_lock (not in SQLite's own sleeps) and writes
// once the holder commits. Without the hook installed the poll count stays at zero and the test fails.
func TestAWriterFindingTheLockTakenPollsAndWritesAfterTheCommit(t *testing.T) {
	usePollForLock()
	ctx := context.Background()
	holder, waiter := openPair(t, "busy.sqlite")
	held := holdWriteLock(t, holder)

	pollsBefore := busyPolls()
	written := make(chan error, 1)
	go func() {
		_, err := waiter.ExecContext(ctx, "INSERT INTO t VALUES (2)")
		written <- err
	}()

	deadline := time.Now().Add(5 * time.Second)
	for busyPolls() < pollsBefore+3 {
		select {
		case err := <-written:
			t.Fatalf("the second writer did not wait for the lock held by the first (err: %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no polls in 5 s while the lock was held: poll_for_lock is not the busy handler")
		}
		time.Sleep(time.Millisecond)
	}

	if _, err := held.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatalf("the waiting write failed after the lock was released: %v", err)
	}
	var rows int
	if err := waiter.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Fatalf("rows = %d, want both writes", rows)
	}
}

// The pauses asked for ramp up from busyFirstPause to busyLongest and stay there.
func TestBusyPausesRampUpToTheLongest(t *testing.T) {
	previous := time.Duration(0)
	for tries := 0; tries < 100; tries++ {
		pause := busyPause(tries)
		if pause < busyFirstPause || pause > busyLongest || pause < previous {
			t.Fatalf("busyPause(%d) = %v after %v: not ramping within [%v, %v]", tries, pause, previous,
				busyFirstPause, busyLongest)
		}
		previous = pause
	}
	if previous != busyLongest {
		t.Fatalf("the pause settles at %v, want %v", previous, busyLongest)
	}
}

// A writer facing a lock that is never released gives up once the limit has passed on the clock, not
// after the pauses it asked for add up to it: sleeps last longer than asked (Go's lasted about 1 ms for a
// 200 us one here), and adding up the asked pauses once waited five times the limit.
func TestAWriterGivesUpWhenTheLimitHasPassedOnTheClock(t *testing.T) {
	usePollForLock()
	const limit = 500 * time.Millisecond
	previous := setBusyGiveUp(limit)
	t.Cleanup(func() { setBusyGiveUp(previous) })

	ctx := context.Background()
	holder, waiter := openPair(t, "held.sqlite")
	holdWriteLock(t, holder) // never released: the test's cleanup closes the connection

	gaveUpBefore := busyGaveUps()
	started := time.Now()
	_, err := waiter.ExecContext(ctx, "INSERT INTO t VALUES (2)")
	waited := time.Since(started)
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("the write met a held lock and answered %v, want SQLITE_BUSY (database is locked)", err)
	}
	if waited < limit || waited > 2*limit {
		t.Fatalf("gave up after %v, want %v on the clock (within twice that)", waited, limit)
	}
	if busyGaveUps() != gaveUpBefore+1 {
		t.Fatalf("ferretdb_sqlite_busy_gave_up_total moved by %d, want 1", busyGaveUps()-gaveUpBefore)
	}
}

// openPair opens two connection pools on one new database file with the busy_timeout FerretDB sets (so
// the hook has SQLite's handler to replace), and creates table t.
func openPair(t *testing.T, name string) (*sql.DB, *sql.DB) {
	file := filepath.Join(t.TempDir(), name)
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	first, second := open(), open()
	if _, err := first.ExecContext(context.Background(), "CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	return first, second
}

// holdWriteLock takes SQLite's write lock on one connection of db (a transaction that has written a row
// and is still open) and returns that connection; the test's cleanup closes it, rolling back.
func holdWriteLock(t *testing.T, db *sql.DB) *sql.Conn {
	ctx := context.Background()
	held, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	if _, err := held.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, err := held.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	return held
}
