"""The shipped deployment files (deploy/), turned into what a test can run on this machine.

A systemd unit's ExecStart and environment are run as written, with only what is machine-specific
replaced: the installed ``telemetron`` becomes this Python's ``-m telemetron``, ``%i``/``%H`` the
instance and host, the EnvironmentFile the test's. The nginx site is used as shipped with its
site-specific lines (ports, certificate, the timeouts shortened for the test) replaced; each
replacement must find its line, so the test breaks when the shipped file changes shape.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALLED = "/opt/telemetron/.venv/bin/telemetron"


def unit_command(unit: str, instance: str, env_file: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart as argv, and its environment (EnvironmentFile, then Environment=)."""
    text = (DEPLOY / "systemd" / unit).read_text()
    env = {**os.environ, **env_file}
    argv: list[str] | None = None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "EnvironmentFile":
            assert value == "/etc/telemetron/telemetron.env", value
        elif key == "ExecStart":
            value = value.replace("%i", instance).replace("%H", socket.gethostname())
            argv = shlex.split(value)
    assert argv and argv[0] == INSTALLED, argv
    return [sys.executable, "-m", "telemetron", *argv[1:]], env


def env_file_example() -> dict[str, str]:
    """deploy/telemetron.env.example's settings."""
    pairs = (line.split("=", 1) for line in (DEPLOY / "telemetron.env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return dict(pairs)


def nginx_site(replacements: list[tuple[str, str]]) -> str:
    text = (DEPLOY / "nginx" / "telemetron.conf").read_text()
    for old, new in replacements:
        assert old in text, f"deploy/nginx/telemetron.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def nginx_main(prefix: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, in a private prefix."""
    temp = "\n".join(f"    {kind}_temp_path {prefix}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the test's private directory
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            f"events {{ worker_connections 512; }}\n"
            f"http {{\n    access_log off;\n{temp}\n    include {site};\n}}\n")
