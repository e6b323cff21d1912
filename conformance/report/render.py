"""Rendering the report with Jinja2, escaping every value from the results.

Results files carry text from frameworks (exception messages, reprs) and from spec authors, so
nothing is trusted: HTML is autoescaped, and the Markdown template escapes table cells (pipes,
newlines, HTML) and fences code so that a stray backtick run cannot end the block.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from . import badges, matrix

TEMPLATES = Path(__file__).resolve().parent / "templates"


def md_cell(value) -> Markup:
    """Text safe inside a Markdown table cell (and inline Markdown in general)."""
    text = re.sub(r"([\\`*_\[\]|#~])", r"\\\1", "" if value is None else str(value))
    text = str(escape(text))  # after the backslashes, so entities such as &#39; stay whole
    return Markup(text.replace("\r\n", "\n").replace("\n", "<br>"))


def md_url(value) -> Markup:
    """A link destination for Markdown: entities and escaped parentheses only."""
    return Markup(re.sub(r"([()\\])", r"\\\1", str(escape(value))))


def md_fence(value, lang: str = "") -> Markup:
    """A fenced code block longer than any backtick run inside ``value``."""
    text = "" if value is None else str(value)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}{lang}\n{text.rstrip()}\n{fence}")


def md_code(value, indent: int = 4) -> Markup:
    """Inline code for a short one-line value, else an indented fenced block."""
    text = "" if value is None else str(value)
    if len(text) <= 80 and "\n" not in text and "`" not in text:
        return Markup(f" `{text}`")
    block = md_fence(text)
    return Markup("\n\n" + "\n".join(" " * indent + line for line in block.split("\n")) + "\n")


def http_url(value) -> bool:
    """Only http(s) links become links; anything else (javascript:, data:) stays text."""
    return isinstance(value, str) and re.match(r"https?://[^\s<>\"'`]+$", value) is not None


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = md_cell
    env.filters["fence"] = md_fence
    env.filters["md_url"] = md_url
    env.filters["code"] = md_code
    env.tests["http_url"] = http_url
    return env


def render(model: dict, template: str) -> str:
    return _env().get_template(template).render(r=model, categories=matrix.CATEGORIES)


def write_report(doc: dict, out_dir) -> list[Path]:
    """Write report.md, report.html, results.json (the lossless merge) and the badges."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = matrix.build(doc)
    written = []
    for name in ("report.md", "report.html"):
        path = out_dir / name
        path.write_text(render(model, f"{name}.j2"), encoding="utf-8")
        written.append(path)
    merged = out_dir / "results.json"
    merged.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    written.append(merged)
    written += badges.write_badges(doc, [b["key"] for b in model["backends"]], out_dir,
                                   labels={b["key"]: b["label"] for b in model["backends"]})
    return written
