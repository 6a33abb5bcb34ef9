"""A Python (pymalloc) service under bursty load, for recording in a memory cgroup.

Between bursts it handles a trickle of requests. At a burst (every 40-90 s) it builds a batch of
100k-900k small objects (tuples of an int, a str and a float: the rows of a big query result),
holds them a few seconds, then drops them, keeping every 97th row in a bounded recent-rows cache.
The survivors pin pymalloc's arenas until the trickle of requests turns the cache over (about
20 s), then pymalloc returns most arenas: the resident size jumps at each burst, holds, and falls
back to a floor a little above where it was. Not a leak: the cache is bounded.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import deque


def main() -> None:
    rnd = random.Random(int(os.environ.get("SEED", "1")))
    recent: deque[tuple[int, str, float]] = deque(maxlen=12_000)
    start = time.monotonic()
    next_burst = start + rnd.uniform(20, 40)
    background: list[tuple[int, str, float]] = []
    while True:
        now = time.monotonic()
        t = now - start
        if now >= next_burst:
            wave = 1.0 + 0.5 * math.sin(2 * math.pi * t / 240.0)
            n = int(rnd.uniform(200_000, 600_000) * wave)
            rows = [(i, f"row-{i}-{rnd.random():.6f}", i * 0.5) for i in range(n)]
            time.sleep(rnd.uniform(2, 6))  # the request that holds the batch
            recent.extend(rows[::97])
            del rows
            next_burst = now + rnd.uniform(40, 90)
        background = [(i, str(i), float(i)) for i in range(rnd.randint(1_000, 20_000))]
        recent.extend(background[:: 1 + len(background) // 50])
        time.sleep(0.1)


if __name__ == "__main__":
    main()
