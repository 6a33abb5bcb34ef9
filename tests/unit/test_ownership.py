"""The kopf daemon that owns a LeakWatch for this replica (watch/handlers.py): however kopf stops
it, ownership taken is given up, after it was taken; only the operator's exit keeps it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import kopf
import pytest

from leakwatch.watch.handlers import own_while_active

META = {"namespace": "shop", "name": "checkout-api", "generation": 1}


class Accountant:
    """Records the calls; taking ownership is slow, as under load, so a cancel lands before it ends."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def apply_spec(self, *_: Any) -> bool:
        time.sleep(0.2)
        with self.lock:
            self.calls.append("apply_spec")
        return True

    def deactivate(self, *_: Any) -> None:
        with self.lock:
            self.calls.append("deactivate")


class Stopped:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason: kopf.DaemonStoppingReason | None = None

    async def wait(self) -> None:
        await self.event.wait()


async def run(stop_with: kopf.DaemonStoppingReason, *, cancel_after: float) -> list[str]:
    accountant, stopped = Accountant(), Stopped()
    memo = kopf.Memo(accountant=accountant)
    daemon = asyncio.create_task(
        own_while_active(spec={}, status={}, meta=META, uid="uid-1", memo=memo, stopped=stopped)  # type: ignore[arg-type]
    )
    await asyncio.sleep(cancel_after)
    stopped.reason = stop_with
    stopped.event.set()
    daemon.cancel()  # kopf escalates to a cancel; here at once, the worst case
    with pytest.raises(asyncio.CancelledError):
        await daemon
    await asyncio.sleep(0.5)  # the shielded work finishes in its own time
    return accountant.calls


@pytest.mark.parametrize("cancel_after", [0.0, 0.05, 0.4], ids=["before-taking", "while-taking", "while-owning"])
def test_a_cancelled_owner_gives_up_what_it_took_in_that_order(cancel_after: float) -> None:
    calls = asyncio.run(run(kopf.DaemonStoppingReason.OPERATOR_PAUSING, cancel_after=cancel_after))
    assert calls == ["apply_spec", "deactivate"]


def test_an_exiting_operator_keeps_ownership_until_the_process_ends() -> None:
    calls = asyncio.run(run(kopf.DaemonStoppingReason.OPERATOR_EXITING, cancel_after=0.4))
    assert calls == ["apply_spec"]
