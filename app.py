"""防災ダッシュボード — the server: Streamlit running ``streamlit_app.py``, plus the login endpoints.

Run: ``streamlit run app.py`` (``make demo`` does). Streamlit finds ``app`` below and serves the
frame ``streamlit_app.py`` with two extra routes that set and clear the ``HttpOnly`` session
cookie (dashboard/server.py). It listens on 127.0.0.1 (``.streamlit/config.toml``); the README
says how to put it behind an HTTPS reverse proxy for the HQ network.

Before anything is served, a store file or secret readable by other local users stops the start
with one line naming the file and the ``chmod`` to run. Once it runs, the overview's caches are
filled in the background (dashboard/warm.py; ``BOSAI_WARM_CACHES=0`` skips it). Static files
(Streamlit's script bundle, the vendored map assets) go out gzipped, compressed once
(dashboard/static_gzip.py); the websocket is compressed too (``.streamlit/config.toml``).
"""

from contextlib import asynccontextmanager

from starlette.middleware import Middleware
from streamlit.starlette import App

from dashboard import server, warm
from dashboard.static_gzip import StaticGzip


@asynccontextmanager
async def lifespan(_app):
    """At start: the overview's caches are filled in the background (dashboard/warm.py)."""
    warm.start()
    yield


server.refuse_insecure_files()
# Streamlit sends its script bundle uncompressed; StaticGzip gzips it (and the map assets) once.
app = App(
    "streamlit_app.py",
    routes=server.routes(),
    lifespan=lifespan,
    middleware=[Middleware(StaticGzip)],
)
