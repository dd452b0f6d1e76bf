"""ACCESS DB on an HTTP service: a GET of the site's URL with the key in it, answered by a
JSON object."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from appliance.config.ivr import VARIABLE_REFERENCE, HttpLookup
from appliance.lookups.base import LookupFailed, text

NOT_FOUND = 404
"""The service's way of saying it has no such record: not a failure, the branch not_found."""

_MAX_ANSWER = 1 << 20  # a record, not a download


class HttpSource:
    """GETs `config.url` with every `${...}` placeholder replaced by the URL-quoted key: the
    node's `key` says what the service is asked for (`key: ${ANI}` with
    `url: http://crm/customers?phone=${ANI}`)."""

    def __init__(self, config: HttpLookup) -> None:
        self.config = config

    def url(self, key: str) -> str:
        quoted = urllib.parse.quote(key, safe="")
        return VARIABLE_REFERENCE.sub(lambda _: quoted, self.config.url)

    def fetch(self, key: str) -> dict[str, str]:
        """The configured fields of the answer (a missing one is ""); {} for a 404 or a
        JSON null. LookupFailed for any other status, invalid JSON, or no answer within
        the time limit (which bounds each wait on the socket)."""
        answer = self._get(self.url(key))
        if answer is None:
            return {}
        if not isinstance(answer, dict):
            raise LookupFailed(f"expected a JSON object; got {type(answer).__name__}")
        return {name: text(answer.get(name)) for name in self.config.fields}

    def check(self) -> str | None:
        return None  # a service may come up after the box: it is asked at each call

    def _get(self, url: str) -> Any:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                body = response.read(_MAX_ANSWER)
        except urllib.error.HTTPError as error:
            if error.code == NOT_FOUND:
                return None
            raise LookupFailed(f"GET {url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:  # refused, timed out, reset ...
            reason = getattr(error, "reason", error)
            raise LookupFailed(f"GET {url}: {reason}") from None
        try:
            return json.loads(body)
        except ValueError as error:
            raise LookupFailed(f"GET {url}: not JSON ({error})") from None
