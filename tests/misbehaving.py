"""A loopback HTTP server that misbehaves the ways real upstreams do (issue 15).

Each path is given a behaviour: :func:`answer` (a status, headers, a body — a ``429`` with a long
``Retry-After``, a page far bigger than asked), :func:`trickle` (a body one byte at a time) or
:func:`hang` (accept, read the request, never answer). Raw sockets, not werkzeug: a trickled body
and a connection that never gets an answer are what a fault test needs to control.

The server counts the requests per path (``server.hits``) and closes every connection it holds
when it is closed, so a client still waiting on it is released. With ``tls`` (an
``ssl.SSLContext`` for the server side, :func:`self_signed`) it speaks HTTPS.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

Behaviour = Callable[[socket.socket, threading.Event], None]


def answer(status: int = 200, body: bytes = b"", headers: dict | None = None) -> Behaviour:
    """Answer at once: ``status``, ``headers`` and ``body`` (Content-Length set)."""

    def send(conn: socket.socket, _stop: threading.Event) -> None:
        head = {"Content-Length": str(len(body)), **(headers or {})}
        conn.sendall(_head(status, head) + body)

    return send


def trickle(body: bytes, interval: float, content_length: bool = True) -> Behaviour:
    """Answer 200 and send ``body`` one byte every ``interval`` seconds."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        extra = {"Content-Length": str(len(body))} if content_length else {}
        conn.sendall(_head(200, {"Content-Type": "application/json", **extra}))
        for i in range(len(body)):
            if stop.wait(interval):
                return
            conn.sendall(body[i : i + 1])

    return send


def hang() -> Behaviour:
    """Read the request and never answer (until the server is closed)."""

    def send(_conn: socket.socket, stop: threading.Event) -> None:
        stop.wait()

    return send


def _head(status: int, headers: dict) -> bytes:
    headers = {"Connection": "close", **headers}
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class MisbehavingServer:
    """A loopback server; ``route(path, behaviour)``, then point a client at ``url(path)``."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.tls = tls
        self.routes: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def route(self, path: str, behaviour: Behaviour) -> str:
        """Serve ``path`` with ``behaviour``; returns its URL."""
        self.routes[path] = behaviour
        return self.url(path)

    def url(self, path: str = "") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(None)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._conns.append(conn)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            target = data.split(b" ", 2)[1].decode()
            path = target.split("?", 1)[0]
            self.hits[path] += 1
            self.times.setdefault(path, []).append(time.monotonic())
            behaviour = self.routes.get(path, answer(404, b"not found"))
            behaviour(conn, self._stop)  # then the connection is closed (Connection: close)
        except (OSError, ValueError):
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(2)
        self.sock.close()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server-side TLS context for 127.0.0.1 with a fresh self-signed certificate, and the
    certificate's path (a client's ``verify=``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    ip = ipaddress.ip_address("127.0.0.1")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
