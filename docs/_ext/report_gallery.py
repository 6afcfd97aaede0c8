"""Sphinx extension: the results gallery, one page per stored report.

For every report kept in the repository (``reports/<name>/index.md``, written by
``kmbench report`` / ``kmbench reproduce``) it writes ``docs/gallery/<name>.md`` before
Sphinx reads the sources: the command that made the report (from ``provenance.json`` or
the report's own "Commands:" block), then the report itself with its figure paths pointed
at ``reports/<name>/figures``. ``docs/gallery/index.md`` lists them with their first figure.
A note in ``docs/_gallery_notes/<name>.md`` (caveats of that run) goes under the command.
Only reports tracked by git are shown (a local ``kmbench report`` run does not leak into
the site); outside a git checkout every ``reports/*/index.md`` is used.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

IMAGE = re.compile(r"!\[([^\]]*)\]\((figures/[^)\s]+)\)")
SVG_LINK = re.compile(r"\s*\(\[SVG\]\(figures/[^)]+\)\)")


def stored_reports(root: Path) -> list[Path]:
    """``reports/<name>/index.md`` files kept in the repository, sorted by name."""
    try:
        out = subprocess.run(["git", "ls-files", "reports/*/index.md"], cwd=root,
                             capture_output=True, text=True, check=True).stdout
        paths = [root / line for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.CalledProcessError):
        paths = list(root.glob("reports/*/index.md"))
    return sorted(p for p in paths if p.is_file())


def commands(report_dir: Path, text: str) -> list[str]:
    """The commands that made a report: provenance.json's list, else the indented block
    after "Commands:" in the report."""
    prov = report_dir / "provenance.json"
    if prov.is_file():
        cmds = json.loads(prov.read_text()).get("commands") or []
        if cmds:
            return [str(c) for c in cmds]
    m = re.search(r"^Commands?:\s*\n\n((?:    .+\n)+)", text, flags=re.M)
    return [line.strip() for line in m.group(1).splitlines()] if m else []


def page(name: str, report: Path, depth: str) -> tuple[str, str, str | None]:
    """(title, page text, first figure) of one report page under ``docs/gallery/``."""
    text = report.read_text(encoding="utf-8")
    lines = text.splitlines()
    title = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("# ") else name
    body = "\n".join(lines[1:]) if lines and lines[0].startswith("# ") else text
    base = f"{depth}reports/{name}/"
    first = IMAGE.search(body)
    body = SVG_LINK.sub("", body)
    # the command is shown above; the results path is the machine's, keep it repository-relative
    body = re.sub(r"^Commands?:\s*\n\n(?:    .+\n)+", "", body, count=1, flags=re.M)
    body = re.sub(r"^(Results: ).*?(results/runs/\S+)$", r"\1`\2`", body, flags=re.M)
    body = IMAGE.sub(lambda m: f"![{m.group(1)}]({base}{m.group(2)})", body)
    cmds = commands(report.parent, text)
    head = [f"# {title}", "", f"Stored report `reports/{name}/` "
            f"(`index.html`, `index.md`, LaTeX tables, figures as PNG and SVG). Made with:", "",
            "```", *(cmds or [f"kmbench report {name}"]), "```", ""]
    note = Path(__file__).resolve().parents[1] / "_gallery_notes" / f"{name}.md"
    if note.is_file():  # what a reader must know about this run (docs/_gallery_notes/NAME.md)
        head += [note.read_text(encoding="utf-8").strip(), ""]
    return title, "\n".join(head) + body + "\n", (base + first.group(2)) if first else None


def write_gallery(app) -> None:
    docs = Path(app.srcdir)
    root = docs.parent
    out = docs / "gallery"
    out.mkdir(exist_ok=True)
    keep = {"index.md"}
    entries = []
    for report in stored_reports(root):
        name = report.parent.name
        title, text, figure = page(name, report, "../../")
        _write(out / f"{name}.md", text)
        keep.add(f"{name}.md")
        entries.append((name, title, figure, commands(report.parent, report.read_text())))
    for stale in out.glob("*.md"):
        if stale.name not in keep:
            stale.unlink()
    idx = ["# Results gallery", "",
           "The reports kept in the repository (`reports/`), each with its tables, figures and the "
           "command that made it. They were measured on a 2-core virtual machine shared with "
           "other jobs: compare ratios and losses, and re-run a preset on a quiet machine before "
           "quoting absolute times ({doc}`../reproducibility`).", ""]
    for name, title, figure, cmds in entries:
        idx += [f"## {title}", "", f"{{doc}}`The full report <{name}>` · command: "
                f"`{cmds[0] if cmds else 'kmbench report ' + name}`", ""]
        if figure:
            idx += [f"![{title}]({figure})", ""]
    idx += ["```{toctree}", ":hidden:", ""] + [name for name, *_ in entries] + ["```", ""]
    _write(out / "index.md", "\n".join(idx))


def _write(path: Path, text: str) -> None:
    """Write only on change, so that Sphinx does not re-read unchanged pages."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_gallery)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
