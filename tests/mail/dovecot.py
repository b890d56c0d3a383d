"""A real Dovecot IMAP server for tests (Debian's dovecot-imapd), on a free port, with a private
configuration in a temporary folder (../shared/recipes/dovecot-test.conf): plain IMAP on
127.0.0.1 only, users from a passwd-file."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG = """protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
first_valid_uid = 0
default_internal_user = dovecot
default_login_user = dovenull
"""
PASSWORD = "imap-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    def __init__(self, folder: Path, users: list[str]) -> None:
        self.dir = folder
        self.port = _free_port()
        self.users = list(users)
        self.pid: int | None = None

    def start(self) -> Dovecot:
        os.chmod(self.dir, 0o755)
        (self.dir / "mail").mkdir()
        (self.dir / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.users))
        conf = self.dir / "dovecot.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port))
        shutil.chown(self.dir / "mail", "dovecot", "dovecot")
        subprocess.run([shutil.which("dovecot") or "/usr/sbin/dovecot", "-c", str(conf)], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    # The master of *this* configuration, stopped by that pid even if the folder goes;
                    # atexit too: a test session that ends abruptly must not leave it running.
                    self.pid = int((self.dir / "run" / "master.pid").read_text().strip())
                    atexit.register(self.stop)
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start: {(self.dir / 'dovecot.log').read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):  # until it is gone (its children first), at most 10 s
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def url(self, user: str) -> str:
        return f"imap://{user.replace('@', '%40')}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def client(self, user: str):
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port).login(user, PASSWORD)
