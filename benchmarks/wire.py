"""A loopback TCP proxy that counts the bytes crossing it: what a page costs on the wire.

The DevTools protocol reports HTTP bodies as sent (``encodedDataLength``) but WebSocket frames
**decompressed** (``payloadData``): with permessage-deflate on, it overstates what the server
sent. Chromium talks to this proxy instead of the server; the proxy forwards every byte both
ways and counts them, so ``down`` is exactly what the server wrote to the socket (HTTP headers
and bodies, WebSocket frame headers and compressed payloads, TLS-free loopback).

Standard library only (asyncio in a thread).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import contextmanager


class CountingProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port``, counting bytes each way."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.down = 0  # server -> browser
        self.up = 0  # browser -> server
        self.connections = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="wire-proxy")

    # -- counters -------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.down = self.up = 0

    def _count(self, direction: str, n: int) -> None:
        with self._lock:
            setattr(self, direction, getattr(self, direction) + n)

    # -- the loop -------------------------------------------------------------------------------

    def start(self) -> CountingProxy:
        self._thread.start()
        self._ready.wait(10)
        if not self.port:
            raise RuntimeError("the counting proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, sock=sock))
        self.port = sock.getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _pipe(self, reader, writer, direction: str) -> None:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                self._count(direction, len(chunk))
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already gone
                pass

    async def _handle(self, client_reader, client_writer) -> None:
        with self._lock:
            self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer, "up"),
            self._pipe(server_reader, client_writer, "down"),
        )


@contextmanager
def counting_proxy(server: dict):
    """A :class:`CountingProxy` in front of ``server`` (``{"url": "http://127.0.0.1:PORT"}``);
    yields a copy of ``server`` whose ``url`` is the proxy's and whose ``proxy`` is the counter."""
    host, port = server["url"].removeprefix("http://").rsplit(":", 1)
    proxy = CountingProxy(host, int(port)).start()
    try:
        yield {**server, "url": f"http://127.0.0.1:{proxy.port}", "proxy": proxy}
    finally:
        proxy.stop()
