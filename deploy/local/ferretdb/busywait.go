package main

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite lets one connection write at a time. A connection that finds the write lock taken calls its
// busy handler, and FerretDB leaves that to SQLite's own (busy_timeout(10000)), which sleeps 1, 2, 5,
// 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries. A write by `_id` holds the lock for well
// under a millisecond, so a writer that missed it once slept many times longer than the wait it needed:
// goroutine dumps of the publish benchmark at 100,000 listings (README, "Eighteenth session") caught up
// to 12 of 13 statements in progress asleep in that handler; with waiting writers polling instead,
// create + publish p95 fell by 12-23% in three side-by-side pairs, with more publishes a second.
//
// So with `-busy-wait poll` (the default) every connection gets pollForLock: it asks to try again after
// 20 us, 40 us, ... and then every 200 us. Go's timers on Linux wake a process that has nothing else to
// run only at about millisecond granularity (a lone time.Sleep of 20 or 200 us took 1.1 ms on the
// 2-core machines this runs on), so an actual pause is 0.2 to about 1 ms: still far below SQLite's. A
// sleeping poller is parked, not spinning: the cost is a wake-up per try.
//
// It gives up once 10 s have passed on the clock since this wait for the lock began, FerretDB's
// busy_timeout (the statement then fails with SQLITE_BUSY, as before). The limit is measured, not
// added up from the pauses asked for: with pauses four to fifty times longer than asked, a count of
// 10 s worth of them held a waiter, and the database connection it occupies, for close to a minute,
// which kept a store resumed after a pause from answering for over 90 s (tests/stack/test_unknown_outcome.py,
// in CI on 2026-12-03). `-busy-wait sqlite` keeps SQLite's handler, to compare.
const (
	busyFirstPause = 20 * time.Microsecond
	busyLongest    = 200 * time.Microsecond
)

// busyGiveUp is a variable only so that the Go tests can shorten it.
var busyGiveUp = 10 * time.Second

var (
	busyPollCount, busyGaveUpCount atomic.Int64

	_ = promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "ferretdb_sqlite_busy_polls_total",
		Help: "Pauses of a writer that found SQLite's write lock taken, before trying again (-busy-wait poll)",
	}, func() float64 { return float64(busyPollCount.Load()) })
	_ = promauto.NewCounterFunc(prometheus.CounterOpts{
		Name: "ferretdb_sqlite_busy_gave_up_total",
		Help: "Statements that found SQLite's write lock taken for the whole 10 s limit and failed",
	}, func() float64 { return float64(busyGaveUpCount.Load()) })

	// clockOrigin gives the wait starts a monotonic origin (time.Since reads Go's monotonic clock).
	clockOrigin = time.Now()
	// waitStarted holds, for each connection (by its SQLite handle, which SQLite passes to pollForLock
	// as its argument), when its current wait for the lock began, as time since clockOrigin. One entry
	// per handle address: a handle freed and reused by a later connection reuses its entry.
	waitStarted sync.Map // uintptr -> *atomic.Int64
)

// busyPause is the pause asked for before try number tries+1 (tries counts the tries that found the
// lock taken).
func busyPause(tries int32) time.Duration {
	return min(time.Duration(tries+1)*busyFirstPause, busyLongest)
}

// pollForLock is the busy handler in SQLite's C signature as modernc.org/sqlite runs it: return 1 to
// try again, 0 to fail the statement with SQLITE_BUSY. SQLite counts `tries` from 0 for each new wait.
func pollForLock(_ *libc.TLS, handle uintptr, tries int32) int32 {
	entry, ok := waitStarted.Load(handle)
	if !ok { // installPollForLock stores every connection's entry; this only guards against a miss
		entry, _ = waitStarted.LoadOrStore(handle, new(atomic.Int64))
	}
	started := entry.(*atomic.Int64)
	now := time.Since(clockOrigin)
	if tries == 0 {
		started.Store(int64(now))
	} else if now-time.Duration(started.Load()) >= busyGiveUp {
		busyGaveUpCount.Add(1)
		return 0
	}
	busyPollCount.Add(1)
	time.Sleep(busyPause(tries))
	return 1
}

// modernc.org/sqlite calls a C function pointer by reading it as a Go func value, which is a pointer to
// the function's closure record; a top-level function's record is static, so its address never moves.
var pollForLockFunc = pollForLock

var registerOnce sync.Once

// usePollForLock makes every SQLite connection opened from now on wait for the write lock with
// pollForLock. Call it before FerretDB opens its databases.
func usePollForLock() {
	registerOnce.Do(func() { sqlite.RegisterConnectionHook(installPollForLock) })
}

// installPollForLock replaces the connection's busy handler (set from the busy_timeout pragma while the
// connection was opened, before the hooks run).
func installPollForLock(conn sqlite.ExecQuerierContext, _ string) error {
	db, tls, err := connectionHandle(conn)
	if err != nil {
		return err
	}
	handler := *(*uintptr)(unsafe.Pointer(&pollForLockFunc))
	waitStarted.Store(db, new(atomic.Int64))
	if rc := sqlite3.Xsqlite3_busy_handler(tls, db, handler, db); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_busy_handler: code %d", rc)
	}
	return nil
}

// connectionHandle reads the SQLite handle and thread state that modernc.org/sqlite keeps in its
// unexported connection type (fields `db` and `tls` in the version go.mod pins). The driver has no
// public way to set a busy handler. The fields are looked up by name and type: a version that changes
// them fails every connection, and so busywait_test.go, rather than quietly keeping SQLite's sleeps.
func connectionHandle(conn any) (uintptr, *libc.TLS, error) {
	v := reflect.ValueOf(conn)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, nil, fmt.Errorf("unexpected modernc.org/sqlite connection type %T", conn)
	}
	s := v.Elem()
	db, hasDB := s.Type().FieldByName("db")
	tls, hasTLS := s.Type().FieldByName("tls")
	if !hasDB || db.Type.Kind() != reflect.Uintptr || !hasTLS || tls.Type != reflect.TypeOf((*libc.TLS)(nil)) {
		return 0, nil, fmt.Errorf("modernc.org/sqlite connection %T has no db uintptr and tls *libc.TLS fields", conn)
	}
	return uintptr(s.FieldByIndex(db.Index).Uint()), (*libc.TLS)(s.FieldByIndex(tls.Index).UnsafePointer()), nil
}
