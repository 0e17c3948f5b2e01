"""A TCP proxy on loopback that adds a fixed round trip to every exchange with the database server.

The database on this machine answers in microseconds; a managed database across a network answers in
one to several milliseconds, and a design that sends more statements pays that many more round trips.
Each chunk of bytes is held for half the round trip in each direction and then forwarded, in order; the
delay is per chunk, not per byte, so bandwidth is not throttled, and chunks in flight overlap as on a
real link. Runs in a thread of the benchmark parent; the child connects to its port instead of the server.
"""
from __future__ import annotations

import asyncio
import threading
import time


class LatencyProxy:
    def __init__(self, upstream_host: str, upstream_port: int, round_trip_ms: float):
        self.upstream = (upstream_host, upstream_port)
        self.one_way_s = round_trip_ms / 2000
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    def __enter__(self) -> "LatencyProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            # Connections still open when the run ends: cancel their pumps and let them finish.
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True)) if pending else None
            self._loop.close()

    async def _client(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, reader, writer) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while (item := await queue.get()) is not None:
                due, data = item
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(1 << 16):
                queue.put_nowait((time.monotonic() + self.one_way_s, data))
        finally:
            queue.put_nowait(None)
            await asyncio.gather(sender, return_exceptions=True)
