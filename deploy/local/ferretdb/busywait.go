package main

/*
#include <stdint.h>
#include <time.h>
#include <unistd.h>

// SQLite's C API, linked from github.com/mattn/go-sqlite3's copy of SQLite (sqlitecgo/driver.go).
typedef struct sqlite3 sqlite3;
int sqlite3_busy_handler(sqlite3 *, int (*)(void *, int), void *);

#define BUSY_FIRST_PAUSE_US 20
#define BUSY_LONGEST_PAUSE_US 200
static int64_t busy_give_up_ns = 10LL * 1000 * 1000 * 1000;
static int64_t busy_polls, busy_gave_up;

// When the current wait for the lock began. A wait happens inside one sqlite3_step call, on the thread
// running it, so the thread's own variable is the wait's.
static __thread int64_t wait_started_ns;

static int64_t monotonic_ns(void) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int64_t busy_pause_us(int tries) {
	int64_t pause = (int64_t)(tries + 1) * BUSY_FIRST_PAUSE_US;
	return pause < BUSY_LONGEST_PAUSE_US ? pause : BUSY_LONGEST_PAUSE_US;
}

// SQLite's busy handler: return 1 to try again, 0 to fail the statement with SQLITE_BUSY. SQLite counts
// tries from 0 for each new wait.
static int poll_for_lock(void *unused, int tries) {
	int64_t now = monotonic_ns();
	if (tries == 0) {
		wait_started_ns = now;
	} else if (now - wait_started_ns >= __atomic_load_n(&busy_give_up_ns, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&busy_gave_up, 1, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_fetch_add(&busy_polls, 1, __ATOMIC_RELAXED);
	usleep((useconds_t)busy_pause_us(tries));
	return 1;
}

static int install_poll_for_lock(void *db) { return sqlite3_busy_handler((sqlite3 *)db, poll_for_lock, 0); }
static int64_t busy_polls_total(void) { return __atomic_load_n(&busy_polls, __ATOMIC_RELAXED); }
static int64_t busy_gave_up_total(void) { return __atomic_load_n(&busy_gave_up, __ATOMIC_RELAXED); }
static int64_t set_busy_give_up_ns(int64_t ns) { return __atomic_exchange_n(&busy_give_up_ns, ns, __ATOMIC_RELAXED); }
*/
import "C"

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"modernc.org/sqlite" // our stand-in (go.mod's replace): the C SQLite driver, sqlitecgo/driver.go
)

// SQLite lets one connection write at a time. A connection that finds the write lock taken calls its
// busy handler, and FerretDB leaves that to SQLite's own (busy_timeout(10000)), which sleeps 1, 2, 5,
// 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries. A write by `_id` holds the lock for well
// under a millisecond, so a writer that missed it once slept many times longer than the wait it needed:
// goroutine dumps of the publish benchmark at 100,000 listings (README, "Eighteenth session") caught up
// to 12 of 13 statements in progress asleep in that handler; with waiting writers polling instead,
// create + publish p95 fell by 12-23% in three side-by-side pairs, with more publishes a second.
//
// So with `-busy-wait poll` (the default) every connection gets poll_for_lock (C, above): it asks to try
// again after 20 us, 40 us, ... and then every 200 us, sleeping in usleep on the thread running the
// statement. (Until the forty-first session SQLite was modernc.org/sqlite, C translated to Go, and the
// handler a Go function whose time.Sleep woke only at about millisecond granularity on these machines.)
// A sleeping poller is parked, not spinning: the cost is a wake-up per try.
//
// It gives up once 10 s have passed on the clock since this wait for the lock began, FerretDB's
// busy_timeout (the statement then fails with SQLITE_BUSY, as before). The limit is measured, not
// added up from the pauses asked for: sleeps last longer than asked, and a count of 10 s worth of them
// once held a waiter, and the database connection it occupies, for close to a minute, which kept a
// store resumed after a pause from answering for over 90 s (tests/stack/test_unknown_outcome.py, in CI on
// 2026-12-03). `-busy-wait sqlite` keeps SQLite's handler, to compare.

var (
	_ = promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "ferretdb_sqlite_busy_polls_total",
		Help: "Pauses of a writer that found SQLite's write lock taken, before trying again (-busy-wait poll)",
	}, func() float64 { return float64(busyPolls()) })
	_ = promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "ferretdb_sqlite_busy_gave_up_total",
		Help: "Statements that found SQLite's write lock taken for the whole 10 s limit and failed",
	}, func() float64 { return float64(busyGaveUps()) })
)

var registerOnce sync.Once

// usePollForLock makes every SQLite connection opened from now on wait for the write lock with
// poll_for_lock. Call it before FerretDB opens its databases.
func usePollForLock() {
	registerOnce.Do(func() { sqlite.RegisterConnectionHook(installPollForLock) })
}

// installPollForLock replaces the connection's busy handler (set from the busy_timeout pragma while the
// connection was opened, before the hooks run).
func installPollForLock(handle unsafe.Pointer) error {
	if rc := C.install_poll_for_lock(handle); rc != 0 {
		return fmt.Errorf("sqlite3_busy_handler: code %d", int(rc))
	}
	return nil
}

func busyPolls() int64   { return int64(C.busy_polls_total()) }
func busyGaveUps() int64 { return int64(C.busy_gave_up_total()) }

// busyPause is the pause asked for before try number tries+1 (tries counts the tries that found the
// lock taken).
func busyPause(tries int) time.Duration {
	return time.Duration(C.busy_pause_us(C.int(tries))) * time.Microsecond
}

const (
	busyFirstPause = C.BUSY_FIRST_PAUSE_US * time.Microsecond
	busyLongest    = C.BUSY_LONGEST_PAUSE_US * time.Microsecond
)

// setBusyGiveUp changes the limit (10 s) and returns the one before; only the Go tests shorten it.
func setBusyGiveUp(limit time.Duration) time.Duration {
	return time.Duration(C.set_busy_give_up_ns(C.int64_t(limit.Nanoseconds())))
}
