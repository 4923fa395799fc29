"""faust makes its tables' directory when a worker starts, in the working directory unless told: the
kit tells it `worker_data_dir` (the system's temporary directory by default), so a worker neither
writes into the repository nor fails on the cluster's read-only root (its pods mount /tmp)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from servicekit.worker import create_worker

from tests.support.probe_service import PROBE, ProbeSettings


def test_the_worker_keeps_its_data_under_the_configured_directory(tmp_path: Path) -> None:
    default = create_worker(PROBE, ProbeSettings(service_name="probe"))
    assert Path(default.conf.datadir).parent == Path(tempfile.gettempdir())
    chosen = create_worker(PROBE, ProbeSettings(service_name="probe", worker_data_dir=tmp_path))
    assert Path(chosen.conf.datadir) == tmp_path / f"{ProbeSettings(service_name='probe').consumer_group}-data"
