#!/usr/bin/env python3
"""Set up and run Telemetron from a fresh clone with nothing but Python 3.11+.

    python3 dev.py run     # install, create the SQLite database and a demo organization, serve on :8000
    python3 dev.py test    # install with test dependencies, run the whole test suite (extra args go to pytest)
    python3 dev.py lint    # install, then ruff and mypy on src/ (settings in pyproject.toml)

Everything is installed into .venv beside this file, at the versions of constraints.txt; the
install is redone only when pyproject.toml or constraints.txt changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Telemetron needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # e.g. Debian without python3-venv
            sys.exit(f"could not create a virtual environment ({exc}); install your system's python3-venv package")
    stamp = VENV / ".installed"
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print("installing Telemetron and its dependencies into .venv ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[dev,embeddings]"], check=True)
    stamp.write_text(wanted)


def telemetron(*args: str) -> None:
    subprocess.run([str(BIN / "telemetron"), *args], check=True, cwd=ROOT)


def run(args: list[str]) -> int:
    ensure_installed()
    telemetron("db", "upgrade")
    telemetron("demo", *_host_port(args))
    os.chdir(ROOT)
    os.execv(str(BIN / "telemetron"), [str(BIN / "telemetron"), "serve", *args])


def _host_port(args: list[str]) -> list[str]:
    """The --host/--port given to ``run``, so that the printed curl points at the server."""
    picked = []
    for i, arg in enumerate(args):
        if arg in ("--host", "--port") and i + 1 < len(args):
            picked += [arg, args[i + 1]]
        elif arg.startswith(("--host=", "--port=")):
            picked.append(arg)
    return picked


def test(args: list[str]) -> int:
    ensure_installed()
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


def lint(args: list[str]) -> int:
    ensure_installed()
    checks = ([str(BIN / "ruff"), "check", "src", *args], [str(BIN / "mypy")])
    return max(subprocess.run(check, cwd=ROOT).returncode for check in checks)


def main() -> int:
    commands = {"run": run, "test": test, "lint": lint}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
