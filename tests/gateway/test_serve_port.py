"""`benkadi serve --port N` on a port in use says so in one line and leaves nothing behind
(issue 15): it used to print a 34-line traceback and leave a child dispatcher for seconds."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.harness import ACCOUNT_SID, AUTH_TOKEN, BENKADI_NUMBER


def dispatchers_of(database: str) -> list[int]:
    """Processes running `benkadi dispatch` on this database (a child left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"dispatch" in cmdline and database.encode() in environ:
            found.append(int(entry.name))
    return found


async def test_a_port_in_use_is_one_line_and_no_child(tmp_path):
    database = f"sqlite:///{tmp_path / 'b.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "BENKADI_DATABASE_URL": database,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": BENKADI_NUMBER,
            "TWILIO_API_URL": "http://127.0.0.1:9",
        }
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "serve", "--port", str(port),
            "--dispatch", "process", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(serve.communicate(), 30)
        left = dispatchers_of(database)
    assert serve.returncode == 2
    assert err.decode().strip() == f"benkadi: port {port} is in use (on 127.0.0.1)"
    assert out == b""
    assert left == []
