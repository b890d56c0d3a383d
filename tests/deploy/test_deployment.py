"""docs/deploying.md followed on this machine: PostgreSQL, the migrate unit, two API units, two
worker units, and nginx with the shipped site (TLS, short timeouts) in front. Tickets are created
through nginx; every notification reaches its (real, local) Slack and webhook receivers exactly
once; a client that sends its header, or its body, too slowly is cut off by nginx."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from telemetron.db.engine import normalize_url
from tests.deploy.shipped import env_file_example, nginx_main, nginx_site, unit_command
from tests.support.databases import POSTGRES_URL, postgres_available
from tests.support.receiver import Receiver
from tests.support.servers import free_port

HEADER_TIMEOUT = 2  # seconds, in the test's copy of the site (10 s shipped)
TICKETS, REPLIES = 30, 10
CONNECTIONS = 10  # limit_conn per address in the test's copy (64 shipped); tickets are created 8 at a time


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the deployment test", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture
def postgres_database():
    problem = postgres_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable ({problem})", pytrace=False)
        pytest.skip(f"PostgreSQL is not reachable ({problem})")
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"telemetron_deploy_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # empty: the migrate unit makes the schema
    try:
        yield normalize_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as log:  # the process keeps its own copy of the descriptor
            process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def run_unit(unit: str, instance: str, env_file: dict[str, str]) -> str:
    argv, env = unit_command(unit, instance, env_file)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def telemetron(env_file: dict[str, str], *args: str) -> str:
    done = subprocess.run([*unit_command("telemetron-migrate.service", "", env_file)[0][:3], *args],
                          env={**os.environ, **env_file}, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"process on port {port} exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def start_nginx(processes: Processes, directory: Path, api_ports: list[int]) -> tuple[int, Path]:
    nginx = _nginx()
    cert, key = self_signed_certificate(directory)
    http_port, https_port = free_port(), free_port()
    site = directory / "telemetron.conf"
    site.write_text(nginx_site([
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/letsencrypt/live/support.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/support.example.com/privkey.pem", str(key)),
        ("server 127.0.0.1:8001 ", f"server 127.0.0.1:{api_ports[0]} "),
        ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{api_ports[1]} "),
        ("client_header_timeout 10s;", f"client_header_timeout {HEADER_TIMEOUT}s;"),
        ("client_body_timeout 10s;", f"client_body_timeout {HEADER_TIMEOUT}s;"),
        ("limit_conn telemetron_per_address 64;", f"limit_conn telemetron_per_address {CONNECTIONS};"),
    ]))
    prefix = directory / "nginx"
    prefix.mkdir()
    main = prefix / "nginx.conf"
    main.write_text(nginx_main(prefix, site))
    argv = [nginx, "-p", str(prefix), "-c", str(main), "-e", "stderr"]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = processes.start("nginx", [*argv, "-g", "daemon off;"])
    wait_for_port(https_port, process)
    return https_port, cert


def test_the_documented_deployment(postgres_database, processes, tmp_path):
    env_file = {**env_file_example(), "TELEMETRON_DATABASE_URL": postgres_database, "TELEMETRON_LOG_LEVEL": "warning",
                "TELEMETRON_OUTBOX_POLL_SECONDS": "0.1"}
    assert "database created" in run_unit("telemetron-migrate.service", "", env_file)
    api_ports = [free_port(), free_port()]
    for port in api_ports:
        argv, env = unit_command("telemetron-api@.service", str(port), env_file)
        assert env["TELEMETRON_RUN_WORKER"] == "false"
        wait_for_port(port, processes.start(f"api-{port}", argv, env))
    for number in ("1", "2"):
        processes.start(f"worker-{number}", *unit_command("telemetron-worker@.service", number, env_file))
    https_port, cert = start_nginx(processes, tmp_path, api_ports)
    slack, hooks = Receiver(free_port()).start(), Receiver(free_port()).start()
    try:
        org = json.loads(telemetron(env_file, "org", "create", "Acme", "--category", "Connectivity", "--json"))
        telemetron(env_file, "slack", "set", "--org", org["organizationId"], "--webhook-url", slack.url,
                   "--public-url", "https://support.example.com")
        telemetron(env_file, "webhook", "add", "--org", org["organizationId"], hooks.url)
        ticket_ids = create_through_nginx(https_port, cert, org["apiKey"])
        expected = TICKETS + REPLIES
        delivered_once(slack, hooks, ticket_ids, expected)
        slow_clients_are_cut_off(https_port)
        connections_per_address_are_limited(https_port, cert)
        backup = tmp_path / "telemetron.backup"
        assert "pg_dump" in telemetron(env_file, "db", "backup", str(backup)) and backup.stat().st_size > 0
    finally:
        slack.stop()
        hooks.stop()


def create_through_nginx(port: int, cert: Path, api_key: str) -> list[str]:
    base = f"https://localhost:{port}/api/ext-v1/ticket"
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(verify=trust, timeout=30, headers={"x-api-key": api_key}) as client:
        def create(n: int) -> str:
            response = client.post(f"{base}/createTicket", json={
                "title": f"Through nginx {n}", "customerEmail": f"c{n}@example.com", "category": "Connectivity",
                "messages": [{"role": "customer", "content": "It drops"}]})
            assert response.status_code == 200, response.text
            return response.json()["ticketId"]

        with ThreadPoolExecutor(8) as pool:
            ticket_ids = list(pool.map(create, range(TICKETS)))
        for ticket_id in ticket_ids[:REPLIES]:
            response = client.post(f"{base}/addMessage", json={"ticketId": ticket_id, "role": "customer",
                                                              "content": "Still dropping"})
            assert response.status_code == 200, response.text
        assert client.get(f"https://localhost:{port}/healthz").status_code == 200
        assert client.get(f"http://localhost:{port}/healthz").status_code == 400  # plain HTTP on the TLS port
    return ticket_ids


def delivered_once(slack: Receiver, hooks: Receiver, ticket_ids: list[str], expected: int) -> None:
    slack.wait_for(expected, timeout=60)
    hooks.wait_for(expected, timeout=60)
    time.sleep(2)  # would a duplicate still come?
    events = Counter((r.json()["event"], r.json()["ticket"]["id"]) for r in hooks.requests)
    assert len(hooks.requests) == expected and set(events.values()) == {1}
    assert {ticket for _, ticket in events} == set(ticket_ids)
    assert len({r.headers["x-telemetron-delivery"] for r in hooks.requests}) == expected
    per_ticket = Counter(next(t for t in ticket_ids if t in r.body.decode()) for r in slack.requests)
    assert len(slack.requests) == expected
    assert per_ticket == Counter({t: 2 if i < REPLIES else 1 for i, t in enumerate(ticket_ids)})


def slow_clients_are_cut_off(port: int) -> None:
    """A header sent a byte every 0.4 s (it would take ~35 s) and a body that stops half-way: nginx
    closes both after its timeout (an API process never sees them)."""
    header = b"POST /api/ext-v1/ticket/createTicket HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: tlm_x\r\n\r\n"
    started = time.monotonic()
    with tls_socket(port) as sock:
        sent = 0
        while sent < len(header) and not closed(sock):
            sock.send(header[sent:sent + 1])
            sent += 1
            time.sleep(0.4)
        took = time.monotonic() - started
    assert sent < len(header), "nginx waited for the whole slow header"
    assert HEADER_TIMEOUT - 0.5 < took < HEADER_TIMEOUT + 4, took

    body = b'{"title": "slow"'
    started = time.monotonic()
    with tls_socket(port) as sock:
        sock.sendall(b"POST /api/ext-v1/ticket/createTicket HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + body)
        sock.settimeout(HEADER_TIMEOUT + 5)
        answer = sock.recv(4096)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]  # nginx 1.22 just closes
    assert time.monotonic() - started < HEADER_TIMEOUT + 4


def tls_socket(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")


def closed(sock: ssl.SSLSocket) -> bool:
    """True once the server has closed the connection (whatever it sent before)."""
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
        return data == b"" or data.startswith(b"HTTP/1.1 408")
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def connections_per_address_are_limited(port: int, cert: Path) -> None:
    """CONNECTIONS requests in progress (their bodies still coming) from one address: the next is a 429."""
    held = [tls_socket(port) for _ in range(CONNECTIONS)]
    try:
        for sock in held:
            sock.sendall(b"POST /api/ext-v1/ticket/createTicket HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Length: 100\r\n\r\n{")
        time.sleep(0.3)
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=10) as client:
            assert client.get(f"https://localhost:{port}/healthz").status_code == 429
            time.sleep(HEADER_TIMEOUT + 1)  # the held requests time out (client_body_timeout)
            assert client.get(f"https://localhost:{port}/healthz").status_code == 200
    finally:
        for sock in held:
            sock.close()
