"""The ECB's daily reference-rate document over HTTPS (domain.rates.RateFeed), with the standard library only.

The URL is the function's EXCHANGE_RATES_URL (template parameter ExchangeRatesUrl); the local stack sets it
empty, and an empty URL is "no feed configured": `fetch` answers None without any network call.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

from payments_core.domain.rates import MAX_FEED_BYTES, RateFeedInvalid

TIMEOUT_SECONDS = 10.0


class HttpRateFeed:
    """Implements payments_core.domain.rates.RateFeed: one GET of `url` (https, or http to 127.0.0.1 in tests)."""

    def __init__(self, url: str | None, *, timeout: float = TIMEOUT_SECONDS) -> None:
        if url:
            parts = urlsplit(url)
            local = parts.hostname in ("127.0.0.1", "localhost")
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise ValueError("the rate feed's URL must be https")
        self._url = url or None
        self._timeout = timeout

    def fetch(self) -> bytes | None:
        if self._url is None:
            return None
        request = urllib.request.Request(self._url, headers={"Accept": "application/xml"})  # noqa: S310 - checked
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - scheme checked
            body: bytes = response.read(MAX_FEED_BYTES + 1)
        if len(body) > MAX_FEED_BYTES:
            raise RateFeedInvalid(f"the feed answered more than {MAX_FEED_BYTES} bytes")
        return body
