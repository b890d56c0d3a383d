"""Prometheus' multiprocess mode for `telemetron serve --workers N`.

Each server process writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
adds them all up, whichever process answers. prometheus_client reads the variable when it is first
imported, so it is set here, in the parent, before any server process starts (this module must not
import prometheus_client).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[str | None]:
    """A fresh directory for the server processes' metrics (removed after), or the operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` (kept); nothing for one process, whose metrics live in memory."""
    if workers <= 1 and ENV not in os.environ:
        yield None
        return
    if ENV in os.environ:
        os.makedirs(os.environ[ENV], exist_ok=True)
        yield os.environ[ENV]
        return
    path = tempfile.mkdtemp(prefix="telemetron-metrics-")
    os.environ[ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
