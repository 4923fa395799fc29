package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// A writer that finds the write lock taken waits in pollForLock (not in SQLite's own sleeps) and writes
// once the holder commits. Without the hook installed the poll count stays at zero and the test fails.
func TestAWriterFindingTheLockTakenPollsAndWritesAfterTheCommit(t *testing.T) {
	usePollForLock()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "busy.sqlite")
	// The same busy_timeout FerretDB sets, so the hook has SQLite's handler to replace.
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, waiter := open(), open()
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}

	held, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, err := held.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	pollsBefore := busyPollCount.Load()
	written := make(chan error, 1)
	go func() {
		_, err := waiter.ExecContext(ctx, "INSERT INTO t VALUES (2)")
		written <- err
	}()

	deadline := time.Now().Add(5 * time.Second)
	for busyPollCount.Load() < pollsBefore+3 {
		select {
		case err := <-written:
			t.Fatalf("the second writer did not wait for the lock held by the first (err: %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no polls in 5 s while the lock was held: pollForLock is not the busy handler")
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

// The pauses ramp up to busyLongest, busyWaited adds them up, and the handler gives up at the first try
// past busyGiveUp, as SQLite's busy_timeout(10000) did.
func TestBusyWaitPausesAddUpToTheLimit(t *testing.T) {
	var sum time.Duration
	for tries := int32(0); tries < 100; tries++ {
		if got := busyWaited(tries); got != sum {
			t.Fatalf("busyWaited(%d) = %v, want the sum of the pauses before it, %v", tries, got, sum)
		}
		pause := busyPause(tries)
		if pause < busyFirstPause || pause > busyLongest {
			t.Fatalf("busyPause(%d) = %v, outside [%v, %v]", tries, pause, busyFirstPause, busyLongest)
		}
		sum += pause
	}

	last := int32(0)
	for !busyGivesUp(last) {
		last++
	}
	if waited := busyWaited(last); waited < busyGiveUp || waited >= busyGiveUp+busyLongest {
		t.Fatalf("gives up after %v of pauses, want %v", waited, busyGiveUp)
	}
}
