import numpy as np

from leakwatch_dev.traces import Recording, join_lives, trace_document

MiB = 2**20


def life(start: float, values: list[float]) -> np.ndarray:
    return np.column_stack([start + np.arange(len(values)), np.array(values) * MiB])


def test_the_lives_of_a_pod_become_one_series_and_the_newer_life_wins_a_shared_timestamp() -> None:
    first, second = life(100, [10, 20, 30]), life(102, [5, 6])  # killed at 102; restarted at 102
    other = life(100, [1, 1])
    joined = join_lives([("web-b", other), ("web-a", second), ("web-a", first)])
    assert joined["web-a"][:, 0].tolist() == [100, 101, 102, 103]
    assert (joined["web-a"][:, 1] / MiB).tolist() == [10, 20, 5, 6]
    assert (joined["web-b"][:, 1] / MiB).tolist() == [1, 1]


def no_leak_recording() -> Recording:
    return Recording("r", "recorded_fixed_release", "no-leak", "", 64 * MiB, None, None, [])


def test_a_recorded_trace_is_stretched_to_the_operators_clock_and_never_passes_the_limit() -> None:
    recording = Recording(
        name="r",
        pattern="recorded_rollout_leak",
        label="leak",
        description="",
        limit_bytes=64 * MiB,
        onset_time=1010.0,
        oom_time=1020.0,
        leaking_pods=["b"],
    )
    pods = {"b": life(1010, [10, 70]), "a": life(1000, [8, 8])}
    doc = trace_document(recording, pods, step_seconds=1, origin=1000, time_scale=120)
    assert (doc["onset_time"], doc["oom_time"], doc["step_seconds"]) == (1000 + 1200, 1000 + 2400, 120)
    assert [p["name"] for p in doc["pods"]] == ["a", "b"]  # in the order they started
    assert doc["pods"][1] == {"name": "b", "t": [2200, 2320], "bytes": [10 * MiB, 64 * MiB]}


def test_a_signal_is_read_at_the_working_sets_times_and_a_missed_scrape_takes_the_value_before() -> None:
    pods = {"a": life(1000, [8, 9, 10, 11])}
    rss = {"a": np.array([[1000.0, 5 * MiB], [1001.0, 6 * MiB], [1003.0, 7 * MiB]])}  # 1002 not scraped
    doc = trace_document(
        no_leak_recording(), pods, step_seconds=1, origin=1000, time_scale=60, signals={"rss": rss, "x": {}}
    )
    (pod,) = doc["pods"]
    assert pod["signals"] == {"rss": [5 * MiB, 6 * MiB, 6 * MiB, 7 * MiB]}
    # A pod no signal covers (a scrape target that never came up) has no signals key at all.
    bare = trace_document(no_leak_recording(), pods, step_seconds=1, origin=1000, time_scale=60, signals={"rss": {}})
    assert "signals" not in bare["pods"][0]
