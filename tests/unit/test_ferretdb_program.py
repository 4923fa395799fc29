"""Our FerretDB program's own Go tests, run with the Go toolchain the stack builds it with. They check
what the program adds to FerretDB: the busy handler that makes a writer poll for SQLite's write lock
(deploy/local/ferretdb/busywait.go) and the C SQLite driver that stands in for modernc.org/sqlite
(deploy/local/ferretdb/sqlitecgo, its own Go module); no server is started."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from devstack.components import FERRETDB_GO_ENV, FERRETDB_GO_FLAGS, FERRETDB_SQLITE_MODULE, LOCAL_DEPLOY


@pytest.mark.parametrize("module", [".", FERRETDB_SQLITE_MODULE])
def test_the_go_tests_of_our_ferretdb_program_pass(module: str) -> None:
    if shutil.which("go") is None:
        pytest.fail("Go is not on PATH: the local stack builds FerretDB with it (make install)")
    done = subprocess.run(["go", "test", *FERRETDB_GO_FLAGS, "-count=1", "."],
                          cwd=LOCAL_DEPLOY / "ferretdb" / module, env={**os.environ, **FERRETDB_GO_ENV},
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"go test failed in {module}:\n{done.stdout}\n{done.stderr}"
