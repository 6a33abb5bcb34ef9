"""A process that writes files (a spool or log shipper), for recording in a memory cgroup.

It appends 32-256 KiB records at a varying rate (a compressed daily wave plus bursts, about
1.3 MiB/s on average) to 8 MiB segment files in $SCRATCH, keeps the newest 64 segments (512 MiB on
disk, more than the container limit) and deletes older ones, and now and then re-reads a recent
segment (a consumer), which moves its pages to the active list. Its own heap stays small: the
working set grows with the page cache while RSS does not, and the kernel reclaims the cache as the
cgroup nears its limit. Not a leak.
"""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path

SEGMENT = 8 << 20
KEEP = 64


def main() -> None:
    scratch = Path(os.environ["SCRATCH"])
    scratch.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(int(os.environ.get("SEED", "1")))
    base = float(os.environ.get("BASE_RATE_MIB", "1.3")) * (1 << 20)
    start = time.monotonic()
    segment, written = 0, 0
    out = open(scratch / f"seg-{segment:06d}", "wb")  # noqa: SIM115 (rotated below)
    burst = 1.0
    while True:
        t = time.monotonic() - start
        u = rnd.random()
        burst = 1.0 + 2.0 * rnd.random() if u < 0.01 else (1.0 if u < 0.06 else burst)
        budget = base * (1.0 + 0.6 * math.sin(2 * math.pi * t / 240.0)) * burst / 10  # 100 ms ticks
        while budget > 0:
            record = rnd.randbytes(rnd.randint(32, 256) << 10)
            out.write(record)
            budget -= len(record)
            written += len(record)
            if written >= SEGMENT:
                out.close()
                segment, written = segment + 1, 0
                out = open(scratch / f"seg-{segment:06d}", "wb")  # noqa: SIM115
                (scratch / f"seg-{segment - KEEP:06d}").unlink(missing_ok=True)
        if rnd.random() < 0.02 and segment > 2:
            with open(scratch / f"seg-{segment - rnd.randint(1, 2):06d}", "rb") as seg:
                while seg.read(1 << 20):
                    pass
        time.sleep(0.1)


if __name__ == "__main__":
    main()
