"""Which of our FerretDB overlays the local store is built with (devstack.components.chosen_overlays):
all by default, the ones `FERRETDB_OVERLAYS` names, none for FerretDB as published; a misspelt name is
refused rather than silently building without it. `FERRETDB_PROGRAM` runs a program built before."""

from __future__ import annotations

from pathlib import Path

import pytest
from devstack.components import (
    FERRETDB_OVERLAY_DIR,
    FERRETDB_OVERLAYS_ENV,
    FERRETDB_PROGRAM_ENV,
    chosen_overlays,
    ensure_ferretdb,
    ferretdb_overlays,
)


def test_each_overlay_is_a_folder_of_ferretdb_s_module_with_its_go_files() -> None:
    overlays = ferretdb_overlays()
    assert set(overlays) == {"resource", "fsql"}
    assert [p.relative_to(FERRETDB_OVERLAY_DIR).as_posix() for p in overlays["fsql"]] == [
        "internal/util/fsql/db.go", "internal/util/fsql/tx.go"]
    assert [p.relative_to(FERRETDB_OVERLAY_DIR).as_posix() for p in overlays["resource"]] == [
        "internal/util/resource/resource.go"]


def test_all_overlays_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FERRETDB_OVERLAYS_ENV, raising=False)
    assert set(chosen_overlays()) == {"resource", "fsql"}


def test_the_named_overlays_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FERRETDB_OVERLAYS_ENV, "fsql")
    assert set(chosen_overlays()) == {"fsql"}
    monkeypatch.setenv(FERRETDB_OVERLAYS_ENV, " resource , fsql ")
    assert set(chosen_overlays()) == {"resource", "fsql"}
    monkeypatch.setenv(FERRETDB_OVERLAYS_ENV, "none")
    assert chosen_overlays() == {}


def test_an_unknown_overlay_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FERRETDB_OVERLAYS_ENV, "fsql,resources")
    with pytest.raises(SystemExit, match="no overlay named resources"):
        chosen_overlays()


def test_a_program_built_before_is_run_instead_of_a_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    program = tmp_path / "ferretdb-older"
    program.write_bytes(b"\x7fELF")
    monkeypatch.setenv(FERRETDB_PROGRAM_ENV, str(program))
    assert ensure_ferretdb() == program
    monkeypatch.setenv(FERRETDB_PROGRAM_ENV, str(tmp_path / "missing"))
    with pytest.raises(SystemExit, match="no such program"):
        ensure_ferretdb()
