"""The HTML page of a report: one self-contained file with relative links to the figures."""

from __future__ import annotations

from html import escape

from .tables import Table

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; padding: .3em .8em; }
tbody td { padding: .2em .8em; } tbody tr:last-child td { border-bottom: 2px solid #222; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; } td.l, th.l { text-align: left; }
.caption, figcaption { font-size: .8em; color: #555; max-width: 1100px; }
.notes { font-size: .85em; color: #333; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


def table_html(t: Table) -> str:
    al = t.alignment()
    head = "".join(f'<th class="{a}">{escape(c)}</th>' for c, a in zip(t.columns, al, strict=True))
    body = "".join("<tr>" + "".join(f'<td class="{a}">{escape(c)}</td>' for c, a in zip(r, al, strict=True))
                   + "</tr>" for r in t.rows)
    notes = "".join(f"<div>{escape(n)}</div>" for n in t.notes)
    return (f'<section id="{escape(t.id)}"><h3>{escape(t.title)}</h3>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f'<div class="notes">{notes}</div><p class="caption">{escape(t.caption)}</p>'
            f'<p class="caption">Also as <a href="tables/{escape(t.id)}.tex">LaTeX</a>.</p></section>')


def page(title: str, provenance_html: str, sections: list[tuple[str, list[Table]]], figures, root,
         figures_after: int = 1) -> str:
    """The page: provenance, the first ``figures_after`` table sections, the figures, the other tables."""
    names = [f'<li><a href="#sec-{i}">{escape(name)}</a></li>' for i, (name, _) in enumerate(sections)]
    if figures:
        names.insert(min(figures_after, len(names)), '<li><a href="#figures">Figures</a></li>')
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>", provenance_html,
             f"<nav><ul>{''.join(names)}</ul></nav>"]
    for i, (name, tables) in enumerate(sections[:figures_after]):
        parts.append(f'<h2 id="sec-{i}">{escape(name)}</h2>')
        parts += [table_html(t) for t in tables]
    if figures:
        parts.append('<h2 id="figures">Figures</h2><div class="gallery">')
        for f in figures:
            png, svg = f.png.relative_to(root).as_posix(), f.svg.relative_to(root).as_posix()
            parts.append(f'<figure id="{escape(f.id)}"><a href="{escape(svg)}"><img src="{escape(png)}" '
                         f'alt="{escape(f.title)}" width="1200" height="576"></a>'
                         f"<figcaption>{escape(f.title)}. {escape(f.caption)} "
                         f'(<a href="{escape(svg)}">SVG</a>)</figcaption></figure>')
        parts.append("</div>")
    for i, (name, tables) in enumerate(sections[figures_after:], start=figures_after):
        parts.append(f'<h2 id="sec-{i}">{escape(name)}</h2>')
        parts += [table_html(t) for t in tables]
    parts.append("</body></html>")
    return "\n".join(parts)
