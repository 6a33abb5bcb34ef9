"""free_port: loopback ports for the control plane's parts, where no outgoing connection can take them."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from leakwatch_dev import cluster


def test_ports_are_below_the_ephemeral_range_bindable_and_never_handed_out_twice() -> None:
    ports = [cluster.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    end = cluster._ephemeral_ports_start()
    assert all(cluster._PORTS_FROM <= port < end for port in ports)
    assert all(cluster._bindable(port) for port in ports)


def test_a_port_something_listens_on_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        spare = next(
            port
            for port in range(cluster._PORTS_FROM, cluster._PORTS_FROM + 10000)
            if cluster._bindable(port) and port not in cluster._handed_out
        )

        def choices() -> Iterator[int]:
            yield busy
            yield spare

        offered = choices()
        monkeypatch.setattr(cluster._port_choice, "randrange", lambda start, stop: next(offered))
        assert cluster.free_port() == spare
