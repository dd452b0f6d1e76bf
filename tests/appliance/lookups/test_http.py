"""ACCESS DB on HTTP, against a local server: the key in the URL, fields from a JSON object,
and every way a service can fail it (status, JSON, time limit)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from appliance.config.ivr import HttpLookup
from appliance.lookups import HttpSource, LookupFailed

CUSTOMERS = {"13800000000": {"name": "Ada", "balance": 12.3, "vip": True},
             "a b&c": {"name": "Spaces"}}


class Crm(BaseHTTPRequestHandler):
    """/customer?phone=KEY answers the record; /slow waits; /broken, /list, /error misbehave."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        key = parse_qs(url.query).get("phone", [""])[0]
        if url.path == "/slow":
            time.sleep(1.0)  # past the 0.2 s limit the test gives
        if url.path == "/error":
            self._answer(500, b"{}")
        elif url.path == "/broken":
            self._answer(200, b"{not json")
        elif url.path == "/list":
            self._answer(200, b"[1, 2]")
        elif key in CUSTOMERS:
            self._answer(200, json.dumps(CUSTOMERS[key]).encode())
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Crm)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def crm(base: str, path: str = "/customer", timeout: float = 2.0) -> HttpSource:
    return HttpSource(HttpLookup(url=f"{base}{path}?phone=${{ANI}}", timeout=timeout,
                                 fields=["name", "balance", "vip"]))


def test_the_record_of_the_key_is_found_and_its_fields_picked(server: str) -> None:
    assert crm(server).fetch("13800000000") == {"name": "Ada", "balance": "12.3", "vip": "1"}


def test_the_key_is_url_quoted_into_the_placeholder(server: str) -> None:
    source = crm(server)
    assert source.url("a b&c").endswith("?phone=a%20b%26c")
    assert source.fetch("a b&c") == {"name": "Spaces", "balance": "", "vip": ""}


def test_a_404_is_not_found(server: str) -> None:
    assert crm(server).fetch("999") == {}


@pytest.mark.parametrize(("path", "why"), [("/error", "HTTP 500"), ("/broken", "not JSON"),
                                           ("/list", "JSON object")])
def test_another_status_or_an_answer_not_a_json_object_fails(server: str, path: str,
                                                             why: str) -> None:
    with pytest.raises(LookupFailed, match=why):
        crm(server, path).fetch("13800000000")


def test_a_service_slower_than_the_time_limit_fails(server: str) -> None:
    with pytest.raises(LookupFailed, match="timed out"):
        crm(server, "/slow", timeout=0.2).fetch("13800000000")


def test_a_service_that_is_not_there_fails() -> None:
    with pytest.raises(LookupFailed):
        crm("http://127.0.0.1:9", timeout=0.5).fetch("1")
