package fsql

import (
	"context"
	"database/sql"
	"log/slog"

	"github.com/FerretDB/FerretDB/internal/util/resource"
)

// Tx is a *sql.Tx with FerretDB's statement logging and its database's kept statements (see db.go).
type Tx struct {
	sqlTx      *sql.Tx
	l          *slog.Logger
	token      *resource.Token
	statements *statementCache
}

func wrapTx(tx *sql.Tx, l *slog.Logger, statements *statementCache) *Tx {
	if tx == nil {
		return nil
	}
	wrapped := &Tx{sqlTx: tx, l: l, token: resource.NewToken(), statements: statements}
	resource.Track(wrapped, wrapped.token)
	return wrapped
}

// Commit commits the transaction.
func (tx *Tx) Commit() error {
	resource.Untrack(tx, tx.token)
	return tx.sqlTx.Commit()
}

// Rollback rolls the transaction back.
func (tx *Tx) Rollback() error {
	resource.Untrack(tx, tx.token)
	return tx.sqlTx.Rollback()
}

// QueryContext runs a query that returns rows, in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	trace := startTrace(ctx, tx.l, query, args)
	rows, err := throughCache(ctx, tx.statements, query,
		// The kept statement on the transaction's connection (prepared there once, then reused).
		func(kept *sql.Stmt) (*sql.Rows, error) {
			return tx.sqlTx.StmtContext(ctx, kept).QueryContext(ctx, args...)
		},
		func() (*sql.Rows, error) { return tx.sqlTx.QueryContext(ctx, query, args...) })
	trace.done(ctx, err)
	return wrapRows(rows), err
}

// QueryRowContext runs a query that returns at most one row, in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	trace := startTrace(ctx, tx.l, query, args)
	row := tx.sqlTx.QueryRowContext(ctx, query, args...)
	trace.done(ctx, row.Err())
	return row
}

// ExecContext runs a statement that returns no rows, in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	trace := startTrace(ctx, tx.l, query, args)
	res, err := throughCache(ctx, tx.statements, query,
		func(kept *sql.Stmt) (sql.Result, error) {
			return tx.sqlTx.StmtContext(ctx, kept).ExecContext(ctx, args...)
		},
		func() (sql.Result, error) { return tx.sqlTx.ExecContext(ctx, query, args...) })
	trace.doneExec(ctx, res, err)
	return res, err
}
