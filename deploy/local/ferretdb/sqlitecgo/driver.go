// Package sqlite takes the place of modernc.org/sqlite, the pure-Go SQLite driver FerretDB 1.24 imports,
// in the local store's build (deploy/local/ferretdb/go.mod: `replace modernc.org/sqlite => ./sqlitecgo`):
// it registers the database/sql driver "sqlite" as FerretDB expects, backed by github.com/mattn/go-sqlite3,
// which links SQLite's own C code through cgo, and keeps the two names FerretDB uses from the package it
// replaces (Error with Code(), and lib's result codes).
//
// Why: modernc.org/sqlite is SQLite's C translated to Go. In Go CPU profiles of the store under the publish
// benchmark SQLite's statements were about a third of the store's CPU, and its C runtime's allocator added
// mmap/munmap system calls (README, "Fortieth session" and "Forty-first session"); compiled C does the same
// work in less CPU. FerretDB's own files stay as published: only the module behind the import changes.
//
// What FerretDB passes in the URI as `_pragma=name(value)` (modernc's form) is run here as `PRAGMA name =
// value` on every new connection, in the order given (FerretDB sets busy_timeout before journal_mode, as
// SQLite needs), before the hooks registered with RegisterConnectionHook.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"unsafe"

	mattn "github.com/mattn/go-sqlite3"
)

func init() {
	sql.Register("sqlite", &Driver{})
}

// Error is a failed statement's SQLite result code with its message, as modernc.org/sqlite's Error reads:
// FerretDB tells a duplicate _id from other failures by Code() (the extended result code).
type Error struct {
	code    int
	message string
}

func (e *Error) Error() string { return e.message }

// Code is SQLite's extended result code (lib.SQLITE_CONSTRAINT_UNIQUE for a unique index violated).
func (e *Error) Code() int { return e.code }

// asError turns the C driver's error into Error; other errors (the context's, database/sql's) pass as they are.
func asError(err error) error {
	var failed mattn.Error
	if errors.As(err, &failed) {
		return &Error{code: int(failed.ExtendedCode), message: failed.Error()}
	}
	return err
}

// ConnectionHook runs on every new connection with SQLite's handle (`sqlite3 *` in C). An error closes the
// connection and fails its opening.
type ConnectionHook func(handle unsafe.Pointer) error

var (
	hooksMu sync.Mutex
	hooks   []ConnectionHook
)

// RegisterConnectionHook adds a hook run on every connection opened from now on.
func RegisterConnectionHook(hook ConnectionHook) {
	hooksMu.Lock()
	defer hooksMu.Unlock()
	hooks = append(hooks, hook)
}

// Driver opens connections through mattn's driver; see the package comment.
type Driver struct{}

// A pragma as modernc.org/sqlite takes it in a URI: name(value).
var pragmaForm = regexp.MustCompile(`^([a-z_]+)\((.*)\)$`)

// Open opens a connection to the database the URI names.
func (*Driver) Open(uri string) (driver.Conn, error) {
	location, pragmas, err := splitPragmas(uri)
	if err != nil {
		return nil, err
	}
	c := &mattn.SQLiteDriver{ConnectHook: func(connection *mattn.SQLiteConn) error {
		for _, pragma := range pragmas {
			if _, err := connection.Exec("PRAGMA "+pragma, nil); err != nil {
				return fmt.Errorf("PRAGMA %s: %w", pragma, err)
			}
		}
		hooksMu.Lock()
		registered := append([]ConnectionHook(nil), hooks...)
		hooksMu.Unlock()
		for _, hook := range registered {
			if err := hook(handleOf(connection)); err != nil {
				return err
			}
		}
		return nil
	}}
	opened, err := c.Open(location)
	if err != nil {
		return nil, asError(err)
	}
	return &conn{opened.(*mattn.SQLiteConn)}, nil
}

// splitPragmas takes modernc's `_pragma` parameters out of the URI and returns them as PRAGMA statements'
// bodies ("busy_timeout = 10000"); the rest of the URI is left as it is for SQLite.
func splitPragmas(uri string) (string, []string, error) {
	path, query, hasQuery := strings.Cut(uri, "?")
	if !hasQuery {
		return uri, nil, nil
	}
	// The order matters (busy_timeout before journal_mode), and url.Values does not keep it across keys,
	// so the query is walked by hand.
	var pragmas, kept []string
	for _, part := range strings.Split(query, "&") {
		key, value, _ := strings.Cut(part, "=")
		if key != "_pragma" {
			kept = append(kept, part)
			continue
		}
		decoded, err := url.QueryUnescape(value)
		if err != nil {
			return "", nil, fmt.Errorf("sqlite: bad _pragma %q in the URI: %w", value, err)
		}
		found := pragmaForm.FindStringSubmatch(decoded)
		if found == nil {
			return "", nil, fmt.Errorf("sqlite: _pragma %q in the URI is not name(value)", decoded)
		}
		pragmas = append(pragmas, found[1]+" = "+found[2])
	}
	if len(kept) == 0 {
		return path, pragmas, nil
	}
	return path + "?" + strings.Join(kept, "&"), pragmas, nil
}

// handleOf reads SQLite's handle that mattn keeps unexported in its connection (field `db *C.sqlite3` in
// the version go.mod pins): the driver has no public way to set a busy handler. A version that renames
// or retypes the field panics at the first connection, and so the program's Go tests, rather than
// quietly running without the hooks.
func handleOf(conn *mattn.SQLiteConn) unsafe.Pointer {
	field := reflect.ValueOf(conn).Elem().FieldByName("db")
	if !field.IsValid() || field.Kind() != reflect.Pointer {
		panic(fmt.Sprintf("github.com/mattn/go-sqlite3's SQLiteConn has no db pointer field (%v)", field.Kind()))
	}
	return field.UnsafePointer()
}

// conn is mattn's connection (every method and optional interface of it promoted) whose statements'
// errors read as Error.
type conn struct {
	*mattn.SQLiteConn
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	result, err := c.SQLiteConn.ExecContext(ctx, query, args)
	return result, asError(err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.SQLiteConn.QueryContext(ctx, query, args)
	return rows, asError(err)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	prepared, err := c.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, asError(err)
	}
	return &stmt{prepared.(*mattn.SQLiteStmt)}, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// stmt is mattn's prepared statement whose errors read as Error.
type stmt struct {
	*mattn.SQLiteStmt
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	result, err := s.SQLiteStmt.ExecContext(ctx, args)
	return result, asError(err)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.SQLiteStmt.QueryContext(ctx, args)
	return rows, asError(err)
}
