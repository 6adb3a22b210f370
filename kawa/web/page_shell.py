"""The HTML every page starts from: head, CSS, one script, and the page's data as JSON (read by the script)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from kawa import __version__

# Pages are built by the script from `boot`; nothing is fetched from another origin, so a strict policy holds.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


ICON_SVG = (
    "data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 100 100%22>"
    "<text y=%22.9em%22 font-size=%2290%22>{}</text></svg>"
)


def page(
    *, title: str, script: str, boot: dict[str, Any], lang: str = "en", icon: str | None = None, body_class: str = ""
) -> HTMLResponse:
    data = json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")
    favicon = f'<link rel="icon" href="{ICON_SVG.format(escape(icon))}">' if icon else ""
    html = f"""<!doctype html>
<html lang="{escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{escape(title)}</title>{favicon}
<link rel="stylesheet" href="/static/kawa/kawa.css?v={__version__}">
<link rel="stylesheet" href="/static/kawa/highlight.css?v={__version__}">
<script type="application/json" id="boot">{data}</script>
<script type="module" src="/static/kawa/{script}?v={__version__}"></script>
</head>
<body class="{escape(body_class)}">
<a class="skip" href="#main">Skip to content</a>
<div id="root"><noscript>This page needs JavaScript.</noscript></div>
</body>
</html>"""
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})
