// Package resource takes the place of FerretDB 1.24's internal/util/resource when the local store is
// built: devstack.components.ensure_ferretdb copies every file under deploy/local/ferretdb/overlay over
// the same path of FerretDB's module in a vendored copy of the program's modules. It is not compiled
// otherwise.
//
// FerretDB registers every iterator and transaction it opens in a pprof profile (which records the
// caller's stack) and gives it a finalizer that panics when it was never closed: a leak detector for
// FerretDB's own development. A Go CPU profile of the store under the publish benchmark (README,
// "Twenty-sixth session") spent 11% of its CPU there, 7% of it walking stacks. This version keeps the
// same API and does nothing: a leak, if FerretDB had one, would be collected like any other garbage
// instead of stopping the store. `FERRETDB_OVERLAYS=fsql` builds FerretDB's own (and
// only the fsql overlay), to compare.
package resource

// Token marks an object that FerretDB would track; kept so that FerretDB's code compiles unchanged.
type Token byte

// NewToken returns a new Token.
func NewToken() *Token {
	return new(Token)
}

// Track does nothing here (FerretDB's version records the object for its leak detector).
func Track(_ any, _ *Token) {}

// Untrack does nothing here.
func Untrack(_ any, _ *Token) {}
