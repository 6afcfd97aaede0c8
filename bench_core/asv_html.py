"""asv's web view, offline: publish, vendor its JavaScript, serve it, screenshot a graph.

``asv publish`` writes an ``index.html`` that loads jQuery, Flot, Bootstrap and three
small plugins from public CDNs; with no network (CI, this machine) the page shows
only asv's "dependencies failed to load" message. :func:`localize` rewrites those
references to copies in ``<html_dir>/vendor/``, taken from the npm packages of the
same versions (``npm pack``, cached in ``.asv/vendor``). asv's page reads its JSON
with XHR, which browsers refuse for ``file://`` pages, so :func:`serve` runs
``http.server`` on 127.0.0.1 at an ephemeral port.

Usage: ``python -m bench_core.asv_html [--screenshot PNG] [--benchmark NAME]``
(after ``asv run``): publish, localize, and optionally screenshot a graph page.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from .environment import ROOT

VENDOR_CACHE = ROOT / ".asv" / "vendor"

# CDN address pattern in asv's index.html -> (npm package@version, file inside the package).
# Versions are asv 0.6's; stupidtable 1.0.1 is not on npm, 1.1.3 has the same API.
VENDOR: dict[str, tuple[str, str]] = {
    r"jquery-3\.3\.1\.min\.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    r"flot/0\.8\.3/jquery\.flot\.min\.js": ("flot@0.8.3", "jquery.flot.js"),
    r"flot/0\.8\.3/jquery\.flot\.time\.min\.js": ("flot@0.8.3", "jquery.flot.time.js"),
    r"flot/0\.8\.3/jquery\.flot\.selection\.min\.js": ("flot@0.8.3", "jquery.flot.selection.js"),
    r"flot/0\.8\.3/jquery\.flot\.categories\.min\.js": ("flot@0.8.3", "jquery.flot.categories.js"),
    r"flot-orderbars@1\.0\.0/js/jquery\.flot\.orderBars\.js": ("flot-orderbars@1.0.0",
                                                              "js/jquery.flot.orderBars.js"),
    r"stupidtable/1\.0\.1/stupidtable\.min\.js": ("stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    r"blueimp-md5/2\.19\.0/js/md5\.min\.js": ("blueimp-md5@2.19.0", "js/md5.min.js"),
    r"bootstrap@3\.1\.1/dist/js/bootstrap\.min\.js": ("bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    r"bootstrap@3\.1\.1/dist/css/bootstrap\.min\.css": ("bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
}

_TAG = re.compile(r"<(script|link)\b[^>]*?(?:src|href)=\"(https?://[^\"]+)\"[^>]*>", re.S)


class VendorError(RuntimeError):
    """A vendored file could not be obtained (no npm, or the registry is unreachable)."""


def _local_name(spec: str, inner: str) -> str:
    return f"{spec.replace('@', '-')}-{Path(inner).name}"


def fetch_vendor(cache: Path = VENDOR_CACHE, *, npm: str | None = None, timeout: float = 300) -> Path:
    """Make sure every vendored file is in ``cache`` (``npm pack`` of the missing packages)."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, list[str]] = {}
    for spec, inner in VENDOR.values():
        if not (cache / _local_name(spec, inner)).exists():
            wanted.setdefault(spec, []).append(inner)
    if not wanted:
        return cache
    npm = npm or shutil.which("npm")
    if npm is None:
        raise VendorError("npm is not installed; it fetches the JavaScript asv's web view needs "
                          f"({', '.join(sorted(wanted))})")
    with tempfile.TemporaryDirectory(prefix="kmbench-npm-") as tmp:
        proc = subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, *wanted], cwd=tmp,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise VendorError(f"npm pack {' '.join(wanted)} failed:\n{proc.stderr.strip()[-2000:]}")
        for spec, inners in wanted.items():
            name, version = spec.rsplit("@", 1)
            tgz = Path(tmp) / f"{name}-{version}.tgz"
            with tarfile.open(tgz) as tf:
                for inner in inners:
                    member = tf.extractfile(f"package/{inner}")
                    if member is None:
                        raise VendorError(f"{spec} has no {inner}")
                    (cache / _local_name(spec, inner)).write_bytes(member.read())
    return cache


def localize(html_dir: Path, vendor: Path = VENDOR_CACHE) -> list[str]:
    """Point ``index.html``'s CDN references at ``html_dir/vendor/`` copies.

    Returns the addresses that are still remote (none, when every one is known).
    """
    html_dir = Path(html_dir)
    index = html_dir / "index.html"
    text = index.read_text()
    (html_dir / "vendor").mkdir(exist_ok=True)
    remaining: list[str] = []

    def replace(m: re.Match) -> str:
        tag, url = m.group(1), m.group(2)
        for pattern, (spec, inner) in VENDOR.items():
            if re.search(pattern, url):
                local = _local_name(spec, inner)
                shutil.copyfile(vendor / local, html_dir / "vendor" / local)
                if tag == "script":
                    return f'<script src="vendor/{local}" onerror="js_load_failure()">'
                return f'<link rel="stylesheet" href="vendor/{local}">'
        remaining.append(url)
        return m.group(0)

    index.write_text(_TAG.sub(replace, text))
    return remaining


def publish(root: Path = ROOT, *, python: str = sys.executable, config: Path | None = None,
            html_dir: Path | None = None) -> Path:
    """``asv publish`` (its html_dir from the config), then :func:`localize` it."""
    from .regress import read_asv_config

    config = Path(config) if config is not None else Path(root) / "asv.conf.json"
    proc = subprocess.run([python, "-m", "asv", "publish", "--config", str(config)], cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"asv publish failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    html = Path(html_dir) if html_dir else Path(root) / read_asv_config(config)["html_dir"]
    missing = localize(html, fetch_vendor())
    if missing:
        raise VendorError(f"index.html still loads {', '.join(missing)}")
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at an ephemeral port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def graph_url(base: str, benchmark: str) -> str:
    """asv's page for one benchmark's graph."""
    return f"{base}#{benchmark}"


def dump_dom(url: str, *, wait_ms: int = 8000, timeout: float = 90.0) -> str:
    """The page's DOM after its scripts ran (headless Chromium ``--dump-dom``)."""
    from .browser import FLAGS, BrowserError, find_chromium

    exe = find_chromium()
    if exe is None:
        raise BrowserError("no Chromium found; install it with 'make browser' (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="kmbench-chromium-") as profile:
        proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={wait_ms}",
                               "--dump-dom", url], capture_output=True, text=True, timeout=timeout,
                              env={"HOME": profile, "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0 or not proc.stdout:
        raise BrowserError(f"chromium --dump-dom {url} exited with {proc.returncode}: {proc.stderr[-1500:]}")
    return proc.stdout


def page_content(png: Path) -> dict[str, float]:
    """How much is drawn in a screenshot: fraction of non-background pixels and colours used."""
    import numpy as np
    from matplotlib import image

    img = image.imread(png)[..., :3]
    flat = (img.reshape(-1, 3) * 255).round().astype(np.uint8)
    background = np.all(flat >= 250, axis=1)
    colours = len(np.unique(flat[::7], axis=0))
    return {"ink": float(1 - background.mean()), "colours": float(colours)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench_core.asv_html", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--screenshot", type=Path, help="screenshot a benchmark's graph page into this PNG")
    ap.add_argument("--benchmark", default="bench_pam.PAMFamily.time_fit")
    ap.add_argument("--no-publish", action="store_true", help="only localize an existing html_dir")
    args = ap.parse_args(argv)
    from .regress import read_asv_config

    html = ROOT / read_asv_config(ROOT / "asv.conf.json")["html_dir"]
    if args.no_publish:
        missing = localize(html, fetch_vendor())
        if missing:
            print(f"still remote: {', '.join(missing)}", file=sys.stderr)
    else:
        html = publish()
    print(f"asv html: {html}")
    if args.screenshot:
        from .browser import screenshot

        with serve(html) as base:
            png = screenshot(graph_url(base, args.benchmark), args.screenshot, wait_ms=8000)
        print(f"screenshot: {png} {page_content(png)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
