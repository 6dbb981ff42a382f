"""A small market for the service tests (one compile per test process), and a real
server on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx

SMALL = {
    "agent_types": ["momentum_trader", "market_maker"],
    "market": {"clearing": "cda", "episode_length": 64, "background_orders": 16,
               "reactive": [["market_maker", 2], ["fundamental", 8], ["momentum", 4],
                            ["noise", 8]]},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(*args: str, timeout: float = 120.0, cwd=None):
    """A server process on a free loopback port (in ``cwd``); yields its base URL."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "quantmarl.serve", "--port", str(port),
                             *args], stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(log.read().decode())
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=5).status_code in (200, 401):
                    break
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
