"""Past one operator: two releases of helm/leakwatch side by side, each a shard that owns a disjoint
set of namespaces (`watchNamespaces`) with its own ServiceAccount, RBAC and kopf peering.

The real operators run as their releases' ServiceAccounts on the real control plane, both active at
once; pods' OOMKills are written through the status subresource as a kubelet writes them, and every
one must be counted exactly once across the shards: in status, in /metrics and in Events.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from helpers import (
    CHART,
    Helm,
    OperatorProcess,
    Release,
    allowed,
    as_account,
    deployment_pod,
    kubelet_status,
    leakwatch_manifest,
    wait_for,
)
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane

pytestmark = pytest.mark.cluster
Doc = dict[str, Any]
T = TypeVar("T")

# OOMKills written per pod, by the prefix of the namespace's name: several pods and several kills
# per namespace, so a kill counted twice (or not at all) changes every total checked below.
KILLS_PER_POD = {"a1": [3, 1], "a2": [2], "b1": [2, 2, 1]}


@dataclass
class Same(Generic[T]):
    """A comparison for wait_for to poll: true when both sides are equal, and on a timeout its repr
    shows what was last seen beside what was expected."""

    seen: T
    expected: T

    def __bool__(self) -> bool:
        return self.seen == self.expected


# --- helm template: two releases, nothing in common ---------------------------------------------------
def _identity(doc: Doc) -> tuple[str, str, str | None, str]:
    return doc["apiVersion"].split("/")[0], doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"]


def test_two_shards_render_no_object_twice(helm: Helm) -> None:
    """Every object the chart renders, cluster-scoped ones included, is named after its release, so
    two shards (here even in one release namespace, with everything switched on) never claim the
    same object; the one exception, the shipped LeakAdvisory, renders in one release only."""
    everything = ["--values", str(CHART / "ci" / "monitoring-values.yaml"), "--set", "peering.enabled=true"]
    first = helm.template(*everything, "--set", "watchNamespaces={a1,a2}", release="shard-a", namespace="lw")
    second = helm.template(
        *everything,
        "--values",
        str(CHART / "ci" / "shard-values.yaml"),
        "--set",
        "watchNamespaces={b1}",
        "--set",
        "dashboards.enabled=false",  # Grafana keys dashboards by uid: one release ships them
        release="shard-b",
        namespace="lw",
    )
    first_ids, second_ids = {_identity(d) for d in first}, {_identity(d) for d in second}
    assert len(first_ids) == len(first) and len(second_ids) == len(second)
    assert not first_ids & second_ids, first_ids & second_ids

    for docs, fullname in ((first, "shard-a-leakwatch"), (second, "shard-b-leakwatch")):
        cluster_scoped = [d for d in docs if "namespace" not in d["metadata"]]
        assert {d["kind"] for d in cluster_scoped} - {"LeakAdvisory"} == {"ClusterRole", "ClusterRoleBinding"}
        for doc in cluster_scoped:
            if doc["kind"] != "LeakAdvisory":
                assert doc["metadata"]["name"] == fullname, _identity(doc)
        # Each shard's peering objects are its own: in its namespaces, named after its release.
        peerings = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "KopfPeering"}
        watched = {d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"}
        assert peerings == {(namespace, fullname) for namespace in watched}
    assert [d["metadata"]["name"] for d in first if d["kind"] == "LeakAdvisory"] == ["jooby-3453"]
    assert not [d for d in second if d["kind"] == "LeakAdvisory"]


# --- a real install of two shards ----------------------------------------------------------------------
@dataclass
class Shard:
    """One release of the chart, the namespaces it owns, and the real operator running as its
    ServiceAccount with the settings the chart rendered for it."""

    release: Release
    namespaces: list[str]
    operator: OperatorProcess | None = None

    @property
    def fullname(self) -> str:
        return self.release.service_account

    @property
    def operator_id(self) -> str:
        """kopf's name for this shard's operator in its peering objects (POD_ID, as the chart sets it)."""
        return f"{self.release.name}-0"

    def install(self, *, ships_advisory: bool) -> None:
        self.release.install(
            "--set",
            f"watchNamespaces={{{','.join(self.namespaces)}}}",
            "--set",
            "peering.enabled=true",
            "--set",
            f"advisories.jooby3453.enabled={'true' if ships_advisory else 'false'}",
        )

    def rendered_env(self, apps: client.AppsV1Api) -> dict[str, str]:
        """The operator container's environment as the chart rendered it into the cluster."""
        deployment = apps.read_namespaced_deployment(self.fullname, self.release.namespace)
        (container,) = deployment.spec.template.spec.containers
        return {e.name: e.value for e in container.env if e.value is not None}

    def start_operator(self, cp: ControlPlane, log_dir: Path, rendered: dict[str, str]) -> OperatorProcess:
        kubeconfig = cp.service_account_kubeconfig(self.release.namespace, self.fullname)
        operator = OperatorProcess(cp, log_dir, rendered["LEAKWATCH_NAMESPACES"].split(","), kubeconfig=kubeconfig)
        operator.extra_env = {"LEAKWATCH_PEERING_NAME": rendered["LEAKWATCH_PEERING_NAME"], "POD_ID": self.operator_id}
        operator.start()
        self.operator = operator
        return operator

    def oom_kills_by_namespace(self) -> dict[str, float]:
        """leakwatch_oom_kills_total summed by its namespace label, from this shard's own /metrics."""
        assert self.operator is not None
        by_namespace: Counter[str] = Counter()
        for family in text_string_to_metric_families(self.operator.get("/metrics")):
            for sample in family.samples:
                if sample.name == "leakwatch_oom_kills_total":
                    by_namespace[sample.labels["namespace"]] += sample.value
        return dict(by_namespace)

    def log(self) -> str:
        assert self.operator is not None
        return self.operator.log.read_text(errors="replace")


@pytest.fixture
def two_shards(
    helm: Helm,
    control_plane: ControlPlane,
    api_client: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[dict[str, Shard]]:
    """Shard "a" owns namespaces a1 and a2 and ships the LeakAdvisory; shard "b" owns b1. Both
    peer, and both operators run at once, each as its own release's ServiceAccount."""
    shards = {
        "a": Shard(
            Release(helm, control_plane, f"lws-a-{uuid.uuid4().hex[:5]}", namespaces("lw-shard-a")),
            [namespaces("a1"), namespaces("a2")],
        ),
        "b": Shard(
            Release(helm, control_plane, f"lws-b-{uuid.uuid4().hex[:5]}", namespaces("lw-shard-b")),
            [namespaces("b1")],
        ),
    }
    admin_apps, admin_core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    # ServiceAccount admission refuses pods in a namespace until the controller-manager has made its
    # default ServiceAccount, which on a busy machine can lag behind a control plane that just started.
    watched = [namespace for shard in shards.values() for namespace in shard.namespaces]
    wait_for(
        lambda: all(
            admin_core.list_namespaced_service_account(ns, field_selector="metadata.name=default").items
            for ns in watched
        ),
        what="the default ServiceAccount in each watched namespace",
    )
    with ExitStack() as cleanup:
        for name, shard in shards.items():
            cleanup.callback(shard.release.uninstall)
            shard.install(ships_advisory=name == "a")
        for name, shard in shards.items():
            log_dir = tmp_path / f"operator-{name}"
            log_dir.mkdir()
            cleanup.callback(shard.start_operator(control_plane, log_dir, shard.rendered_env(admin_apps)).stop)
        yield shards


def _oom_events(core: client.CoreV1Api, namespace: str) -> Counter[tuple[str, str, str]]:
    """OOMKilled Events in a namespace by (subject kind, subject name, message): a kill announced
    twice shows as 2, whether as two Events or as one whose own count went up."""
    found: Counter[tuple[str, str, str]] = Counter()
    for event in core.list_namespaced_event(namespace).items:
        if event.reason == "OOMKilled":
            found[(event.involved_object.kind, event.involved_object.name, event.message)] += event.count or 1
    return found


def test_two_shards_count_every_oomkill_exactly_once(
    two_shards: dict[str, Shard],
    control_plane: ControlPlane,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
) -> None:
    owner = {namespace: shard for shard in two_shards.values() for namespace in shard.namespaces}
    kills_per_pod = {namespace: KILLS_PER_POD[namespace.split("-")[0]] for namespace in owner}
    app = {namespace: f"shop-{namespace.split('-')[0]}" for namespace in owner}
    written = {namespace: sum(kills) for namespace, kills in kills_per_pod.items()}

    # Each shard's peering objects: the name the chart rendered, in its own namespaces only.
    for namespace, shard in owner.items():
        peerings = custom_objects.list_namespaced_custom_object("kopf.dev", "v1", namespace, "kopfpeerings")
        assert [p["metadata"]["name"] for p in peerings["items"]] == [shard.fullname]
    assert two_shards["a"].fullname != two_shards["b"].fullname

    # RBAC: each ServiceAccount reaches its own namespaces (the control for the rest) and no other
    # shard's, and nothing cluster-wide: a shard can neither count nor write status for pods it does
    # not own.
    for shard in two_shards.values():
        account = as_account(control_plane, shard.release.namespace, shard.fullname)
        for namespace, its_owner in owner.items():
            mine, where = its_owner is shard, (shard.fullname, namespace)
            assert allowed(account, "list", "pods", namespace) is mine, where
            assert allowed(account, "list", "leakwatches", namespace, group=GROUP) is mine, where
            assert allowed(account, "patch", "leakwatches/status", namespace, group=GROUP) is mine, where
        assert not allowed(account, "list", "pods")
        assert not allowed(account, "watch", "pods")
        assert not allowed(account, "list", "leakwatches", group=GROUP)

    def status(namespace: str) -> dict[str, Any]:
        body = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", app[namespace])
        return dict(body.get("status", {}))

    def everywhere(field: str) -> dict[str, Any]:
        return {namespace: status(namespace).get(field) for namespace in owner}

    # One LeakWatch per namespace, each taken by its shard while the other shard's operator runs.
    for namespace in owner:
        leakwatch = leakwatch_manifest(app[namespace])
        custom_objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", leakwatch)
    taken = dict.fromkeys(owner, 1)
    wait_for(lambda: Same(everywhere("observedGeneration"), taken), what="every shard to take its LeakWatches")

    # The kubelet's part, interleaved across shards: pods, then their OOMKills one restart at a time.
    pods = {ns: [f"{app[ns]}-{i}" for i in range(len(kills))] for ns, kills in kills_per_pod.items()}
    for namespace, names in pods.items():
        for pod in names:
            core_v1.create_namespaced_pod(namespace, deployment_pod(pod, "3.1.2", app=app[namespace]))
    for restart in range(1, max(max(kills) for kills in kills_per_pod.values()) + 1):
        for namespace, kills in kills_per_pod.items():
            for pod, pod_kills in zip(pods[namespace], kills, strict=True):
                if restart <= pod_kills:
                    oom_at = f"2026-11-25T{restart:02d}:00:00Z"
                    core_v1.patch_namespaced_pod_status(pod, namespace, kubelet_status(restart, oom_at))

    wait_for(lambda: Same(everywhere("oomKills"), written), what="the OOMKills in the LeakWatches' status")
    # A marker pod after the kills: once a shard shows it, it has processed everything before it,
    # so a late second count would be visible now.
    for namespace in owner:
        core_v1.create_namespaced_pod(
            namespace, deployment_pod(f"{app[namespace]}-marker", "3.1.2", app=app[namespace])
        )

    def pods_per_version() -> dict[str, list[int]]:
        return {ns: [v["pods"] for v in versions or []] for ns, versions in everywhere("versions").items()}

    with_marker = {namespace: [len(names) + 1] for namespace, names in pods.items()}
    wait_for(lambda: Same(pods_per_version(), with_marker), what="the marker pods in the LeakWatches' status")
    assert everywhere("oomKills") == written

    # /metrics: each shard publishes its own namespaces only; together they add up to what was written.
    expected_metrics = [
        {namespace: float(total) for namespace, total in written.items() if owner[namespace] is shard}
        for shard in two_shards.values()
    ]

    def published() -> list[dict[str, float]]:
        return [shard.oom_kills_by_namespace() for shard in two_shards.values()]

    wait_for(lambda: Same(published(), expected_metrics), what="leakwatch_oom_kills_total by shard")
    assert sum(sum(by_namespace.values()) for by_namespace in published()) == sum(written.values())

    # Events: one per kill on the pods' owner (their ReplicaSet) and one on the LeakWatch, none twice.
    def events_per_subject() -> dict[str, Counter[str]]:
        return {ns: Counter(kind for kind, _, _ in _oom_events(core_v1, ns).elements()) for ns in owner}

    expected_events = {ns: Counter({"ReplicaSet": total, "LeakWatch": total}) for ns, total in written.items()}
    wait_for(lambda: Same(events_per_subject(), expected_events), what="one OOMKilled Event per kill and subject")
    for namespace in owner:
        assert set(_oom_events(core_v1, namespace).values()) == {1}, _oom_events(core_v1, namespace)

    # Both shards were active at once: each is the only live peer in its own peering objects, and
    # neither operator ever paused in favour of another.
    for namespace, shard in owner.items():
        peering = custom_objects.get_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings", shard.fullname
        )
        assert set(peering.get("status", {})) == {shard.operator_id}, peering.get("status")
    for shard in two_shards.values():
        assert shard.operator is not None and shard.operator.popen is not None
        assert shard.operator.popen.poll() is None, shard.log()[-3000:]
        assert "Pausing" not in shard.log(), shard.log()[-3000:]


def test_the_install_refuses_a_second_owner_of_a_namespace_or_the_advisory(
    helm: Helm, control_plane: ControlPlane, namespaces: Callable[[str], str]
) -> None:
    """What keeps shards apart is checked at install time, with a message that says what to change."""
    taken, free = namespaces("taken"), namespaces("free")
    first = Shard(Release(helm, control_plane, f"lwg-a-{uuid.uuid4().hex[:5]}", namespaces("lw-guard-a")), [taken])
    first_owner = f"{first.release.namespace}/{first.release.name}"
    # Nothing of it is ever installed: each attempt is refused before Helm creates anything.
    second = Release(helm, control_plane, f"lwg-b-{uuid.uuid4().hex[:5]}", namespaces("lw-guard-b"))
    without_advisory = ("--set", "advisories.jooby3453.enabled=false")
    try:
        first.install(ships_advisory=True)
        first.release.upgrade("--set", "logLevel=DEBUG")  # its own objects never count against it

        refusal = second.install_refused("--set", f"watchNamespaces={{{free},{taken}}}", *without_advisory)
        assert f"namespace {taken} is already watched by LeakWatch release {first_owner}" in refusal
        refusal = second.install_refused("--set", f"watchNamespaces={{{free}}}")
        assert "LeakAdvisory jooby-3453 is cluster-scoped and already exists" in refusal
        assert f"shipped by release {first_owner}" in refusal
        assert "--set advisories.jooby3453.enabled=false" in refusal
        refusal = second.install_refused(*without_advisory)
        assert f"LeakWatch release {first_owner} already runs an operator" in refusal
        assert "this release would watch the whole cluster" in refusal
        same_name = Release(helm, control_plane, first.release.name, second.namespace)
        refusal = same_name.install_refused("--set", f"watchNamespaces={{{free}}}", *without_advisory)
        assert f"ClusterRole {first.fullname} already belongs to LeakWatch release {first_owner}" in refusal

        # Now it watches the whole cluster (with --reuse-values, `--set watchNamespaces=null` keeps the list).
        first.release.upgrade("--set-json", "watchNamespaces=[]")
        refusal = second.install_refused("--set", f"watchNamespaces={{{free}}}", *without_advisory)
        assert f"LeakWatch release {first_owner} watches the whole cluster" in refusal
    finally:
        first.release.uninstall()
