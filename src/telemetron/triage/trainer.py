"""Training an organization's categorizer in a child process, off the server.

Training a BANKING77-size organization (8,000 labelled tickets, 77 categories) costs about
90 s of CPU and peaks at ~750 MB; done in a thread of ``telemetron serve`` it held the GIL for
much of that time and left the server's memory at its peak. So the server runs
``python -m telemetron.triage.trainer ORG_ID`` instead (:func:`train_in_subprocess`): the child
reads the organization's data, trains, stores the model in ``triage_models`` through the same
:func:`telemetron.triage.store.train_organization` as ``telemetron triage train``, prints a
one-line JSON report, and exits, giving back all its memory. It runs at a lower CPU priority
(nice 10) with one thread, so requests keep the cores they need. A training that fails, crashes
or runs past its timeout stores nothing: the model in the database, and in service, stays the
old one. The child also exits if the server dies.

The database URL goes through the environment (``TELEMETRON_TRIAGE_TRAIN_DATABASE_URL``), not
the command line, so that a password in it is not shown by ``ps``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import threading
import time

ENV_DATABASE_URL = "TELEMETRON_TRIAGE_TRAIN_DATABASE_URL"
#: CPU priority of the training process: the server's requests come first.
NICENESS = 10
#: A training that takes longer is killed (and tried again later).
TIMEOUT_SECONDS = 1800.0
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "TELEMETRON_TRIAGE_THREADS": "1"}


class TrainingFailed(RuntimeError):
    """The training process failed, crashed or timed out; nothing was stored."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _exit_with_parent(parent: int) -> None:
    """A training whose server is gone is of no use: stop (checked every second)."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not os.environ.get(ENV_DATABASE_URL):
        print(f"usage: {ENV_DATABASE_URL}=URL python -m telemetron.triage.trainer ORG_ID", file=sys.stderr)
        return 2
    org_id = args[0]
    _exit_with_parent(os.getppid())
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    from telemetron.db.engine import Database
    from telemetron.triage.store import train_organization

    started = time.perf_counter()
    db = Database(os.environ[ENV_DATABASE_URL], pool_size=1)
    try:
        model = train_organization(db, org_id)
    finally:
        db.dispose()
    report = {
        "org_id": org_id,
        "trained": model is not None,
        "engine": model.trained_engine if model is not None else None,
        "examples": (model.meta.get("n_examples") if model is not None else 0),
        "seconds": round(time.perf_counter() - started, 2),
        "pid": os.getpid(),
        "parent_pid": os.getppid(),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    print(json.dumps(report), flush=True)
    return 0


async def train_in_subprocess(database_url: str, org_id: str, *, timeout: float = TIMEOUT_SECONDS,
                              on_start=None) -> dict:
    """Train and store ``org_id``'s model in a child process; its report (see :func:`main`).

    Raises :class:`TrainingFailed` when the child fails or outlives ``timeout`` (then it is
    killed). Cancelling the caller kills the child too. ``on_start(process)`` lets the caller
    keep a handle, e.g. to kill it at shutdown."""
    env = {**os.environ, **_ONE_THREAD, ENV_DATABASE_URL: database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "telemetron.triage.trainer", org_id, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    if on_start is not None:
        on_start(proc)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        raise TrainingFailed(f"training {org_id} took more than {timeout:g} s; stopped") from None
    finally:
        if proc.returncode is None:  # timed out or cancelled
            proc.kill()
            await asyncio.shield(proc.wait())
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise TrainingFailed(f"training {org_id} failed (exit {proc.returncode}): " + " | ".join(tail))
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise TrainingFailed(f"training {org_id} gave no report") from None


if __name__ == "__main__":
    sys.exit(main())
