"""The browser the dashboard tests drive: Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _browser_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("no Chromium found: the browser tests need Debian's chromium package "
                    "(apt-get install -y chromium), which .ci/run installs")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        yield b
        b.close()


def keep_screenshot(path: Path) -> None:
    """Copy a test's screenshot to ``$QUANTMARL_SCREENSHOTS`` (e.g. docs/images) if set."""
    keep = os.environ.get("QUANTMARL_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)
