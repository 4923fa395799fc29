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
package fsql

import (
	"context"
	"database/sql"
	"log/slog"
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

	sqlDB     *sql.DB
	l         *slog.Logger
	token     *resource.Token
	BatchSize int
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
	}
	resource.Track(wrapped, wrapped.token)
	return wrapped
}

// Close closes the underlying *sql.DB.
func (db *DB) Close() error {
	resource.Untrack(db, db.token)
	return db.sqlDB.Close()
}

// Ping checks that the database answers (without ctx, as FerretDB's own does).
func (db *DB) Ping(_ context.Context) error {
	return db.sqlDB.Ping()
}

// QueryContext runs a query that returns rows.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	trace := startTrace(ctx, db.l, query, args)
	rows, err := db.sqlDB.QueryContext(ctx, query, args...)
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
	res, err := db.sqlDB.ExecContext(ctx, query, args...)
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
	tx := wrapTx(sqlTx, db.l)
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
