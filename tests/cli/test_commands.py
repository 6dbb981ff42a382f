"""The documented commands ``python -m quantmarl.train|evaluate|demo`` reach the CLIs."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("command, usage", [
    ("train", "usage: python -m quantmarl.train"),
    ("evaluate", "usage: python -m quantmarl.evaluate"),
    ("demo", "--messages MESSAGES"),
])
def test_command_prints_its_help(command, usage):
    out = subprocess.run([sys.executable, "-m", f"quantmarl.{command}", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert usage in out


def test_command_exit_status_is_the_clis():
    run = subprocess.run([sys.executable, "-m", "quantmarl.evaluate", "--checkpoint",
                          "/nonexistent/run", "--episodes", "1"], capture_output=True, text=True)
    assert run.returncode == 2 and "--episodes must be >= 2" in run.stderr
