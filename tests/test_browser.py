"""bench_core.browser: headless Chromium screenshots of local HTML."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from bench_core import browser

needs_chromium = pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium on this machine; 'make browser' installs Debian's chromium (as root)")


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", head[16:24])


def _pixels(path) -> np.ndarray:
    """RGB values 0..255 of a PNG (read with Pillow, which matplotlib depends on)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        browser._url(tmp_path / "nope.html")


def test_find_chromium_honours_environment(tmp_path, monkeypatch):
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KMBENCH_CHROMIUM", str(fake))
    assert browser.find_chromium() == str(fake)


def test_fake_browser_that_writes_nothing_raises(tmp_path, monkeypatch):
    fake = tmp_path / "silent-chrome"
    fake.write_text("#!/bin/sh\necho 'it broke' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KMBENCH_CHROMIUM", str(fake))
    page = tmp_path / "p.html"
    page.write_text("<p>x</p>")
    with pytest.raises(browser.BrowserError, match="it broke"):
        browser.screenshot(page, tmp_path / "shot.png")


@needs_chromium
def test_screenshot_renders_the_page(tmp_path):
    # A page that is solid red on its left half: the capture must show it, so a
    # blank or failed render cannot pass.
    page = tmp_path / "red.html"
    page.write_text("<html><body style='margin:0;background:#fff'>"
                    "<div style='width:50%;height:100vh;background:#ff0000'></div></body></html>")
    png = browser.screenshot(page, tmp_path / "shot.png", width=400, height=300, wait_ms=500)
    assert _png_size(png) == (400, 300)
    px = _pixels(png)
    assert px[150, 10].tolist() == [255, 0, 0]
    assert px[150, 390].tolist() == [255, 255, 255]
