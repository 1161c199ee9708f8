"""The pages Caddy serves itself: suspended, not running, no such instance.

Caddy fills in ``{placeholders}`` in a static response body. These pages use
none, and never the request's Host header, which the client controls: the only
variable text is an instance domain, escaped here.
"""

from __future__ import annotations

import html

_STYLE = (
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1f2328;"
    "background:#f6f8fa}"
    "main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;"
    "border:1px solid #d0d7de;border-radius:8px}"
    "h1{font-size:1.4rem;margin:0 0 .5rem}"
    "p{margin:.5rem 0}"
)


def page(title: str, *lines: str) -> str:
    """A small self-contained HTML page; ``lines`` are plain text."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def suspended(domain: str) -> str:
    return page(
        "This instance is suspended",
        f"{domain} is suspended and cannot be reached.",
        "If this is your instance, please contact your hosting provider.",
    )


NOT_RUNNING = page(
    "This instance is not running",
    "The n8n instance at this address is stopped or still starting.",
    "If this is your instance, start it from your control panel, then reload.",
)

UNAVAILABLE = page(
    "This instance is unavailable",
    "The n8n instance at this address did not answer.",
    "Please try again in a moment.",
)

NOT_FOUND = page(
    "No instance here",
    "There is no n8n instance at this address.",
)
