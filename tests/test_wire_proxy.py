"""benchmarks/wire.py: the loopback proxy the browser benchmarks count bytes on the wire with."""

from __future__ import annotations

import http.server
import threading
import urllib.request

from benchmarks.wire import counting_proxy

BODY = b"x" * 123_456


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def test_proxy_forwards_and_counts_every_byte_each_way():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        upstream = {"url": f"http://127.0.0.1:{server.server_address[1]}"}
        with counting_proxy(upstream) as proxied:
            proxy = proxied["proxy"]
            assert proxied["url"] != upstream["url"]
            for _ in range(2):
                with urllib.request.urlopen(proxied["url"] + "/a", timeout=10) as resp:
                    assert resp.read() == BODY
            # body + status line and headers, twice; the requests went up
            assert 2 * len(BODY) < proxy.down < 2 * len(BODY) + 2 * 400
            assert 0 < proxy.up < 2 * 400
            proxy.reset()
            assert proxy.down == proxy.up == 0
            with urllib.request.urlopen(proxied["url"] + "/b", timeout=10) as resp:
                resp.read()
            assert len(BODY) < proxy.down < len(BODY) + 400
    finally:
        server.shutdown()
