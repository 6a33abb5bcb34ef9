"""A Python service whose memo cache never evicts, under a load that varies over time, for
recording in a memory cgroup.

Each request renders a response (1-3 KiB) for a customer id and memoises it in a dict that is never
pruned, as an unbounded `functools.lru_cache(maxsize=None)` or a module-level dict does. Most
requests come from new ids (the key space keeps growing), so the cache, and the resident size with
it, grows at a rate that follows the load: a leak, slow next to the limit, with pymalloc's and the
request's own garbage as noise on top.
"""

from __future__ import annotations

import math
import os
import random
import time


def main() -> None:
    rnd = random.Random(int(os.environ.get("SEED", "1")))
    base = float(os.environ.get("BASE_RATE", "200"))
    memo: dict[int, str] = {}
    next_id = 0
    start = time.monotonic()
    burst = 1.0
    while True:
        t = time.monotonic() - start
        u = rnd.random()
        if u < 0.01:
            burst = 1.0 + 2.0 * rnd.random()
        elif u < 0.06:
            burst = 1.0
        rate = base * (1.0 + 0.6 * math.sin(2.0 * math.pi * t / 240.0)) * burst
        for _ in range(max(1, int(rate / 10))):
            if rnd.random() < 0.7 or not memo:
                next_id += 1
                customer = next_id
            else:
                customer = rnd.randint(max(1, next_id - 5_000), next_id)
            if customer not in memo:
                memo[customer] = "x" * rnd.randint(1024, 3072)
            scratch = [str(i) for i in range(rnd.randint(50, 400))]  # the request's own garbage
            del scratch
        time.sleep(0.1)


if __name__ == "__main__":
    main()
