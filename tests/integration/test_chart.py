"""The Helm chart in helm/leakwatch, for real: `helm lint --strict`, `helm template` over the
scenarios in ci/, the values schema, the alert rules under the real `promtool`, and a real
`helm install` into the local kube-apiserver whose RBAC is then checked as the chart's own
ServiceAccount sees it, down to running the real operator with that ServiceAccount's token.

CRDs: the session fixture has already applied crds/ with kubectl. `helm install` still installs the
chart's crds/ (Helm skips a CRD that exists and never upgrades or deletes one), which is how the
kopf.dev peering CRDs in crds/kopf/ arrive; so no --skip-crds and no adoption are needed, and the
chart's own LeakWatch CRDs are the same files (tests/unit/test_crds.py checks they match the models).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from helpers import CHART, Helm, OperatorProcess, Release, allowed, as_account, leakwatch_manifest, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane, binary_dirs
from leakwatch_dev.prometheus import tool

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
PROMTOOL_TESTS = REPO / "tests" / "promtool"
ALERTS = {
    "LeakWatchOOMKillsIncreasing",
    "LeakWatchLeakSuspected",
    "LeakWatchTimeToOOMLow",
    "LeakWatchRecommendationPending",
    "LeakWatchOperatorDown",
    "LeakWatchAnalysisFailing",
}
Doc = dict[str, Any]


# --- helm template ----------------------------------------------------------------------------------------
def find(docs: list[Doc], kind: str, name: str | None = None, namespace: str | None = None) -> Doc:
    found = [
        d
        for d in docs
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''} {namespace or ''}, found {len(found)}"
    return found[0]


def kinds(docs: list[Doc]) -> list[str]:
    return sorted(d["kind"] for d in docs)


def grants(role: Doc) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples a Role or ClusterRole grants."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def container(docs: list[Doc]) -> Doc:
    deployment = find(docs, "Deployment")
    (operator,) = deployment["spec"]["template"]["spec"]["containers"]
    return operator  # type: ignore[no-any-return]


def env_of(docs: list[Doc]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<from field>") for e in container(docs)["env"]}


WORKLOAD_READS = {
    *(
        (group, resource, verb)
        for group, resource in (("", "pods"), ("leakwatch.io", "leakwatches"))
        for verb in ("get", "list", "watch")
    ),
    ("apps", "deployments", "get"),  # a Deployment's uid, for the Events about it
    ("leakwatch.io", "leakwatches/status", "get"),
}
OPERATOR_WRITES = {
    ("leakwatch.io", "leakwatches", "patch"),
    ("leakwatch.io", "leakwatches/status", "patch"),
    *((group, "events", verb) for group in ("", "events.k8s.io") for verb in ("create", "patch")),
}
# Auto mode rolls Deployments back to one of their ReplicaSets' templates, and nothing else.
ROLLBACK = {("apps", "replicasets", "list"), ("apps", "deployments", "patch")}
CLUSTER_READS = {
    *(("leakwatch.io", "leakadvisories", verb) for verb in ("get", "list", "watch")),
    *(("apiextensions.k8s.io", "customresourcedefinitions", verb) for verb in ("list", "watch")),
}


# --- lint and template --------------------------------------------------------------------------------
def test_lint_strict_passes_for_defaults_and_every_scenario(helm: Helm) -> None:
    assert {p.name for p in SCENARIOS} >= {
        "default-values.yaml",
        "auto-rollback-values.yaml",
        "namespaced-values.yaml",
        "ha-values.yaml",
        "monitoring-values.yaml",
    }
    for extra in [[], *(["--values", str(p)] for p in SCENARIOS)]:
        out = helm("lint", "--strict", str(CHART), *extra).stdout
        assert "1 chart(s) linted, 0 chart(s) failed" in out, out
        assert "[WARNING]" not in out and "[ERROR]" not in out, out


def test_defaults_render_one_hardened_recommend_only_operator(helm: Helm) -> None:
    docs = helm.template()
    assert kinds(docs) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "LeakAdvisory",
        "Service",
        "ServiceAccount",
    ]
    deployment = find(docs, "Deployment", "leakwatch", "leakwatch-system")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "leakwatch"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    operator = container(docs)
    assert operator["image"] == "ghcr.io/leakwatch/leakwatch:0.1.0"
    assert operator["securityContext"]["readOnlyRootFilesystem"] is True
    assert operator["securityContext"]["allowPrivilegeEscalation"] is False
    assert operator["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # Sized by bench/scale.py at 10,000 pods (values.yaml); the reader's memory budget assumes this limit.
    assert operator["resources"] == {"requests": {"cpu": "250m", "memory": "352Mi"}, "limits": {"memory": "512Mi"}}
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {"http-metrics": 8080, "http-health": 8081}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert operator[probe]["httpGet"] == {"path": "/healthz", "port": "http-health"}
    assert env_of(docs) == {
        "LEAKWATCH_PROMETHEUS_URL": "http://prometheus-operated.monitoring.svc:9090",
        "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "60",
        "LEAKWATCH_METRICS_PORT": "8080",
        "LEAKWATCH_HEALTH_PORT": "8081",
        "LEAKWATCH_LOG_FORMAT": "plain",
        "LEAKWATCH_LOG_LEVEL": "INFO",
    }
    service = find(docs, "Service")
    assert service["spec"]["ports"] == [
        {"name": "http-metrics", "port": 8080, "targetPort": "http-metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "leakwatch"
        assert labels["app.kubernetes.io/instance"] == "leakwatch"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "leakwatch-0.1.0"

    role = grants(find(docs, "ClusterRole"))
    # Exactly what the code calls: no other workload kinds, no Secrets, nothing written but its own.
    assert role == WORKLOAD_READS | OPERATOR_WRITES | CLUSTER_READS
    assert not role & ROLLBACK, "recommend-only must not patch workloads"
    binding = find(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "leakwatch", "namespace": "leakwatch-system"}]


def test_auto_rollback_adds_patch_on_workloads_and_nothing_else(helm: Helm) -> None:
    off = grants(find(helm.template(), "ClusterRole"))
    on = grants(find(helm.template("--set", "action.autoRollback.enabled=true"), "ClusterRole"))
    assert on - off == ROLLBACK


def test_sbom_reports_add_list_on_them_and_the_setting_and_nothing_else(helm: Helm) -> None:
    off_docs, on_docs = helm.template(), helm.template("--set", "components.sbomReports.enabled=true")
    off, on = grants(find(off_docs, "ClusterRole")), grants(find(on_docs, "ClusterRole"))
    assert on - off == {("aquasecurity.github.io", "sbomreports", "list")}
    assert "LEAKWATCH_SBOM_REPORTS" not in env_of(off_docs)
    assert env_of(on_docs)["LEAKWATCH_SBOM_REPORTS"] == "true"


def test_namespaced_mode_grants_per_namespace_roles_and_only_cluster_reads(helm: Helm) -> None:
    docs = helm.template("--values", str(CHART / "ci" / "namespaced-values.yaml"))
    assert env_of(docs)["LEAKWATCH_NAMESPACES"] == "team-a,team-b"
    cluster_role = grants(find(docs, "ClusterRole"))
    assert cluster_role == {
        ("leakwatch.io", "leakadvisories", "get"),
        ("leakwatch.io", "leakadvisories", "list"),
        ("leakwatch.io", "leakadvisories", "watch"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
    }
    for namespace in ("team-a", "team-b"):
        role = grants(find(docs, "Role", namespace=namespace))
        assert role >= WORKLOAD_READS | OPERATOR_WRITES
        assert {("kopf.dev", "kopfpeerings", v) for v in ("get", "list", "watch", "patch")} <= role
        assert not role & ROLLBACK
        binding = find(docs, "RoleBinding", namespace=namespace)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leakwatch"}
        assert binding["subjects"][0]["namespace"] == "leakwatch-system"
        assert find(docs, "KopfPeering", namespace=namespace)["metadata"]["name"] == "leakwatch"
    assert [d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"] == ["team-a", "team-b"]


def test_one_active_replica_standalone_or_through_kopf_peering(helm: Helm) -> None:
    standalone = helm.template()
    assert "LEAKWATCH_PEERING_NAME" not in env_of(standalone)
    assert not [d for d in standalone if "KopfPeering" in d["kind"]]

    ha = helm.template("--values", str(CHART / "ci" / "ha-values.yaml"))
    deployment = find(ha, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert env_of(ha)["LEAKWATCH_PEERING_NAME"] == "leakwatch"
    assert {"name": "POD_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container(ha)["env"]
    peering = find(ha, "ClusterKopfPeering", "leakwatch")
    assert peering["apiVersion"] == "kopf.dev/v1"
    assert {("kopf.dev", "clusterkopfpeerings", v) for v in ("get", "list", "watch", "patch")} <= grants(
        find(ha, "ClusterRole")
    )

    named = helm.template("--set", "peering.enabled=true", "--set", "peering.name=shared-peering")
    assert find(named, "Deployment")["spec"]["replicas"] == 1
    assert env_of(named)["LEAKWATCH_PEERING_NAME"] == "shared-peering"
    find(named, "ClusterKopfPeering", "shared-peering")

    # kopf's peering CRDs ship in crds/ (installed when missing, never deleted: other kopf operators
    # share them), in a subdirectory apart from the generated LeakWatch CRDs.
    shipped = {yaml.safe_load(p.read_text())["metadata"]["name"] for p in (CHART / "crds" / "kopf").glob("*.yaml")}
    assert shipped == {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}


def test_monitoring_objects_render_only_when_enabled(helm: Helm, tmp_path: Path) -> None:
    monitoring = {"ServiceMonitor", "PrometheusRule", "ConfigMap"}
    assert not monitoring & set(kinds(helm.template()))

    docs = helm.template("--values", str(CHART / "ci" / "monitoring-values.yaml"))
    monitor = find(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"] == find(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http-metrics"
    assert endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True  # keep the LeakWatch's own `namespace` label
    rule = find(docs, "PrometheusRule")
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert {a["alert"] for a in alerts} == ALERTS
    for alert in alerts:
        assert alert["labels"]["team"] == "platform"
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "description", "runbook"} <= set(alert["annotations"])
    configmap = find(docs, "ConfigMap")
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["data"] == {"leakwatch.json": (CHART / "files" / "dashboards" / "leakwatch.json").read_text()}
    # Without a dashboard file, dashboards.enabled renders nothing rather than a stub.
    chart = tmp_path / "leakwatch"
    shutil.copytree(CHART, chart)
    (chart / "files" / "dashboards" / "leakwatch.json").unlink()
    out = helm("template", "leakwatch", str(chart), "--set", "dashboards.enabled=true").stdout
    assert "ConfigMap" not in kinds([d for d in yaml.safe_load_all(out) if d])


@pytest.mark.parametrize("scenario", [None, *SCENARIOS], ids=lambda p: p.name if p else "defaults")
def test_no_scenario_grants_secrets_or_wildcards(helm: Helm, scenario: Path | None) -> None:
    docs = helm.template(*(["--values", str(scenario)] if scenario else []))
    for role in (d for d in docs if d["kind"] in ("Role", "ClusterRole")):
        for group, resource, verb in grants(role):
            assert resource != "secrets" and "*" not in (group, resource, verb), (role["metadata"], resource)
            assert verb not in ("create", "update", "delete", "deletecollection") or resource == "events"


def test_shipped_jooby_advisory_is_the_example_and_can_be_turned_off(helm: Helm) -> None:
    example = yaml.safe_load((REPO / "examples" / "jooby-3453.leakadvisory.yaml").read_text())
    shipped = find(helm.template(), "LeakAdvisory", "jooby-3453")
    assert shipped["spec"] == example["spec"]
    assert "LeakAdvisory" not in kinds(helm.template("--set", "advisories.jooby3453.enabled=false"))


SCHEMA_ERRORS = [
    pytest.param(["--set", "bogus=1"], "at '': additional properties 'bogus' not allowed", id="unknown-top-key"),
    pytest.param(
        ["--set", "action.autoRollback.enbled=true"],
        "at '/action/autoRollback': additional properties 'enbled' not allowed",
        id="misspelt-nested-key",
    ),
    pytest.param(["--set", "replicas=two"], "at '/replicas': got string, want integer", id="wrong-type"),
    pytest.param(["--set", "replicas=-1"], "at '/replicas': minimum: got -1, want 0", id="negative-replicas"),
    pytest.param(
        ["--set", "logFormat=xml"], "at '/logFormat': value must be one of 'plain', 'full', 'json'", id="bad-enum"
    ),
    pytest.param(
        ["--set", "watchNamespaces[0]=Team_A"],
        "at '/watchNamespaces/0': 'Team_A' does not match pattern",
        id="bad-namespace-name",
    ),
    pytest.param(
        ["--set", "prometheusRule.timeToOOMLow.for=15 minutes"],
        "at '/prometheusRule/timeToOOMLow/for': '15 minutes' does not match pattern",
        id="bad-duration",
    ),
    pytest.param(
        ["--set", "prometheusUrl=prometheus:9090"],
        "at '/prometheusUrl': 'prometheus:9090' does not match pattern",
        id="url-without-scheme",
    ),
]


@pytest.mark.parametrize(("args", "message"), SCHEMA_ERRORS)
def test_schema_refuses_bad_values_with_a_clear_message(helm: Helm, args: list[str], message: str) -> None:
    result = helm("template", "leakwatch", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema(s)" in result.stderr
    assert message in result.stderr, result.stderr


def test_staleness_alert_below_three_analysis_intervals_is_refused(helm: Helm) -> None:
    result = helm(
        "template",
        "leakwatch",
        str(CHART),
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "analysisIntervalSeconds=600",
        check=False,
    )
    assert result.returncode != 0
    assert "staleAfterSeconds (900) must be at least three analysis intervals" in result.stderr, result.stderr


def _value_lines(path: Path) -> dict[str, int]:
    """Dotted key path -> line index, for every key line in a values file."""
    found: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for index, line in enumerate(path.read_text().splitlines()):
        match = re.match(r"^( *)([A-Za-z0-9_]+):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        found[".".join(key for _, key in stack)] = index
    return found


def _schema_leaves(schema: Doc, prefix: str = "") -> dict[str, Doc]:
    leaves: dict[str, Doc] = {}
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("additionalProperties") is False and "properties" in sub and path != "resources":
            leaves.update(_schema_leaves(sub, f"{path}."))
        else:
            leaves[path] = sub
    return leaves


def test_every_value_has_a_prose_comment_and_a_schema_entry() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    leaves = _schema_leaves(schema)
    lines = _value_lines(CHART / "values.yaml")
    text = (CHART / "values.yaml").read_text().splitlines()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in leaves:
        assert path in lines, f"{path} is in values.schema.json but has no default in values.yaml"
        previous = text[lines[path] - 1].strip()
        assert previous.startswith("#") and len(previous) > 10, f"values.yaml: {path} has no comment above it"
    # ...and the other way round: every default is declared in the schema.
    for key, value in values.items():
        assert key in schema["properties"], f"{key} is not in values.schema.json"
        if isinstance(value, dict) and schema["properties"][key].get("additionalProperties") is False:
            for sub in value:
                assert sub in schema["properties"][key]["properties"], f"{key}.{sub} is not in values.schema.json"


# --- the alert rules, under the real promtool ------------------------------------------------------------
@pytest.mark.prometheus2
def test_alert_rules_pass_promtool_check_and_unit_tests(helm: Helm, tmp_path: Path) -> None:
    promtool = tool("promtool")  # the line under test: 3 by default, 2.42 in make test's second pass
    rule = find(
        helm.template("--set", "prometheusRule.enabled=true", release="leakwatch", namespace="leakwatch-system"),
        "PrometheusRule",
    )
    rules = tmp_path / "leakwatch.rules.yaml"
    rules.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    tests = sorted(PROMTOOL_TESTS.glob("*.yaml"))
    assert [t.name for t in tests] == ["operator.test.yaml", "workloads.test.yaml"]
    tested = set()
    for test in tests:
        shutil.copy(test, tmp_path / test.name)
        for case in yaml.safe_load(test.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check["exp_alerts"]:
                    tested.add(check["alertname"])
    assert tested == ALERTS, f"alerts never shown firing: {ALERTS - tested}"

    check = subprocess.run([promtool, "check", "rules", rules.name], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 7 rules found" in check.stdout
    run = subprocess.run(
        [promtool, "test", "rules", *(t.name for t in tests)], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("SUCCESS") == len(tests), run.stdout


# --- the Prometheus Operator's own CRDs accept what the chart makes ---------------------------------------
MONITORING = ("monitoring.coreos.com", "v1")


def test_servicemonitor_and_prometheusrule_are_accepted_whole_by_the_prometheus_operator_crds(
    helm: Helm,
    control_plane: ControlPlane,
    api_client: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    # The CRDs kube-prometheus-stack installs, from the Prometheus Operator's Go module by version.
    crds = next(d for d in binary_dirs() if d.name.startswith("prometheus-operator-crds-"))
    control_plane.install_crds(crds)
    release_ns = namespaces("lw-monitoring")
    release = Release(helm, control_plane, f"lwm-{uuid.uuid4().hex[:5]}", release_ns)
    toggles = ("--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true")
    custom = client.CustomObjectsApi(api_client)
    try:
        release.install(*toggles)
        rendered = helm.template(*toggles, release=release.name, namespace=release_ns)
        for kind, plural in (("ServiceMonitor", "servicemonitors"), ("PrometheusRule", "prometheusrules")):
            stored = custom.get_namespaced_custom_object(*MONITORING, release_ns, plural, release.service_account)
            # The API server prunes what its schema does not know: equal means every field was accepted.
            assert stored["spec"] == find(rendered, kind)["spec"], f"{kind} lost fields to the CRD's schema"
        rules = tmp_path / "leakwatch.rules.yaml"
        stored = custom.get_namespaced_custom_object(
            *MONITORING, release_ns, "prometheusrules", release.service_account
        )
        rules.write_text(yaml.safe_dump(stored["spec"], sort_keys=False))
        check = subprocess.run([tool("promtool", "3"), "check", "rules", str(rules)], capture_output=True, text=True)
        assert check.returncode == 0 and "SUCCESS: 7 rules found" in check.stdout, check.stdout + check.stderr
        # The schema is really checked: a ServiceMonitor the Prometheus Operator could not use is refused.
        broken = {**find(rendered, "ServiceMonitor"), "metadata": {"name": "broken", "namespace": release_ns}}
        broken["spec"] = {**broken["spec"], "endpoints": [{"port": "http-metrics", "scheme": "gopher"}]}
        with pytest.raises(ApiException) as refused:
            custom.create_namespaced_custom_object(*MONITORING, release_ns, "servicemonitors", broken)
        assert refused.value.status == 422 and "scheme" in str(refused.value.body)
    finally:
        release.uninstall()


# --- a real install, checked as the operator's ServiceAccount ----------------------------------------------
def forbidden(call: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        call(*args, **kwargs)
    except ApiException as err:
        return err.status == 403
    return False


def deployment(name: str) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=0,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="example/app:3.1.2")]),
            ),
        ),
    )


def event_for(namespace: str, name: str) -> client.CoreV1Event:
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{name}."),
        involved_object=client.V1ObjectReference(
            api_version=f"{GROUP}/{VERSION}", kind="LeakWatch", name=name, namespace=namespace
        ),
        reason="LeakSuspected",
        message="written by the chart test as the operator's ServiceAccount",
        type="Normal",
    )


# The real operator (OperatorProcess) runs as the chart's ServiceAccount: it works with exactly the
# permissions the chart granted, or its log says what was refused. In JSON each log line names its
# object, which OperatorProcess.handled() reads.
JSON_LOG = {"LEAKWATCH_LOG_FORMAT": "json"}

# How a refusal shows in the log: kopf's APIForbiddenError, the Kubernetes client's ApiException
# ("(403) Reason: Forbidden"), or kopf falling back when it may not list/watch something.
REFUSALS = re.compile(r"[Ff]orbidden|Unauthorized|Not enough permissions")


def _ready(custom: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    status = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", name).get("status", {})
    return any(c["type"] == "Ready" for c in status.get("conditions", []))


def test_cluster_wide_install_grants_the_operator_what_it_needs_and_no_more(
    helm: Helm,
    control_plane: ControlPlane,
    api_client: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    release_ns, app_ns = namespaces("lw-chart"), namespaces("lw-app")
    release = Release(helm, control_plane, f"lwc-{uuid.uuid4().hex[:5]}", release_ns)
    admin_custom = client.CustomObjectsApi(api_client)
    admin_apps = client.AppsV1Api(api_client)
    try:
        notes = release.install()
        assert "/metrics" in notes and f"port-forward service/{release.service_account}" in notes
        # What the chart made exists on the server, the shipped advisory included.
        apps = client.AppsV1Api(api_client)
        made = apps.read_namespaced_deployment(release.service_account, release_ns)
        assert made.spec.strategy.type == "Recreate"
        advisory = admin_custom.get_cluster_custom_object(GROUP, VERSION, "leakadvisories", "jooby-3453")
        assert advisory["spec"]["knownGood"] == ["3.0.10"]
        ext = client.ApiextensionsV1Api(api_client)
        for crd in ("clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"):
            assert ext.read_custom_resource_definition(crd).spec.group == "kopf.dev"

        sa = as_account(control_plane, release_ns, release.service_account)
        core, sa_apps, custom = client.CoreV1Api(sa), client.AppsV1Api(sa), client.CustomObjectsApi(sa)

        # Reads, cluster-wide and in any namespace.
        core.list_pod_for_all_namespaces(limit=1)
        custom.list_cluster_custom_object(GROUP, VERSION, "leakadvisories")
        for resource, group in [("pods", ""), ("leakwatches", GROUP)]:
            for verb in ("list", "watch"):
                assert allowed(sa, verb, resource, group=group), (verb, resource)
                assert allowed(sa, verb, resource, app_ns, group=group), (verb, resource, app_ns)
        assert allowed(sa, "watch", "customresourcedefinitions", group="apiextensions.k8s.io")
        assert allowed(sa, "get", "deployments", app_ns, group="apps")  # a Deployment's uid, for its Events
        # Nothing about workloads beyond that until Auto mode is allowed: no ReplicaSets, no other kinds.
        assert forbidden(sa_apps.list_replica_set_for_all_namespaces, limit=1)
        for resource in ("replicasets", "statefulsets", "daemonsets", "controllerrevisions"):
            assert not allowed(sa, "list", resource, app_ns, group="apps"), resource

        # Writes the operator makes: LeakWatch status and annotations, Events.
        admin_custom.create_namespaced_custom_object(
            GROUP, VERSION, app_ns, "leakwatches", leakwatch_manifest("checkout")
        )
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, app_ns, "leakwatches", "checkout", {"status": {"observedGeneration": 1}}
        )
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, app_ns, "leakwatches", "checkout", {"metadata": {"annotations": {"leakwatch.io/t": "1"}}}
        )
        core.create_namespaced_event(app_ns, event_for(app_ns, "checkout"))
        assert allowed(sa, "create", "events", app_ns, group="events.k8s.io")

        # Never Secrets; no workload changes while action.autoRollback is off.
        assert forbidden(core.list_namespaced_secret, app_ns)
        assert forbidden(core.list_secret_for_all_namespaces)
        assert forbidden(core.read_namespaced_secret, "anything", release_ns)
        admin_apps.create_namespaced_deployment(app_ns, deployment("checkout"))
        assert forbidden(
            sa_apps.patch_namespaced_deployment, "checkout", app_ns, {"metadata": {"annotations": {"x": "y"}}}
        )
        for resource in ("deployments", "statefulsets", "daemonsets"):
            assert not allowed(sa, "patch", resource, app_ns, group="apps"), resource
        assert not allowed(sa, "list", "replicasets", app_ns, group="apps")
        assert not allowed(sa, "delete", "pods", app_ns)
        assert not allowed(sa, "create", "deployments", app_ns, group="apps")

        # The real operator runs on exactly these permissions and reconciles a LeakWatch.
        operator = OperatorProcess(
            control_plane,
            tmp_path,
            [],  # cluster-wide
            kubeconfig=control_plane.service_account_kubeconfig(release_ns, release.service_account),
            env=JSON_LOG,
        )
        try:
            operator.start()
            admin_custom.create_namespaced_custom_object(
                GROUP, VERSION, app_ns, "leakwatches", leakwatch_manifest("cart")
            )
            wait_for(lambda: _ready(admin_custom, app_ns, "cart"), timeout=60, what="Ready on the LeakWatch")
            wait_for(
                lambda: operator.handled(app_ns, "cart"),
                timeout=30,
                what="the ServiceAccount's operator to handle the LeakWatch",
            )
        finally:
            operator.stop()
        assert not REFUSALS.search(operator.text()), operator.text()[-3000:]

        # Auto rollback on: now, and only now, workloads can be patched.
        release.upgrade("--set", "action.autoRollback.enabled=true")
        wait_for(
            lambda: (
                not forbidden(
                    sa_apps.patch_namespaced_deployment, "checkout", app_ns, {"metadata": {"annotations": {"x": "y"}}}
                )
            ),
            timeout=15,
            what="patch on Deployments after enabling auto rollback",
        )
        assert allowed(sa, "patch", "deployments", app_ns, group="apps")
        assert allowed(sa, "list", "replicasets", app_ns, group="apps")
        for resource in ("statefulsets", "daemonsets", "replicasets"):  # Auto mode acts on Deployments only
            assert not allowed(sa, "patch", resource, app_ns, group="apps"), resource
        assert not allowed(sa, "delete", "deployments", app_ns, group="apps")
        assert forbidden(core.list_namespaced_secret, app_ns)

        release.upgrade("--set", "action.autoRollback.enabled=false")
        wait_for(
            lambda: not allowed(sa, "patch", "deployments", app_ns, group="apps"),
            timeout=15,
            what="patch on Deployments to be withdrawn",
        )
    finally:
        release.uninstall()
    with pytest.raises(ApiException) as err:
        client.RbacAuthorizationV1Api(api_client).read_cluster_role(release.service_account)
    assert err.value.status == 404


def test_namespaced_install_confines_the_operator_to_its_namespaces(
    helm: Helm,
    control_plane: ControlPlane,
    api_client: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    release_ns, team_a, team_b, outside = (namespaces(p) for p in ("lw-chart", "team-a", "team-b", "outside"))
    release = Release(helm, control_plane, f"lwn-{uuid.uuid4().hex[:5]}", release_ns)
    try:
        release.install(
            "--set",
            f"watchNamespaces={{{team_a},{team_b}}}",
            "--set",
            "peering.enabled=true",
            # A cluster-scoped advisory belongs to one release; the other test's release may hold it.
            "--set",
            "advisories.jooby3453.enabled=false",
        )
        admin_custom = client.CustomObjectsApi(api_client)
        for namespace in (team_a, team_b):
            peering = admin_custom.get_namespaced_custom_object(
                "kopf.dev", "v1", namespace, "kopfpeerings", release.service_account
            )
            assert peering["metadata"]["name"] == release.service_account

        sa = as_account(control_plane, release_ns, release.service_account)
        core, custom = client.CoreV1Api(sa), client.CustomObjectsApi(sa)
        for namespace in (team_a, team_b):
            core.list_namespaced_pod(namespace)
            assert allowed(sa, "get", "deployments", namespace, group="apps")
            assert not allowed(sa, "list", "replicasets", namespace, group="apps")  # only for Auto mode
            assert allowed(sa, "watch", "pods", namespace)
            assert allowed(sa, "patch", "leakwatches/status", namespace, group=GROUP)
            assert allowed(sa, "create", "events", namespace)
            assert forbidden(core.list_namespaced_secret, namespace)
            assert not allowed(sa, "patch", "deployments", namespace, group="apps")
        # Outside the list: nothing, and nothing cluster-wide but the shared reads.
        assert forbidden(core.list_namespaced_pod, outside)
        assert forbidden(core.list_namespaced_pod, release_ns)
        assert forbidden(core.list_pod_for_all_namespaces)
        assert not allowed(sa, "watch", "pods", outside)
        assert not allowed(sa, "list", "leakwatches", outside, group=GROUP)
        custom.list_cluster_custom_object(GROUP, VERSION, "leakadvisories")
        core.list_namespace()

        # The real operator, restricted to the two namespaces and peering through their
        # KopfPeerings, runs on these permissions alone.
        operator = OperatorProcess(
            control_plane,
            tmp_path,
            [team_a, team_b],
            kubeconfig=control_plane.service_account_kubeconfig(release_ns, release.service_account),
            env={**JSON_LOG, "LEAKWATCH_PEERING_NAME": release.service_account},
        )
        try:
            operator.start()
            admin_custom.create_namespaced_custom_object(
                GROUP, VERSION, team_b, "leakwatches", leakwatch_manifest("cart")
            )
            wait_for(
                lambda: operator.handled(team_b, "cart"),
                timeout=60,
                what="the namespaced operator to handle the LeakWatch",
            )
            # Its keep-alive landed in the peering object: the peering permissions suffice.
            wait_for(
                lambda: admin_custom.get_namespaced_custom_object(
                    "kopf.dev", "v1", team_a, "kopfpeerings", release.service_account
                ).get("status"),
                timeout=30,
                what="the operator's keep-alive in the KopfPeering",
            )
        finally:
            operator.stop()
        assert not REFUSALS.search(operator.text()), operator.text()[-3000:]
    finally:
        release.uninstall()
