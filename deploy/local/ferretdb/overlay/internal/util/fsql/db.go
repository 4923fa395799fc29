// Package fsql takes the place of two files of FerretDB 1.24's internal/util/fsql (db.go and tx.go)
// when the local store is built: devstack.components.ensure_ferretdb copies every file under
// deploy/local/ferretdb/overlay over the same path of FerretDB's module in a vendored copy of the
// program's modules. It is not compiled otherwise. The package's other files (metrics.go, rows.go) stay
// FerretDB's; these two keep the API they call and their callers call.
//
// Why: FerretDB logs every SQL statement it sends at debug level, and builds the log record's logger
// (`Logger.With`, which formats the arguments, the whole document of an insert or update, as JSON)
// before the level is checked, twice per statement. A Go CPU profile of the store under the publish
// benchmark (README, "Twenty-seventh session") spent about 5% of its CPU there with debug logging off.
// Here the statement is logged only when the logger would write it; what is logged is the same.
//
// And: FerretDB sends every statement as text, so SQLite parsed and planned each one anew (11-12% of
// the store's CPU in the same profile). Here the statements that read and write documents are prepared
// once per connection and kept (statementCache); the driver keeps the prepared handle (our C driver,
// deploy/local/ferretdb/sqlitecgo, as modernc.org/sqlite 1.42 and later did; 1.32, the version FerretDB
// 1.24 pins, prepared at every execution).
package fsql

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/logging"
	"github.com/FerretDB/FerretDB/internal/util/resource"
)

// DB is a *sql.DB with FerretDB's metrics and statement logging (the subset of its methods FerretDB
// uses; queries answer *Rows).
type DB struct {
	*metricsCollector

	sqlDB      *sql.DB
	l          *slog.Logger
	token      *resource.Token
	statements *statementCache
	BatchSize  int
}

// WrapDB wraps db; name labels its metrics and names its logger.
func WrapDB(db *sql.DB, name string, l *slog.Logger) *DB {
	if db == nil {
		return nil
	}
	wrapped := &DB{
		metricsCollector: newMetricsCollector(name, db.Stats),
		sqlDB:            db,
		l:                logging.WithName(l, name),
		token:            resource.NewToken(),
		statements:       &statementCache{db: db, byText: map[string]*sql.Stmt{}},
	}
	resource.Track(wrapped, wrapped.token)
	return wrapped
}

// Close closes the underlying *sql.DB.
func (db *DB) Close() error {
	resource.Untrack(db, db.token)
	db.statements.close()
	return db.sqlDB.Close()
}

// Ping checks that the database answers (without ctx, as FerretDB's own does).
func (db *DB) Ping(_ context.Context) error {
	return db.sqlDB.Ping()
}

// QueryContext runs a query that returns rows.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	trace := startTrace(ctx, db.l, query, args)
	rows, err := throughCache(ctx, db.statements, query,
		func(kept *sql.Stmt) (*sql.Rows, error) { return kept.QueryContext(ctx, args...) },
		func() (*sql.Rows, error) { return db.sqlDB.QueryContext(ctx, query, args...) })
	trace.done(ctx, err)
	return wrapRows(rows), err
}

// QueryRowContext runs a query that returns at most one row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	trace := startTrace(ctx, db.l, query, args)
	row := db.sqlDB.QueryRowContext(ctx, query, args...)
	trace.done(ctx, row.Err())
	return row
}

// ExecContext runs a statement that returns no rows.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	trace := startTrace(ctx, db.l, query, args)
	res, err := throughCache(ctx, db.statements, query,
		func(kept *sql.Stmt) (sql.Result, error) { return kept.ExecContext(ctx, args...) },
		func() (sql.Result, error) { return db.sqlDB.ExecContext(ctx, query, args...) })
	trace.doneExec(ctx, res, err)
	return res, err
}

// InTransaction runs f in a transaction, committed when f returns nil and rolled back otherwise
// (including when f panics or exits its goroutine, which leaves done false).
func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {
	sqlTx, err := db.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return lazyerrors.Error(err)
	}
	tx := wrapTx(sqlTx, db.l, db.statements)
	done := false
	defer func() {
		if done {
			return
		}
		if err == nil {
			err = lazyerrors.Errorf("transaction was not committed")
		}
		_ = tx.Rollback()
	}()
	if err = f(tx); err != nil {
		return err // unwrapped: callers look at f's own errors
	}
	if err = tx.Commit(); err != nil {
		return lazyerrors.Error(err)
	}
	done = true
	return nil
}

// statementCache holds the prepared statements of one database by their text: those that read and
// write documents (SELECT, INSERT, UPDATE, DELETE), which FerretDB sends with the same text for every
// document of a collection. database/sql prepares a kept statement on each connection that runs it, once.
// Schema changes (CREATE, DROP, ALTER, PRAGMA) run as sent. A statement on a table dropped since fails
// as the same text sent anew would; SQLite prepares it again if the table was created again.
//
// Bounded by count, and never evicting: a full cache takes no new texts (they run as sent), so no
// statement is ever closed while a caller may hold it. Texts vary only by collection, by the number of
// documents of an insert or delete batch, and by a find's `comment` (which FerretDB puts into the
// SQL), so the statements of the collections in use fill it first.
type statementCache struct {
	db     *sql.DB
	mu     sync.Mutex
	byText map[string]*sql.Stmt
	closed bool
}

// statementCacheSize is how many statement texts one database keeps prepared.
const statementCacheSize = 512

// get is the kept statement for query, prepared now if it is not kept yet; nil when it is not one to
// keep, the cache is full, or preparing failed (the caller then sends the text, and meets the error
// there if it is one).
func (c *statementCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil || !keptStatement(query) {
		return nil
	}
	c.mu.Lock()
	stmt, kept := c.byText[query]
	full := c.closed || len(c.byText) >= statementCacheSize
	c.mu.Unlock()
	if kept {
		return stmt
	}
	if full {
		return nil
	}
	// Prepared without the lock: preparing takes a connection from the pool, and a caller holding one
	// (in a transaction) must never wait for the lock behind a caller waiting for a connection.
	stmt, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if earlier, ok := c.byText[query]; ok { // prepared meanwhile by another caller: keep one
		_ = stmt.Close()
		return earlier
	}
	if c.closed || len(c.byText) >= statementCacheSize {
		_ = stmt.Close()
		return nil
	}
	c.byText[query] = stmt
	return stmt
}

func (c *statementCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for text, stmt := range c.byText {
		_ = stmt.Close()
		delete(c.byText, text)
	}
}

// throughCache runs query by its kept statement when the cache has or takes one (kept), else sends it
// as text (sent).
func throughCache[T any](ctx context.Context, c *statementCache, query string,
	kept func(*sql.Stmt) (T, error), sent func() (T, error),
) (T, error) {
	if stmt := c.get(ctx, query); stmt != nil {
		return kept(stmt)
	}
	return sent()
}

// keptStatement tells the statements that read and write documents from schema changes.
func keptStatement(query string) bool {
	head := strings.TrimLeft(query, " \t\r\n")
	if len(head) > 6 {
		head = head[:6]
	}
	switch strings.ToUpper(head) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// statementTrace logs one statement before and after it runs, at debug level, only when the logger
// writes debug records: deciding that first is what saves the formatting of its arguments.
type statementTrace struct {
	l     *slog.Logger // nil when debug records are not written
	query string
	args  []any
	start time.Time
}

func startTrace(ctx context.Context, l *slog.Logger, query string, args []any) statementTrace {
	if !l.Enabled(ctx, slog.LevelDebug) {
		return statementTrace{}
	}
	l.DebugContext(ctx, ">>> "+query, slog.Any("args", args))
	return statementTrace{l: l, query: query, args: args, start: time.Now()}
}

func (t statementTrace) done(ctx context.Context, err error, extra ...any) {
	if t.l == nil {
		return
	}
	attrs := append([]any{slog.Any("args", t.args)}, extra...)
	attrs = append(attrs, slog.Duration("time", time.Since(t.start)), logging.Error(err))
	t.l.DebugContext(ctx, "<<< "+t.query, attrs...)
}

func (t statementTrace) doneExec(ctx context.Context, res sql.Result, err error) {
	if t.l == nil {
		return
	}
	if res == nil {
		t.done(ctx, err)
		return
	}
	affected, _ := res.RowsAffected()
	t.done(ctx, err, slog.Int64("rows", affected))
}

var _ prometheus.Collector = (*DB)(nil)
