"""The documentation site (docs/, ``make docs``): it builds with warnings as errors, every
internal link and anchor resolves, no page loads anything from the network, the user guide
picks up every ``docs/guide/*.md``, a failing example fails the build, and the index and an
API page render in headless Chromium with their navigation.

``make test`` builds the site first and passes its folder as ``$KMBENCH_DOCS_HTML``;
otherwise the site is built here (incrementally, into docs/_build/html).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from bench_core import browser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_PAGE = "api/generated/bench_core.algorithms.pam.fasterpam.html"
TOP_PAGES = ("getting-started", "guide/index", "extending", "api/index", "auto_examples/index",
             "gallery/index", "reproducibility", "notes/index")

needs_chromium = pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium on this machine; 'make browser' installs Debian's chromium (as root)")


def _sphinx_build(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
                           "-q", *extra, str(src), str(out)],
                          capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def site() -> Path:
    given = os.environ.get("KMBENCH_DOCS_HTML")
    if given and (Path(given) / "index.html").is_file():
        return Path(given)
    pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e .[docs])")
    out = DOCS / "_build" / "html"
    proc = _sphinx_build(DOCS, out)
    assert proc.returncode == 0, f"make docs failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return out


class _Links(HTMLParser):
    """Collect ids and the href/src of links, scripts, stylesheets and images of a page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) is not None:
                self.refs.append((tag, key, a[key]))


def _docnames(site: Path) -> list[str]:
    """The pages of the current build (searchindex.js lists them; an HTML file left over from a
    page since removed is not one of them)."""
    m = re.search(r'"docnames"\s*:\s*(\[.*?\])', (site / "searchindex.js").read_text(encoding="utf-8"))
    assert m, "searchindex.js lists no docnames"
    return json.loads(m.group(1)) + ["genindex", "search"]


def _pages(site: Path) -> dict[Path, _Links]:
    parsed = {}
    for name in _docnames(site):
        page = site / f"{name}.html"
        assert page.is_file(), f"{name}.html is missing from the build"
        p = _Links()
        p.feed(page.read_text(encoding="utf-8"))
        parsed[page] = p
    return parsed


def test_site_has_the_top_pages(site):
    for name in TOP_PAGES:
        assert (site / f"{name}.html").is_file(), f"{name}.html was not built"
    assert (site / API_PAGE).is_file()


def test_no_broken_internal_link(site):
    pages = _pages(site)
    assert len(pages) > 40, f"only {len(pages)} pages were built"
    broken = []
    for page, parsed in pages.items():
        for tag, attr, value in parsed.refs:
            url = urlsplit(value)
            if url.scheme or value.startswith("//") or value.startswith("mailto:"):
                continue
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {tag} {attr}={value!r} (no {target.name})")
                continue
            frag = unquote(url.fragment)
            if frag and target.suffix == ".html" and attr == "href":
                ids = pages[target].ids if target in pages else _Links().ids
                if frag not in ids:
                    broken.append(f"{page.relative_to(site)}: {value!r} (no id {frag!r})")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:40])


def test_no_page_loads_remote_resources(site):
    """Scripts, stylesheets, fonts and images all come from the site itself (offline)."""
    remote = []
    for page, parsed in _pages(site).items():
        for tag, attr, value in parsed.refs:
            if tag in ("script", "link", "img", "iframe", "source") and re.match(r"(https?:)?//", value):
                remote.append(f"{page.relative_to(site)}: <{tag} {attr}={value}>")
    for css in site.rglob("*.css"):
        for m in re.finditer(r"(?:url\(\s*['\"]?|@import\s+['\"])(https?:)?//[^)'\"]+", css.read_text(errors="replace")):
            remote.append(f"{css.relative_to(site)}: {m.group(0)}")
    assert not remote, "pages load remote resources:\n" + "\n".join(remote[:40])


def test_index_links_every_section(site):
    links = {v for tag, attr, v in _pages(site)[site / "index.html"].refs if tag == "a"}
    for name in TOP_PAGES:
        assert any(v.split("#")[0] == f"{name}.html" for v in links), f"index does not link {name}"


def test_user_guide_lists_every_guide_page(site):
    """The glob toctree: each docs/guide/*.md (but the index and a page included elsewhere)
    is built and linked from the user guide's index."""
    excluded = set(runpy.run_path(str(DOCS / "conf.py"))["exclude_patterns"])
    guide = site / "guide" / "index.html"
    links = {v.split("#")[0] for tag, attr, v in _pages(site)[guide].refs if tag == "a"}
    md = [p for p in sorted((DOCS / "guide").glob("*.md"))
          if p.stem != "index" and f"guide/{p.name}" not in excluded]
    assert len(md) >= 10
    for p in md:
        assert (site / "guide" / f"{p.stem}.html").is_file(), f"guide/{p.name} was not built"
        assert f"{p.stem}.html" in links, f"guide/index does not link guide/{p.name}"


def test_examples_ran_and_api_is_numpydoc(site):
    ex = (site / "auto_examples" / "plot_fasterpam.html").read_text(encoding="utf-8")
    assert re.search(r"FasterPAM\s+loss\s+[0-9.]+", ex), "the example's printed output is missing"
    assert re.search(r'<img[^>]+sphx_glr_plot_fasterpam_001', ex), "the example's figure is missing"
    api = (site / API_PAGE).read_text(encoding="utf-8")
    assert "Parameters" in api and "Returns" in api and "random_state" in api
    km = (site / "api" / "generated" / "bench_core.algorithms.estimator.KMedoids.html").read_text()
    assert 'id="bench_core.algorithms.estimator.KMedoids.fit"' in km


def test_gallery_shows_each_stored_report(site):
    stored = subprocess.run(["git", "ls-files", "reports/*/index.md"], cwd=ROOT,
                            capture_output=True, text=True).stdout.split()
    if not stored:
        pytest.skip("no stored reports in this checkout")
    for path in stored:
        name = Path(path).parent.name
        html = (site / "gallery" / f"{name}.html").read_text(encoding="utf-8")
        assert "kmbench report" in html or "kmbench reproduce" in html, f"{name}: no command shown"
        figures = list((ROOT / "reports" / name / "figures").glob("*.png"))
        if figures:
            assert "<img" in html, f"{name}: figures not shown"


def test_a_failing_example_fails_the_build(tmp_path):
    """The gallery configuration of docs/conf.py, on a project whose one example raises."""
    pytest.importorskip("sphinx_gallery")
    conf = runpy.run_path(str(DOCS / "conf.py"))["sphinx_gallery_conf"]
    src = tmp_path / "src"
    (src / "examples").mkdir(parents=True)
    (src / "examples" / "README.txt").write_text("Examples\n========\n")
    (src / "examples" / "plot_broken.py").write_text(
        '"""\nBroken\n======\n\nRaises.\n"""\nraise RuntimeError("this example is broken")\n')
    (src / "conf.py").write_text(f"extensions = ['sphinx_gallery.gen_gallery']\n"
                                 f"sphinx_gallery_conf = {conf!r}\n")
    (src / "index.rst").write_text("Test\n====\n\n.. toctree::\n\n   auto_examples/index\n")
    proc = _sphinx_build(src, tmp_path / "out")
    assert proc.returncode != 0
    assert "this example is broken" in proc.stdout + proc.stderr


def _dump_dom(page: Path) -> str:
    """The page's DOM after Chromium ran its scripts (headless, no network services)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kmbench-chromium-") as profile:
        cmd = [browser.find_chromium(), *browser.FLAGS, f"--user-data-dir={profile}",
               "--virtual-time-budget=2000", "--dump-dom", page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, HOME=profile))
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


@needs_chromium
@pytest.mark.parametrize("page", ["index.html", API_PAGE])
def test_pages_render_in_chromium(site, page, tmp_path):
    dom = _dump_dom(site / page)
    # the theme's navigation bar with a link to every top-level section
    nav = re.search(r'<ul[^>]*class="[^"]*bd-navbar-elements[^"]*"[^>]*>.*?</header>', dom, flags=re.S)
    assert nav, "no navigation bar in the rendered page"
    here = (site / page).parent
    for name in TOP_PAGES[:5]:
        href = os.path.relpath(site / f"{name}.html", here)
        target = name == page.removesuffix(".html") or page.startswith(name.split("/")[0] + "/")
        assert f'href="{href}"' in nav.group(0) or (target and 'href="#"' in nav.group(0)), \
            f"navigation lacks {name}"
    # the theme's scripts ran: the colour mode is set on <html>
    assert re.search(r'<html[^>]+data-mode="(light|dark|auto)"', dom)
    png = browser.screenshot(site / page, tmp_path / "page.png", width=1000, height=700)
    from PIL import Image

    with Image.open(png) as im:
        colours = im.convert("L").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 8, "the page rendered blank"
