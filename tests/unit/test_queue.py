"""The publishers' keyed, coalescing queue, alone: coalescing, order, one worker per key, retries."""

from __future__ import annotations

import threading
import time

from leakwatch.watch.queue import KeyedQueue


def test_marks_of_one_key_coalesce_into_one_work_keeping_every_announcement() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    posted: list[str] = []
    for i in range(100):
        queue.put("a", [lambda i=i: posted.append(f"kill-{i}")])
    assert len(queue) == 1
    work = queue.take(timeout=0)
    assert work is not None and work.key == "a"
    for each in work.announcements:
        each()
    assert posted == [f"kill-{i}" for i in range(100)]  # in the order they were marked
    queue.done(work)
    assert queue.take(timeout=0) is None


def test_urgent_work_goes_first_then_work_with_announcements_then_the_rest_in_order() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    queue.put("plain-1")
    queue.put("recommendation", [lambda: None])
    queue.put("plain-2")
    queue.put("oomkill", [lambda: None], urgent=True)
    order = []
    while (work := queue.take(timeout=0)) is not None:
        order.append(work.key)
        queue.done(work)
    assert order == ["oomkill", "recommendation", "plain-1", "plain-2"]


def test_a_key_held_by_a_worker_is_not_handed_out_again_until_done() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    queue.put("a")
    first = queue.take(timeout=0)
    assert first is not None
    queue.put("a", urgent=True)  # marked again while its write is in flight
    queue.put("b")
    second = queue.take(timeout=0)
    assert second is not None and second.key == "b"  # "a" waits although it is urgent
    assert queue.take(timeout=0) is None
    queue.done(first)
    again = queue.take(timeout=0)
    assert again is not None and again.key == "a" and again.urgent


def test_a_waiting_worker_wakes_when_the_key_it_needs_is_released() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    queue.put("a")
    held = queue.take(timeout=0)
    assert held is not None
    queue.put("a")
    taken: list[str] = []
    worker = threading.Thread(target=lambda: taken.append(getattr(queue.take(timeout=10), "key", "none")))
    worker.start()
    time.sleep(0.1)
    assert taken == []  # blocked: the only pending key is in flight
    queue.done(held)
    worker.join(timeout=10)
    assert taken == ["a"]


def test_never_two_workers_on_one_key_under_contention() -> None:
    queue: KeyedQueue[int] = KeyedQueue()
    busy: set[int] = set()
    overlaps: list[int] = []
    written: list[int] = []
    guard = threading.Lock()

    def worker() -> None:
        while (work := queue.take(timeout=0.2)) is not None:
            with guard:
                if work.key in busy:
                    overlaps.append(work.key)
                busy.add(work.key)
            time.sleep(0.0005)
            with guard:
                busy.discard(work.key)
                written.append(work.key)
            queue.done(work)

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for w in workers:
        w.start()
    for round_ in range(200):
        queue.put(round_ % 3)
    for w in workers:
        w.join(timeout=30)
    assert overlaps == []
    assert set(written) == {0, 1, 2}
    assert len(queue) == 0


def test_a_failed_work_is_retried_first_with_its_older_announcements_before_newer_ones() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    posted: list[str] = []
    queue.put("a", [lambda: posted.append("old")], urgent=True)
    queue.put("b")
    work = queue.take(timeout=0)
    assert work is not None and work.key == "a"
    queue.put("a", [lambda: posted.append("new")])  # marked while the failing write was in flight
    queue.done(work, failed=True)
    retry = queue.take(timeout=0)
    assert retry is not None and retry.key == "a" and retry.urgent
    for each in retry.announcements:
        each()
    assert posted == ["old", "new"]


def test_discard_drops_pending_work_and_close_releases_waiting_workers() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    queue.put("a", [lambda: None])
    queue.discard("a")
    assert queue.take(timeout=0) is None
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(queue.take(timeout=30)))
    worker.start()
    queue.close()
    worker.join(timeout=5)
    assert results == [None] and not worker.is_alive()
