"""Transport floors: a bare HTTP echo and a bare gRPC echo, each in its own process.

They answer with the request body and do nothing else, so one call is the least a
loopback round trip can cost on this machine.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks.peers.service import free_port

_HTTP_ECHO = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 65536  # headers and body leave in one write (flushed after each request)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
"""

_GRPC_ECHO = r"""
import sys
from concurrent import futures
import grpc

handler = grpc.method_handlers_generic_handler(
    "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request)}
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port("127.0.0.1:" + sys.argv[1])
server.start()
server.wait_for_termination()
"""


@contextlib.contextmanager
def _process(source: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", source, str(port)])
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def http_echo() -> Iterator[str]:
    """The echo's base URL; ``POST /`` returns the body."""
    import httpx

    with _process(_HTTP_ECHO) as port:
        url = f"http://127.0.0.1:{port}"
        for _ in range(400):
            with contextlib.suppress(httpx.TransportError):
                httpx.post(url + "/", content=b"{}", timeout=1)
                break
            time.sleep(0.025)
        yield url


@contextlib.contextmanager
def grpc_echo() -> Iterator[str]:
    """The echo's address; method ``/bench.Echo/Echo`` returns the request bytes."""
    import grpc

    with _process(_GRPC_ECHO) as port:
        address = f"127.0.0.1:{port}"
        channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(channel).result(timeout=30)
        channel.close()
        yield address
