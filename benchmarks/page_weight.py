"""Where a page's bytes go: every HTTP response and WebSocket message of one visit, by resource.

    python -m benchmarks.page_weight --db sqlite:////tmp/bench-overview/drill-100k.sqlite \
        [--path /] [--env STREAMLIT_SERVER_ENABLE_WEBSOCKET_COMPRESSION=false] [--json out.json]

Starts ``streamlit run app.py`` on the store (as ``map_ready`` does, caches warmed), puts the
counting proxy (:mod:`benchmarks.wire`) between Chromium and the server and opens the page
twice in one new session (first visit with an empty cache, then opened again). For each visit
it prints the bytes on the wire (the proxy) and, per resource, what DevTools reports: HTTP
``encodedDataLength`` (as sent) and decoded body size; WebSocket messages decoded
(``ForwardMsg``: element type, component name, the largest first).
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from benchmarks import app_server as app
from benchmarks.common import ROOT
from benchmarks.wire import counting_proxy


def classify_ws(payload: bytes) -> str:
    """A short name of a Streamlit ForwardMsg: its type, and the element's for a delta."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    try:
        msg.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - not a ForwardMsg
        return "?"
    kind = msg.WhichOneof("type") or "?"
    if kind != "delta":
        return kind
    delta = msg.delta
    which = delta.WhichOneof("type")
    if which == "new_element":
        el = delta.new_element
        name = el.WhichOneof("type")
        if name == "component_instance":
            name += f":{el.component_instance.component_name}"
        return f"element:{name}"
    return f"delta:{which}"


def category(url: str) -> str:
    path = urlparse(url).path
    if path.startswith("/static/"):
        kind = path.rsplit(".", 1)[-1]
        return f"streamlit bundle .{kind}"
    if path.startswith("/app/static/"):
        return "app static (vendored Leaflet/folium)"
    if path.startswith("/component/"):
        return "component frontend (streamlit_folium)"
    if path.startswith("/_stcore/"):
        return "streamlit API"
    return "page / other"


class Recorder:
    def __init__(self, page: app.Page):
        self.http: dict[str, dict] = {}
        self.ws: list[tuple[str, int]] = []
        self.t0: float | None = None  # DevTools timestamp of the page's own request
        self.events: list[tuple[float, str]] = []  # (DevTools timestamp, what)
        cdp = page._cdp  # noqa: SLF001 - the Page's DevTools session
        cdp.on("Network.requestWillBeSent", self._request)
        cdp.on("Network.webSocketCreated", lambda ev: self.events.append((None, "ws created")))
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._frame)

    def reset(self) -> None:
        self.http, self.ws, self.t0, self.events = {}, [], None, []

    def _request(self, ev: dict) -> None:
        if self.t0 is None and ev.get("type") == "Document":
            self.t0 = ev["timestamp"]
        path = urlparse(ev["request"]["url"]).path
        if "st_folium" in path and path.endswith("index.html"):
            self.events.append((ev["timestamp"], "map frame requested"))

    def _entry(self, rid: str) -> dict:
        return self.http.setdefault(rid, {"url": "", "encoded": 0, "decoded": 0, "enc": ""})

    def _response(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e["url"] = ev["response"]["url"]
        headers = {k.lower(): v for k, v in (ev["response"].get("headers") or {}).items()}
        e["enc"] = headers.get("content-encoding", "")

    def _data(self, ev: dict) -> None:
        self._entry(ev["requestId"])["decoded"] += int(ev.get("dataLength") or 0)

    def _finished(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e["encoded"] = int(ev.get("encodedDataLength") or 0)
        e["done"] = ev.get("timestamp")

    def _frame(self, ev: dict) -> None:
        resp = ev.get("response") or {}
        data = resp.get("payloadData") or ""
        raw = base64.b64decode(data) if resp.get("opcode") == 2 else data.encode()
        name = classify_ws(raw)
        self.ws.append((name, len(raw)))
        if name in ("new_session", "script_finished") or "st_folium" in name:
            self.events.append((ev.get("timestamp"), f"ws {name} ({len(raw):,} B)"))

    def timeline(self) -> list[tuple[float, str]]:
        if self.t0 is None:
            return []
        out = [(t - self.t0, what) for t, what in self.events if t is not None]
        done = collections.defaultdict(float)
        for e in self.http.values():
            if e.get("done"):
                c = category(e["url"])
                done[c] = max(done[c], e["done"] - self.t0)
        out += [(t, f"last of {c} received") for c, t in done.items()]
        return sorted(out)


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB"


def visit(page: app.Page, rec: Recorder, proxy, url: str) -> dict:
    rec.reset()
    proxy.reset()
    start = time.perf_counter()
    page.page.goto(url, wait_until="commit")
    app.wait_map_ready(page.page)
    ready = time.perf_counter() - start
    page.page.wait_for_timeout(1500)  # frames still in flight after the paint
    cats: dict[str, list] = collections.defaultdict(lambda: [0, 0, 0])
    for e in rec.http.values():
        c = cats[category(e["url"])]
        c[0] += 1
        c[1] += e["encoded"]
        c[2] += e["decoded"]
    ws: dict[str, list] = collections.defaultdict(lambda: [0, 0])
    for name, n in rec.ws:
        ws[name][0] += 1
        ws[name][1] += n
    biggest = sorted(rec.http.values(), key=lambda e: -e["encoded"])[:15]
    return {
        "seconds": round(ready, 3),
        "timeline": [(round(t, 3), what) for t, what in rec.timeline()],
        "wire_down": proxy.down,
        "wire_up": proxy.up,
        "http_encoded": sum(e["encoded"] for e in rec.http.values()),
        "http_decoded": sum(e["decoded"] for e in rec.http.values()),
        "ws_decoded": sum(n for _, n in rec.ws),
        "http_by_category": {
            k: {"n": v[0], "encoded": v[1], "decoded": v[2]} for k, v in cats.items()
        },
        "ws_by_message": {k: {"n": v[0], "decoded": v[1]} for k, v in ws.items()},
        "largest_http": [
            {
                "path": urlparse(e["url"]).path,
                "encoded": e["encoded"],
                "decoded": e["decoded"],
                "content_encoding": e["enc"],
            }  # fmt: skip
            for e in biggest
        ],
    }


def show(label: str, got: dict) -> None:
    print(f"\n== {label}: map ready {got['seconds']:.2f} s; wire (proxy) {kb(got['wire_down'])} "
          f"down; DevTools: HTTP {kb(got['http_encoded'])} as sent ({kb(got['http_decoded'])} "
          f"decoded) + WebSocket {kb(got['ws_decoded'])} decoded")  # fmt: skip
    for k, v in sorted(got["http_by_category"].items(), key=lambda kv: -kv[1]["encoded"]):
        print(
            f"  HTTP {k:42s} {v['n']:3d}  sent {kb(v['encoded']):>11s}  decoded {kb(v['decoded']):>11s}"
        )
    for k, v in sorted(got["ws_by_message"].items(), key=lambda kv: -kv[1]["decoded"]):
        print(f"  WS   {k:42s} {v['n']:3d}  decoded {kb(v['decoded']):>11s}")
    print("  timeline (s from the page's request):")
    for t, what in got["timeline"]:
        print(f"    {t:6.2f}  {what}")
    print("  largest responses:")
    for e in got["largest_http"]:
        print(f"    {e['path'][:70]:70s} sent {kb(e['encoded']):>10s} decoded {kb(e['decoded']):>10s} "
              f"{e['content_encoding']}")  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", required=True, help="store URL (a benchmark drill store)")
    p.add_argument("--path", default="/")
    p.add_argument("--script", default=str(ROOT / "app.py"))
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the server (e.g. STREAMLIT_SERVER_...=true)",
    )
    p.add_argument("--json", type=Path)
    p.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    args = p.parse_args(argv)
    from benchmarks.bench_map_ready import wait_warmed

    app.ensure_admin(args.db)
    env = app.app_env(args.db, **dict(kv.split("=", 1) for kv in args.env))
    out = {}
    with app.streamlit_server(args.script, env, args.log_dir) as server:
        wait_warmed(server, 300)
        with counting_proxy(server) as proxied, app.chromium() as browser:
            page = app.Page(browser, proxied["url"], args.db)
            rec = Recorder(page)
            try:
                for label in ("first visit", "opened again"):
                    out[label] = visit(page, rec, proxied["proxy"], proxied["url"] + args.path)
                    show(label, out[label])
            finally:
                page.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
