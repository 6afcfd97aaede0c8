"""Sphinx configuration of the kmbench documentation (``make docs``).

Built offline with warnings as errors: no intersphinx, no remote fonts, icons or
scripts (the test ``tests/test_docs.py`` checks every built page for them).
User-guide pages are Markdown (MyST); every ``docs/guide/*.md`` is picked up by the
glob toctree in ``guide/index.md``. The examples in ``docs/examples/`` are executed
by sphinx-gallery during the build, so a broken example fails ``make docs``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# The examples and autodoc import bench_core; keep BLAS to one thread (2-core CI machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from docutils.nodes import SkipNode as _SkipNode  # noqa: E402

import bench_core  # noqa: E402

project = "kmbench"
author = "the kmbench developers"
copyright = "2026, the kmbench developers"  # noqa: A001 - Sphinx's name
release = bench_core.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "report_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build", "_gallery_notes", "README.landing.md", "**/README.md", "examples/README.txt",
    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
    "auto_examples/*.md5", "auto_examples/*.codeobj.json",
]
templates_path = ["_templates"]
# Guide pages come from many branches: a heading that skips a level is style, not an error.
suppress_warnings = ["myst.header"]

# MyST: fenced code as is, ``{note}``-style admonitions, anchors for ## and ###
# headings so pages can link to sections (``guide/asv.md#regression-gate``).
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: autosummary writes one page per object into api/generated/.
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"          # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # class pages list members through autosummary
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# sphinx-gallery: docs/examples/*.py run at every build on small data (a few seconds
# each); an exception fails the build.
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "reference_url": {},
    "backreferences_dir": None,
    "show_memory": False,
    # the timing pages load jQuery and DataTables from CDNs: not written (offline site)
    "write_computation_times": False,
    "plot_gallery": "True",
}

# HTML: pydata-sphinx-theme with every remote resource switched off. The theme bundles
# its fonts and Font Awesome icons as static files; icon links, the version switcher,
# analytics and the "edit this page" button (which would link out) stay unset.
html_theme = "pydata_sphinx_theme"
html_title = "kmbench"
html_static_path = ["_static"]
html_css_files = ["kmbench.css"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "icon_links": [],
    "use_edit_page_button": False,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "navbar_align": "left",
    "show_nav_level": 1,
    "navigation_depth": 3,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "header_links_before_dropdown": 5,
}
html_context = {"default_mode": "light"}

# Extending kmbench: the plug-in page (docs/guide/plugins.md, written with the plug-in
# system) and the example plug-ins (examples/plugins/*.py) are included in extending.md
# when they exist; the included page is then not also a page of the user guide.
PLUGINS_PAGE = DOCS / "guide" / "plugins.md"
PLUGIN_EXAMPLES = sorted((ROOT / "examples" / "plugins").glob("*.py"))
if PLUGINS_PAGE.is_file():
    exclude_patterns.append("guide/plugins.md")


def _extend_page(app, docname, source):
    if docname != "extending":
        return
    extra = []
    if PLUGINS_PAGE.is_file():
        extra += ["", "```{include} guide/plugins.md", ":heading-offset: 1", "```", ""]
    if PLUGIN_EXAMPLES:
        extra += ["", "## The example plug-ins", ""]
        for path in PLUGIN_EXAMPLES:
            rel = os.path.relpath(path, DOCS)
            extra += [f"### `examples/plugins/{path.name}`", "",
                      f"```{{literalinclude}} {rel}", ":language: python", "```", ""]
    source[0] += "\n".join(extra)


# Math: Sphinx's default renderer loads MathJax from a CDN. Formulas (a ``:math:`` role in a
# docstring, a ``{math}`` role in a page) are shown as their TeX source instead, offline.
html_math_renderer = "kmbench_tex"


def _visit_math(self, node):
    self.body.append(self.starttag(node, "code", "", CLASS="math notranslate")
                     + self.encode(node.astext()) + "</code>")
    raise _SkipNode


def _visit_displaymath(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math notranslate")
                     + "<pre>" + self.encode(node["latex"]) + "</pre></div>\n")
    raise _SkipNode


def setup(app):
    app.connect("source-read", _extend_page)
    app.add_html_math_renderer("kmbench_tex", (_visit_math, None), (_visit_displaymath, None))
