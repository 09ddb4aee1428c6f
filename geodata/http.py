"""The one HTTP session factory: retries with backoff, a default timeout and a User-Agent.

Sources and downloads never create their own session: they receive one, so tests can point
them at a local server and operators can set proxies in one place.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "bosai-dashboard/0.1 (+municipal disaster HQ dashboard)"
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, *args, timeout=DEFAULT_TIMEOUT, **kwargs):
        self._timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def make_session(
    *,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    user_agent: str = USER_AGENT,
) -> requests.Session:
    """A ``requests.Session`` that retries 429/5xx (honouring Retry-After) and times out.

    Parameters
    ----------
    retries : attempts after the first, for connection errors and 429/500/502/503/504.
    backoff : backoff factor (0.5 -> 0.5 s, 1 s, 2 s ...); Retry-After wins when sent.
    timeout : default (connect, read) timeout applied to every request without its own.
    user_agent : the User-Agent header.

    Examples
    --------
    >>> s = make_session(retries=0)
    >>> s.headers["User-Agent"].startswith("bosai-dashboard")
    True
    """
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = _TimeoutAdapter(max_retries=retry, timeout=timeout)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
