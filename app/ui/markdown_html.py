"""Renders a note's markdown to HTML for QTextBrowser, with an anchor at each heading's slug."""
from __future__ import annotations

import re

import markdown

from app.content.notes import slugify
from app.ui import theme

STYLE = """<style>
body {{ font-family: sans-serif; font-size: 11pt; }}
h1 {{ font-size: 18pt; }} h2 {{ font-size: 14pt; margin-top: 14px; }} h3 {{ font-size: 12pt; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid {rule}; padding: 4px 6px; }}
th {{ background: {table_header}; }} code {{ font-family: monospace; background: {code}; }}
pre {{ background: {code}; padding: 6px; }}
</style>"""


def note_html(body: str) -> str:
    html = markdown.markdown(body, extensions=["tables", "fenced_code", "sane_lists"])

    def anchor(match: re.Match) -> str:
        level, inner = match.group(1), match.group(2)
        text = re.sub(r"<[^>]+>", "", inner)
        # the anchor wraps the heading's words: Qt drops an empty <a name> between blocks, so scrollToAnchor and
        # the section highlight would find only the first heading
        return f'<h{level}><a name="{slugify(text)}">{inner}</a></h{level}>'

    html = re.sub(r"<h([1-3])>(.*?)</h\1>", anchor, html)
    return STYLE.format(**{k: theme.colour(k) for k in ('rule', 'table_header', 'code')}) + html
