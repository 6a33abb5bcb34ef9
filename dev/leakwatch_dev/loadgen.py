"""A bounded HTTP POST load driver for loopback workloads (tests/workloads/netty-post).

Keep-alive HTTP/1.1 over plain sockets, a few connections, a fixed request rate and a fixed
duration: it never runs unbounded and only talks to 127.0.0.1.

    python -m leakwatch_dev.loadgen --port 8080 --rate 200 --seconds 60
"""

from __future__ import annotations

import argparse
import random
import socket
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
MAX_RATE = 2000.0  # requests per second, all connections together
MAX_SECONDS = 3600.0


@dataclass
class LoadStats:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, ok: bool, size: int) -> None:
        with self.lock:
            self.sent += 1
            self.bytes_sent += size
            if ok:
                self.ok += 1
            else:
                self.failed += 1


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bytearray]:
    """Read one HTTP/1.1 response with a Content-Length; return its status and the leftover bytes."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        body += chunk
    return status, body[length:]


class PostLoad:
    """POST random bodies of `min_bytes`..`max_bytes` to 127.0.0.1:`port``path` at `rate` per
    second over `connections` keep-alive connections, for `seconds`."""

    def __init__(
        self,
        port: int,
        *,
        rate: float,
        seconds: float,
        connections: int = 4,
        min_bytes: int = 2048,
        max_bytes: int = 32768,
        path: str = "/echo",
        seed: int = 1,
    ) -> None:
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"rate must be in (0, {MAX_RATE}]")
        if not 0 < seconds <= MAX_SECONDS:
            raise ValueError(f"seconds must be in (0, {MAX_SECONDS}]")
        if not 1 <= connections <= 32:
            raise ValueError("connections must be in [1, 32]")
        if not 0 < min_bytes <= max_bytes <= 1 << 20:
            raise ValueError("need 0 < min_bytes <= max_bytes <= 1 MiB")
        self.port = port
        self.rate = rate
        self.seconds = seconds
        self.connections = connections
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.path = path
        self.seed = seed
        self.stats = LoadStats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._payload = random.Random(seed).randbytes(max_bytes)

    def _worker(self, index: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        interval = self.connections / self.rate
        next_at = time.monotonic() + rng.random() * interval
        sock: socket.socket | None = None
        buffer = bytearray()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            if now < next_at:
                self._stop.wait(min(next_at - now, deadline - now))
                continue
            next_at = max(next_at + interval, now - interval)  # no catch-up bursts after a stall
            size = rng.randint(self.min_bytes, self.max_bytes)
            head = (
                f"POST {self.path} HTTP/1.1\r\nHost: {LOOPBACK}:{self.port}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
            try:
                if sock is None:
                    sock = socket.create_connection((LOOPBACK, self.port), timeout=5)
                    buffer = bytearray()
                sock.sendall(head + self._payload[:size])
                status, buffer = _read_response(sock, buffer)
                self.stats.add(ok=status == 200, size=size)
            except OSError:
                self.stats.add(ok=False, size=size)
                if sock is not None:
                    sock.close()
                sock = None
                self._stop.wait(0.2)
        if sock is not None:
            sock.close()

    def start(self) -> None:
        deadline = time.monotonic() + self.seconds
        for i in range(self.connections):
            thread = threading.Thread(target=self._worker, args=(i, deadline), name=f"loadgen-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def run(self) -> LoadStats:
        self.start()
        self.join()
        return self.stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second in total")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--min-bytes", type=int, default=2048)
    parser.add_argument("--max-bytes", type=int, default=32768)
    args = parser.parse_args(argv)
    load = PostLoad(
        args.port,
        rate=args.rate,
        seconds=args.seconds,
        connections=args.connections,
        min_bytes=args.min_bytes,
        max_bytes=args.max_bytes,
    )
    stats = load.run()
    print(f"sent {stats.sent} ok {stats.ok} failed {stats.failed} ({stats.bytes_sent / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
