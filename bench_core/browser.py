"""Headless Chromium: find it, and screenshot an HTML page (reports, asv's html output).

Debian's ``chromium`` package is used as is (``make browser`` installs it when
running as root with apt-get). Every run gets a throw-away profile directory and
no network services (sync, component updates, background networking), so a
screenshot needs nothing beyond the local file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
)


class BrowserError(RuntimeError):
    """Chromium is missing, or it ran but wrote no screenshot."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None.

    ``$KMBENCH_CHROMIUM`` (or ``$CHROME_BIN``) wins when set and executable.
    """
    for var in ("KMBENCH_CHROMIUM", "CHROME_BIN"):
        path = os.environ.get(var)
        if path and os.access(path, os.X_OK):
            return path
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _url(url_or_path: str | os.PathLike) -> str:
    s = str(url_or_path)
    if "://" in s:
        return s
    p = Path(s)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist; nothing to screenshot")
    return p.resolve().as_uri()


def screenshot(url_or_path: str | os.PathLike, png_path: str | os.PathLike, width: int = 1280,
               height: int = 900, wait_ms: int = 2000, *, timeout: float = 90.0) -> Path:
    """Render ``url_or_path`` (a URL or a local HTML file) in headless Chromium into ``png_path``.

    ``wait_ms`` is the virtual-time budget Chromium gives the page (scripts,
    images) before it captures. Raises :class:`BrowserError` when Chromium is
    missing or writes no image, with its stderr tail.
    """
    exe = find_chromium()
    if exe is None:
        raise BrowserError("no Chromium found (tried $KMBENCH_CHROMIUM, $CHROME_BIN, "
                           f"{', '.join(CANDIDATES)}); install it with 'make browser' "
                           "(apt-get install chromium)")
    url = _url(url_or_path)
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="kmbench-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={int(width)},{int(height)}",
               f"--virtual-time-budget={int(wait_ms)}", f"--screenshot={png}", url]
        env = dict(os.environ, HOME=profile)  # chromium writes crash dumps/config under HOME
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium did not finish within {timeout:.0f} s rendering {url}") from exc
    if not png.exists() or png.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-15:])
        raise BrowserError(f"chromium exited with {proc.returncode} and wrote no screenshot of {url}:\n{tail}")
    return png
