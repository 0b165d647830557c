"""The browser client: the drafting room page and its static files.

    GET /texts/{text_id}    the drafting room of one text (HTML shell; the bundle does the rest)
    GET /static/...         the bundle built from web/client/ by `npm run build` (`make install`)

The page is a shell: the bundle (`web/static/room.js`) signs in if needed, opens the text's
Y.Doc over `ws://HOST:PORT/ws/{text_id}` and draws it. The bundle is not committed; when it
is missing the page says how to build it instead of failing in the browser. See
docs/BROWSER.md.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
BUNDLE = STATIC_DIR / "room.js"


async def drafting_room(request: Request) -> HTMLResponse:
    text_id = request.path_params["text_id"]
    if not BUNDLE.is_file():
        return HTMLResponse(_missing_bundle_page(), status_code=503)
    version = int(BUNDLE.stat().st_mtime)  # a rebuilt bundle is not served from cache
    return HTMLResponse(_room_page(text_id, version), headers={"Cache-Control": "no-store"})


def _room_page(text_id: str, version: int) -> str:
    tid = html.escape(text_id, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Travaux — drafting room</title>
<link rel="stylesheet" href="/static/room.css?v={version}">
<script type="module" src="/static/room.js?v={version}"></script>
</head>
<body>
<div id="room" data-text-id="{tid}"><p class="hint">Opening the text…</p></div>
<noscript>The drafting room needs JavaScript; the text as JSON is at
<a href="/api/texts/{tid}">/api/texts/{tid}</a>.</noscript>
</body>
</html>
"""


def _missing_bundle_page() -> str:
    return """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Travaux — client not built</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto">
<h1>The drafting room is not built yet</h1>
<p>The browser client is bundled from <code>web/client/</code> into <code>web/static/</code>
at install time. Run <code>make install</code> (or <code>npm ci &amp;&amp; npm run build</code>)
in the Travaux checkout, then reload this page.</p>
</body>
</html>
"""


routes = [
    Route("/texts/{text_id}", drafting_room, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
]
