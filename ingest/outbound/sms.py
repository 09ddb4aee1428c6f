"""One generic SMS gateway adapter, in the shape of Twilio's Messages API (docs/line.md).

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``
(or ``MessagingServiceSid`` when the sender starts with ``MG``) and ``Body``, HTTP basic auth
(account SID, auth token). ``201 Created`` answers a JSON message resource whose ``sid`` is kept
as the request id; an error answers ``{"code": …, "message": …, "status": …}``.

Many gateways (and Japanese carriers' SMS APIs behind an aggregator) accept this shape or sit
behind a proxy that does. The API has no retry key, so only ``429`` and connection failures
*before* a response are retried; a ``5xx`` is logged as an error and not sent again (the message
may have left). Phone numbers are sent in E.164 (+81…): a domestic ``090-…`` is converted.
Numbers and texts are never logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import requests

from ingest.outbound.line import SendResult

log = logging.getLogger(__name__)


def e164(phone: str, country: str = "81") -> str:
    """A Japanese phone number in E.164.

    Examples
    --------
    >>> e164("090-1234-5678")
    '+819012345678'
    >>> e164("+81 3 1234 5678")
    '+81312345678'
    """
    digits = re.sub(r"[^\d+]", "", str(phone))
    if digits.startswith("+"):
        return digits
    if digits.startswith("0"):
        return f"+{country}{digits[1:]}"
    return f"+{digits}"


class SmsGateway:
    """Send SMS through a Twilio-shaped Messages API.

    Parameters
    ----------
    session : an injected ``requests.Session``.
    base_url : e.g. ``https://api.twilio.com``.
    account_sid, auth_token : basic-auth credentials (never logged).
    sender : the ``From`` number, or a messaging service SID (``MG…``).
    reply_hint : appended to campaign texts (how to answer without LINE).
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        reply_hint: str = "お返事は市の災害対策本部へお電話ください。",
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not (base_url and account_sid and auth_token and sender):
            raise ValueError("the SMS gateway needs a URL, an account SID, a token and a sender")
        self.session = session
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self.sender = sender
        self.reply_hint = reply_hint
        self.max_attempts = max_attempts
        self.sleep = sleep

    def __repr__(self) -> str:
        return "SmsGateway()"

    def send(self, phone: str, text: str) -> SendResult:
        """Send ``text`` to ``phone``; a :class:`SendResult` (``request_id`` = the message sid)."""
        form = {"To": e164(phone), "Body": text}
        form["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        result = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self.session.post(self.url, data=form, auth=self._auth, timeout=(5, 30))
            except requests.ConnectionError as exc:
                result = SendResult("error", None, None, None, type(exc).__name__, attempt)
                self.sleep(0.5 * 2 ** (attempt - 1))
                continue
            except requests.RequestException as exc:  # a timeout: it may have left, stop
                return SendResult("error", None, None, None, type(exc).__name__, attempt)
            body = _json(resp)
            if resp.status_code in (200, 201):
                log.info("SMS accepted: %s", body.get("sid"))
                return SendResult("sent", resp.status_code, body.get("sid"), None, None, attempt)
            error = f"{body.get('code', '')} {body.get('message', resp.reason)}".strip()[:200]
            result = SendResult("error", resp.status_code, body.get("sid"), None, error, attempt)
            log.warning("SMS refused: HTTP %d code %s", resp.status_code, body.get("code"))
            if resp.status_code != 429:
                break
            self.sleep(float(resp.headers.get("Retry-After") or 0.5 * 2 ** (attempt - 1)))
        return result


def _json(resp) -> dict:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
