"""A TCP proxy on loopback that adds a fixed round trip to every exchange with the database server.

The database on this machine answers in microseconds; a managed database across a network answers in
one to several milliseconds, and a design that sends more statements pays that many more round trips.
Each chunk of bytes is held for half the round trip in each direction and then forwarded, in order; the
delay is per chunk, not per byte, so bandwidth is not throttled, and chunks in flight overlap as on a
real link. Runs in threads of the benchmark parent; the child connects to its port instead of the server.

Threads, not an event loop: asyncio sleeps through epoll, whose timeout is whole milliseconds rounded
up, so a 0.5 ms hold became 1 ms each way and "1 ms" of round trip was 2 (``time.sleep`` holds to tens
of microseconds). ``measure_round_trip`` says what a proxy really adds; the benchmark records it.
"""
from __future__ import annotations

import queue
import socket
import statistics
import threading
import time


class LatencyProxy:
    def __init__(self, upstream_host: str, upstream_port: int, round_trip_ms: float):
        self.upstream = (upstream_host, upstream_port)
        self.one_way_s = round_trip_ms / 2000
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> "LatencyProxy":
        threading.Thread(target=self._accept, name="latency-proxy", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the run is over
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    _close(client), _close(upstream)
                    return
                self._sockets += [client, upstream]
            for sock in (client, upstream):
                # Each chunk goes out when it is due, not when Nagle's algorithm lets it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pipe(client, upstream)
            self._pipe(upstream, client)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        held: queue.SimpleQueue = queue.SimpleQueue()

        def receive() -> None:
            try:
                while data := source.recv(1 << 16):
                    held.put((time.monotonic() + self.one_way_s, data))
            except OSError:
                pass
            held.put(None)

        def deliver() -> None:
            try:
                while (item := held.get()) is not None:
                    due, data = item
                    if (delay := due - time.monotonic()) > 0:
                        time.sleep(delay)
                    target.sendall(data)
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the other side went away: nothing left to deliver to

        for work in (receive, deliver):
            threading.Thread(target=work, name="latency-proxy-pipe", daemon=True).start()


def measure_round_trip(round_trip_ms: float, exchanges: int = 50) -> float:
    """Milliseconds a proxy set to ``round_trip_ms`` adds to a small exchange, median of ``exchanges``
    (against an echo server on loopback, less the same exchange without the proxy)."""
    echo = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = echo.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(1 << 16):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    port = echo.getsockname()[1]
    try:
        direct = _median_exchange(port, exchanges)
        with LatencyProxy("127.0.0.1", port, round_trip_ms) as proxy:
            proxied = _median_exchange(proxy.port, exchanges)
    finally:
        _close(echo)
    return (proxied - direct) * 1000


def _median_exchange(port: int, exchanges: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        timings = []
        for _ in range(exchanges):
            started = time.perf_counter()
            sock.sendall(b"ping")
            received = b""
            while len(received) < 4:
                received += sock.recv(100)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _close(sock: socket.socket) -> None:
    # shutdown first: close alone does not wake a thread blocked in recv or accept on the socket.
    for step in (lambda: sock.shutdown(socket.SHUT_RDWR), sock.close):
        try:
            step()
        except OSError:
            pass
