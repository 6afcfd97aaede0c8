"""LaTeX output: booktabs tables, a document that includes them, a syntax check and compilation."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .tables import Table

_ESC = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "²": r"\textsuperscript{2}", "×": r"$\times$", "†": r"\textsuperscript{\dag}",
        "—": "---", "–": "--", "−": "$-$", "‡": r"\textsuperscript{\ddag}", "✗": r"$\times$",
        "≤": r"$\le$", "≥": r"$\ge$", "…": r"\ldots{}", "·": r"$\cdot$", "✓": "ok"}
# Anything else outside Latin-1 would stop pdflatex: it becomes '?'.
_ESC_RE = re.compile("|".join(re.escape(k) for k in _ESC) + "|[^\x00-\xff]")

ENGINES = ("latexmk", "pdflatex", "lualatex", "xelatex", "tectonic")


def escape(text: str) -> str:
    return _ESC_RE.sub(lambda m: _ESC.get(m.group(), "?"), str(text))


def table_tex(t: Table) -> str:
    """A ``table`` float with a booktabs ``tabular``; caption and notes below it."""
    al = t.alignment()
    lines = [f"% {t.id}", r"\begin{table}[htbp]", r"\centering", r"\small",
             rf"\begin{{tabular}}{{{al}}}", r"\toprule",
             " & ".join(rf"\textbf{{{escape(c)}}}" for c in t.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(escape(c) for c in r) + r" \\" for r in t.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if t.notes:
        lines += [r"\par\smallskip", r"\begin{minipage}{0.95\linewidth}\footnotesize"]
        lines += [escape(n) + r"\par" for n in t.notes]
        lines.append(r"\end{minipage}")
    caption = escape(t.title) + (r" {\footnotesize " + escape(t.caption) + "}" if t.caption else "")
    lines += [rf"\caption{{{caption}}}", rf"\label{{tab:{t.id}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def document(tables: list[Table], figures, title: str, provenance: str) -> str:
    """A standalone article that inputs every table file and includes every figure (PNG)."""
    body = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2cm,landscape]{geometry}",
            r"\usepackage{booktabs}", r"\usepackage{graphicx}", r"\usepackage[T1]{fontenc}",
            r"\usepackage{float}", r"\begin{document}", rf"\section*{{{escape(title)}}}",
            r"{\footnotesize " + escape(provenance) + r"\par}"]
    body += [rf"\input{{tables/{t.id}.tex}}" for t in tables]
    body.append(r"\clearpage")
    for f in figures:
        body += [r"\begin{figure}[H]", r"\centering",
                 rf"\includegraphics[width=0.8\linewidth]{{figures/{f.png.name}}}",
                 rf"\caption{{{escape(f.title)}}}", r"\end{figure}"]
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"


def check_syntax(text: str) -> list[str]:
    """Problems found without a TeX engine: unbalanced braces and environments, missing booktabs rules.

    Ignores escaped braces; each ``tabular`` must have ``\\toprule``, ``\\midrule`` and ``\\bottomrule``
    in that order, and the same number of cells in every row.
    """
    problems = []
    stripped = re.sub(r"(?<!\\)%.*", "", text)
    depth = 0
    for i, ch in enumerate(stripped):
        if ch in "{}" and i > 0 and stripped[i - 1] == "\\":
            continue
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            problems.append(f"unmatched '}}' at offset {i}")
            depth = 0
    if depth:
        problems.append(f"{depth} unclosed '{{'")
    stack = []
    for m in re.finditer(r"\\(begin|end)\{([^}]*)\}", stripped):
        kind, env = m.groups()
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} does not close the open environment")
    problems += [f"environment {env} is never closed" for env in stack]
    for m in re.finditer(r"\\begin\{tabular\}\{([^}]*)\}(.*?)\\end\{tabular\}", stripped, re.S):
        cols, body = len(m.group(1)), m.group(2)
        pos = [body.find(r) for r in (r"\toprule", r"\midrule", r"\bottomrule")]
        if min(pos) < 0 or pos != sorted(pos):
            problems.append("tabular without \\toprule, \\midrule and \\bottomrule in order")
        for row in re.split(r"\\\\", body):
            row = re.sub(r"\\(top|mid|bottom)rule", "", row).strip()
            if row:
                cells = len(re.split(r"(?<!\\)&", row))
                if cells != cols:
                    problems.append(f"row with {cells} cells in a {cols}-column tabular: {row[:60]!r}")
    return problems


def find_engine() -> str | None:
    for e in ENGINES:
        if shutil.which(e):
            return e
    return None


def compile_pdf(tex: Path, timeout: float = 180) -> tuple[bool, str]:
    """Compile ``tex`` (in a scratch copy of its folder); returns (ok, log tail). Needs a TeX engine."""
    engine = find_engine()
    if engine is None:
        return False, "no TeX engine found (" + ", ".join(ENGINES) + ")"
    with tempfile.TemporaryDirectory(prefix="kmbench-tex-") as tmp:
        work = Path(tmp) / "r"
        shutil.copytree(tex.parent, work)
        if engine == "latexmk":
            cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", tex.name]
        elif engine == "tectonic":
            cmd = ["tectonic", tex.name]
        else:
            cmd = [engine, "-interaction=nonstopmode", "-halt-on-error", tex.name]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
        pdf = work / tex.with_suffix(".pdf").name
        ok = proc.returncode == 0 and pdf.exists()
        if ok:
            shutil.copy(pdf, tex.with_suffix(".pdf"))
        return ok, "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
