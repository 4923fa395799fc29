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
// So with `-busy-wait poll` (the default) every connection gets pollForLock: it tries again after 20 us,
// 40 us, ... and then every 200 us, and gives up after the 10 s FerretDB's busy_timeout allowed (the
// statement then fails with SQLITE_BUSY, as before). A sleeping poller is parked, not spinning: the
// cost is a wake-up per try. `-busy-wait sqlite` keeps SQLite's handler, to compare.
const (
	busyFirstPause = 20 * time.Microsecond
	busyLongest    = 200 * time.Microsecond
	busyGiveUp     = 10 * time.Second
)

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
)

// busyPause is the pause before try number tries+1 (tries counts the tries that found the lock taken).
func busyPause(tries int32) time.Duration {
	return min(time.Duration(tries+1)*busyFirstPause, busyLongest)
}

// busyGivesUp: the pauses so far add up to the limit.
func busyGivesUp(tries int32) bool {
	return busyWaited(tries) >= busyGiveUp
}

// busyWaited is the sum of the pauses before the first `tries` tries.
func busyWaited(tries int32) time.Duration {
	ramp := int32(busyLongest / busyFirstPause)
	if tries <= ramp {
		return busyFirstPause * time.Duration(tries) * time.Duration(tries+1) / 2
	}
	return busyWaited(ramp) + time.Duration(tries-ramp)*busyLongest
}

// pollForLock is the busy handler in SQLite's C signature as modernc.org/sqlite runs it: return 1 to
// try again, 0 to fail the statement with SQLITE_BUSY.
func pollForLock(_ *libc.TLS, _ uintptr, tries int32) int32 {
	if busyGivesUp(tries) {
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
	if rc := sqlite3.Xsqlite3_busy_handler(tls, db, handler, 0); rc != sqlite3.SQLITE_OK {
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
