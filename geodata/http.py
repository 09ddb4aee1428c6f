"""The one HTTP session factory: retries with backoff, timeouts, limits and a User-Agent.

Sources and downloads never create their own session: they receive one, so tests can point
them at a local server and operators can set proxies in one place.

An upstream in trouble must not stall the ingest (issue 15), so a session enforces, per request:

- a **deadline** (:attr:`Limits.deadline`): connect, every read of the headers and the body, and
  the waits between retries together. A per-read timeout alone never fires on a body trickled a
  byte every few seconds; here a timer shuts the request's socket down when the deadline passes,
  so a blocked read returns at once and the request fails with :class:`RequestDeadline`;
- a **size cap** (:attr:`Limits.max_bytes`): an answer whose ``Content-Length`` or decoded body
  goes over it fails with :class:`ResponseTooLarge` (the body read so far is dropped);
- a **cap on Retry-After** (:attr:`Limits.retry_after_cap`): a 429/503 asking for a wait up to
  the cap (and within the deadline) is waited out and retried; a longer one is not slept on: the
  request fails at once with :class:`BackingOff`, which says until when. The runner then marks
  the source "backing off" and leaves it alone until then (ingest/runner.py).

These errors are :class:`requests.RequestException` subclasses, so every caller that handles a
failed request handles them; the runner finds a :class:`BackingOff` in the exception chain.

Over ~400 lines on purpose: the deadline, the size cap and the Retry-After cap act on the same
response object inside one session; split, a limit could be bypassed by a path around it.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from geodata import settings

USER_AGENT = "bosai-dashboard/0.1 (+municipal disaster HQ dashboard)"
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD", "POST"})


class RequestDeadline(requests.Timeout):
    """No complete answer within the request's deadline (a hang, a trickled body)."""


class ResponseTooLarge(requests.RequestException):
    """The answer is bigger than the session's size cap."""


class BackingOff(requests.RequestException):
    """The server asked for a wait longer than the cap (``Retry-After``); ``until`` is when
    to ask again (UTC)."""

    def __init__(self, message: str, *, until: datetime, **kwargs):
        super().__init__(message, **kwargs)
        self.until = until


def backing_off(exc: BaseException | None) -> BackingOff | None:
    """The :class:`BackingOff` behind ``exc`` (itself, or a cause or context of it), else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, BackingOff):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass(frozen=True)
class Limits:
    """What one request may take.

    Parameters
    ----------
    deadline : seconds for the whole request (connect, all reads, retry waits); None: no total.
    max_bytes : the biggest answer accepted (decoded bytes); None: no cap.
    retry_after_cap : the longest ``Retry-After`` waited out; a longer one raises BackingOff.
    """

    deadline: float | None = None
    max_bytes: int | None = None
    retry_after_cap: float = 30.0

    @classmethod
    def for_sources(cls) -> Limits:
        """The limits of the ingest sources' sessions, from the settings
        (``BOSAI_HTTP_DEADLINE_SECONDS``, ``BOSAI_HTTP_MAX_BYTES``, ``BOSAI_RETRY_AFTER_CAP_SECONDS``).
        """
        return cls(
            deadline=settings.number("BOSAI_HTTP_DEADLINE_SECONDS"),
            max_bytes=int(settings.number("BOSAI_HTTP_MAX_BYTES")),
            retry_after_cap=settings.number("BOSAI_RETRY_AFTER_CAP_SECONDS"),
        )


def make_session(
    *,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    user_agent: str = USER_AGENT,
    limits: Limits | None = None,
) -> requests.Session:
    """A ``requests.Session`` that retries 429/5xx (Retry-After up to a cap), times out and
    enforces ``limits``.

    Parameters
    ----------
    retries : attempts after the first, for connection errors and 429/500/502/503/504.
    backoff : backoff factor (0.5 -> 0.5 s, 1 s, 2 s ...); Retry-After wins when sent.
    timeout : default (connect, read) timeout applied to every request without its own.
    user_agent : the User-Agent header.
    limits : deadline, size cap and Retry-After cap (default: no deadline, no size cap — a
        reference download may be big and slow — and ``BOSAI_RETRY_AFTER_CAP_SECONDS``; the
        ingest sources get :meth:`Limits.for_sources`).

    Examples
    --------
    >>> s = make_session(retries=0)
    >>> s.headers["User-Agent"].startswith("bosai-dashboard")
    True
    """
    if limits is None:
        limits = Limits(retry_after_cap=settings.number("BOSAI_RETRY_AFTER_CAP_SECONDS"))
    adapter = _LimitedAdapter(retries=retries, backoff=backoff, timeout=timeout, limits=limits)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


# -- the deadline watch ---------------------------------------------------------------------

_current = threading.local()  # the watch of the request this thread is sending


class _Watch:
    """Shuts the sockets of one request down when its deadline passes.

    A read blocked on a socket that is shut down returns at once, whatever the read timeout;
    that is what ends a trickled body or headers that never come.
    """

    def __init__(self, deadline_at: float):
        self.deadline_at = deadline_at
        self.fired = False
        self._done = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline_at - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _shut(sock)

    def done(self) -> None:
        """The answer was read (or dropped): its connection may go back to the pool."""
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    # socket.socket's shutdown, not ssl.SSLSocket's: that one also drops the TLS object under
    # the thread still reading it (an AttributeError there, not a clean end of the read).
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _WatchedConnectionMixin:
    def getresponse(self):  # the request is sent; its answer is read from here on
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.add(self.sock)
        return super().getresponse()


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# -- the adapter ----------------------------------------------------------------------------


class _LimitedAdapter(HTTPAdapter):
    """Retries (with a capped Retry-After) and the limits, around urllib3 without retries."""

    def __init__(self, *, retries: int, backoff: float, timeout, limits: Limits):
        self._retries = int(retries)
        self._backoff = float(backoff)
        self._timeout = timeout
        self.limits = limits
        super().__init__(max_retries=Retry(0, read=False, redirect=False, raise_on_status=False))

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        limits = self.limits
        started = time.monotonic()
        deadline_at = started + limits.deadline if limits.deadline else None
        connect, read = _pair(self._timeout if timeout is None else timeout)
        attempt = 0
        while True:
            watch = _Watch(deadline_at) if deadline_at is not None else None
            _current.watch = watch
            try:
                response = super().send(
                    request,
                    stream=stream,
                    timeout=_bounded(connect, read, deadline_at),
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if watch is not None:
                    watch.done()
                if deadline_at is not None and time.monotonic() >= deadline_at - 0.05:
                    raise _deadline(request, limits) from exc
                retry = isinstance(exc, requests.ConnectionError) or request.method in RETRY_METHODS
                if not retry or attempt >= self._retries:
                    raise
                self._sleep(self._backoff * 2**attempt, deadline_at)
                attempt += 1
                continue
            finally:
                _current.watch = None
            if response.status_code in RETRY_STATUS and request.method in RETRY_METHODS:
                wait = retry_after(response)
                if wait is not None and (
                    wait > limits.retry_after_cap
                    or (deadline_at is not None and time.monotonic() + wait > deadline_at)
                ):
                    _drop(response, watch)
                    raise _backing_off(request, response, wait, limits)
                if attempt < self._retries:
                    pause = wait if wait is not None else self._backoff * 2**attempt
                    if deadline_at is None or time.monotonic() + pause < deadline_at:
                        _drop(response, watch)
                        time.sleep(pause)
                        attempt += 1
                        continue
            return self._guard(request, response, watch)

    @staticmethod
    def _sleep(seconds: float, deadline_at: float | None) -> None:
        if deadline_at is not None:
            seconds = min(seconds, max(0.0, deadline_at - time.monotonic()))
        time.sleep(seconds)

    def _guard(self, request, response, watch: _Watch | None):
        """Check the announced size, and read the body through the deadline and the size cap."""
        cap = self.limits.max_bytes
        length = response.headers.get("Content-Length", "")
        if cap is not None and length.isdigit() and int(length) > cap:
            _drop(response, watch)
            raise ResponseTooLarge(
                f"{request.url}: the answer is {int(length):,} bytes, over the cap of {cap:,}",
                request=request,
            )
        if watch is not None or cap is not None:
            response.raw = _GuardedBody(response.raw, request, watch, self.limits)
        return response


class _GuardedBody:
    """``response.raw`` read through the deadline watch and the size cap."""

    def __init__(self, raw, request, watch: _Watch | None, limits: Limits):
        self._raw = raw
        self._request = request
        self._watch = watch
        self._limits = limits
        self._count = 0

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def _counted(self, chunk: bytes) -> bytes:
        self._count += len(chunk)
        cap = self._limits.max_bytes
        if cap is not None and self._count > cap:
            self.close()
            raise ResponseTooLarge(
                f"{self._request.url}: the answer is over the cap of {cap:,} bytes",
                request=self._request,
            )
        return chunk

    def _check_deadline(self, cause: BaseException | None = None) -> None:
        if self._watch is not None and self._watch.fired:
            raise _deadline(self._request, self._limits) from cause

    def stream(self, amt: int = 2**16, decode_content=None):
        try:
            for chunk in self._raw.stream(amt, decode_content=decode_content):
                yield self._counted(chunk)
        except requests.RequestException:
            raise
        except Exception as exc:
            self._check_deadline(exc)
            raise
        finally:
            if self._watch is not None:
                self._watch.done()
        self._check_deadline()  # a body read until the connection closed, cut by the deadline

    def read(self, amt=None, *args, **kwargs):
        try:
            data = self._raw.read(amt, *args, **kwargs)
        except Exception as exc:
            self._check_deadline(exc)
            raise
        self._check_deadline()
        return self._counted(data)

    def close(self):
        if self._watch is not None:
            self._watch.done()
        self._raw.close()


def _pair(timeout) -> tuple[float | None, float | None]:
    if isinstance(timeout, tuple):
        return timeout[0], timeout[1]
    return timeout, timeout


def _bounded(connect, read, deadline_at: float | None):
    if deadline_at is None:
        return (connect, read)
    remaining = max(0.01, deadline_at - time.monotonic())
    return (
        remaining if connect is None else min(connect, remaining),
        remaining if read is None else min(read, remaining),
    )


def _drop(response, watch: _Watch | None) -> None:
    if watch is not None:
        watch.done()
    response.close()


def _deadline(request, limits: Limits) -> RequestDeadline:
    return RequestDeadline(
        f"{request.method} {request.url}: no complete answer within the deadline of "
        f"{limits.deadline:g} s",
        request=request,
    )


def _backing_off(request, response, wait: float, limits: Limits) -> BackingOff:
    until = datetime.now(UTC) + timedelta(seconds=wait)
    return BackingOff(
        f"HTTP {response.status_code}: Retry-After {wait:g} s is over the cap of "
        f"{limits.retry_after_cap:g} s (or the request's deadline): backing off until "
        f"{until.isoformat(timespec='seconds')}",
        until=until,
        request=request,
        response=response,
    )


def retry_after(response) -> float | None:
    """The seconds a ``Retry-After`` header asks for (seconds or an HTTP date), else None."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
