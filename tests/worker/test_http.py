"""The worker's keep-alive HTTP connections, against a real HTTP/1.1 server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qrelay.errors import ConfigurationError
from qrelay.worker.http import Connections, UnreachableError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 0.3  # an idle keep-alive connection is closed by the server after this

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if self.path.startswith("/slow"):
            time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen-Path", self.path)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd: ThreadingHTTPServer, path: str = "") -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}{path}"


def test_requests_share_a_kept_alive_connection_and_keep_the_base_path(
    server: ThreadingHTTPServer,
) -> None:
    conns = Connections(_url(server, "/base/"))
    try:
        for i in range(3):
            answer = conns.send("POST", f"/echo?i={i}", {}, b"x" * i, timeout=5)
            assert answer.status_code == 200
            assert answer.content == b"x" * i
            assert answer.headers["x-seen-path"] == f"/base/echo?i={i}"
        other: list[int] = []
        thread = threading.Thread(
            target=lambda: other.append(conns.send("POST", "/", {}, b"", 5).status_code)
        )
        thread.start()
        thread.join()
        assert other == [200]
        assert server.connections == 1  # type: ignore[attr-defined]  # one pool, reused
    finally:
        conns.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: ThreadingHTTPServer,
) -> None:
    conns = Connections(_url(server))
    try:
        assert conns.send("POST", "/", {}, b"a", timeout=5).content == b"a"
        time.sleep(0.6)  # the server drops the idle connection
        assert conns.send("POST", "/", {}, b"b", timeout=5).content == b"b"
        assert server.connections == 2  # type: ignore[attr-defined]
    finally:
        conns.close()


def test_no_server_is_unreachable_and_a_slow_answer_times_out(
    server: ThreadingHTTPServer,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(UnreachableError):
        Connections(f"http://127.0.0.1:{closed_port}").send("POST", "/", {}, b"", timeout=2)
    conns = Connections(_url(server))
    try:
        with pytest.raises(TimeoutError):
            conns.send("POST", "/slow", {}, b"", timeout=0.1)
        # The timed-out connection was dropped: the next request gets a clean one.
        assert conns.send("POST", "/", {}, b"ok", timeout=5).content == b"ok"
    finally:
        conns.close()


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="url"):
        Connections("ftp://example.org")
