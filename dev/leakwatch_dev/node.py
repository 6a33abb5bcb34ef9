"""A real node on this machine: Debian's containerd 1.6 with runc, and a kubelet built from
k8s.io/kubernetes, registered with a `ControlPlane`. Containers run in real memory cgroups and the
kernel OOM-kills them over their limit; the kubelet writes `OOMKilled`/137 and serves cAdvisor's
series on `https://127.0.0.1:10250/metrics/cadvisor`.

Every setting and pitfall behind this module was checked on this machine kind first
(`../shared/REAL-NODE.md`): loopback only (pods are `hostNetwork: true` and bind 127.0.0.1; the
API server reaches the kubelet by its Hostname, which an /etc/hosts entry points at 127.0.0.1),
`oom_score_adj` clamped to 0 (no CAP_SYS_RESOURCE), the host sysctls the kubelet changes saved and
restored, and a cleanup that leaves no process, mount, cgroup or file behind, also after a failed
start or Ctrl-C. Only one RealNode runs at a time: the kubelet's ports are fixed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
import yaml
from kubernetes import client, config

from leakwatch_dev.cluster import (
    ControlPlane,
    ControlPlaneError,
    LocalPart,
    Process,
    raise_if_exited,
    sign_certificate,
)

KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
CNI_BIN_DIR = Path("/usr/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
HOSTS_FILE = Path("/etc/hosts")
CONTAINER_LOG_LINKS = Path("/var/log/containers")
# The kubelet sets these at start (protectKernelDefaults: false); the machine is shared, so they
# are put back right after it starts and again when it stops.
KUBELET_SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops")
SCRAPER_NAMESPACE = "monitoring"
SCRAPER_ACCOUNT = "prometheus"


class NodeUnavailable(ControlPlaneError):
    """This machine cannot run a real node; the message says what is missing."""


def image_dir() -> Path:
    out = subprocess.run(
        ["bash", str(Path(__file__).resolve().parents[2] / "hack" / "build-images.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Path(out.strip().splitlines()[-1])


def node_images() -> dict[str, Path]:
    """Image reference -> docker-archive tarball, as hack/build-images.sh last built them."""
    listing = image_dir() / "current.list"
    pairs = (line.split("\t") for line in listing.read_text().splitlines() if line.strip())
    return {ref: Path(path) for ref, path in pairs}


def image_boms() -> dict[str, dict[str, Any]]:
    """Image reference -> the CycloneDX SBOM its build wrote (netty-post's), for those that have one."""
    found = {}
    for ref, tarball in node_images().items():
        bom = tarball.with_name(tarball.name.removesuffix(".tar") + ".bom.json")
        if bom.is_file():
            found[ref] = json.loads(bom.read_text())
    return found


def loopback_pod_spec(containers: list[dict[str, Any]], grace_seconds: int = 1) -> dict[str, Any]:
    """A pod spec for the real node: the host's network namespace with no pod network, so the
    workload binds 127.0.0.1 and nothing leaves 127.0.0.0/8; no ServiceAccount token, no
    service environment. Images come from the node's containerd: use imagePullPolicy Never."""
    return {
        "hostNetwork": True,
        "dnsPolicy": "Default",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": grace_seconds,
        "containers": containers,
    }


def missing_requirements() -> list[str]:
    """What this machine lacks for a real node, in words; empty when it can run one."""
    problems = []
    if os.geteuid() != 0:
        problems.append("root: the kubelet and containerd create cgroups, mounts and /etc/hosts entries")
    if not (CGROUP_ROOT / "memory").is_dir() and "memory" not in _cgroup2_controllers():
        problems.append(f"a memory cgroup controller: neither {CGROUP_ROOT}/memory nor cgroup v2 with memory")
    for tool in ("containerd", "ctr", "runc"):
        if shutil.which(tool) is None:
            problems.append(f"{tool}: apt-get install containerd runc (hack/install.sh does)")
    if not (CNI_BIN_DIR / "loopback").exists():
        problems.append(f"{CNI_BIN_DIR}/loopback: apt-get install containernetworking-plugins")
    for port in (KUBELET_PORT, KUBELET_HEALTHZ_PORT):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                problems.append(f"127.0.0.1:{port} is taken: another kubelet runs here")
    return problems


def _cgroup2_controllers() -> list[str]:
    controllers = CGROUP_ROOT / "cgroup.controllers"
    return controllers.read_text().split() if controllers.exists() else []


def _read_sysctls() -> dict[str, str]:
    return {name: (Path("/proc/sys") / name).read_text().strip() for name in KUBELET_SYSCTLS}


def _write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        path = Path("/proc/sys") / name
        if path.read_text().strip() != value:
            path.write_text(value)


@dataclass
class RealNode(LocalPart):
    """Start with `with RealNode(cp) as node:`; the control plane must run the controller-manager
    (with `nodelifecycle` and `root-ca-cert-publisher`, e.g. controllers="*") and the scheduler."""

    cp: ControlPlane
    name: str = "lw-node"
    # Which images to import into the node's containerd; all that hack/build-images.sh built by default.
    images: tuple[str, ...] = ()
    housekeeping_interval: str = "2s"  # cAdvisor's sampling: the default 10-15 s misses short lives
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = self.cp.root / f"node-{self.name}"
        self._cleanups: list[Callable[[], None]] = []
        self._saved_sysctls: dict[str, str] = {}
        self.run_dir: Path | None = None  # short: unix socket paths are limited to 108 bytes

    # --- paths ----------------------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "containerd.sock"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        problems = missing_requirements()
        if problems:
            raise NodeUnavailable("this machine cannot run a real node; missing:\n  - " + "\n  - ".join(problems))
        self.kubelet_binary = self.cp.binary("kubelet")
        images = node_images()
        wanted = self.images or tuple(images)
        unknown = [ref for ref in wanted if ref not in images]
        if unknown:
            raise NodeUnavailable(f"images not built: {unknown}; run hack/build-images.sh")
        self._remove_stale_cgroups()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="lw-", dir="/run"))
        self._cleanups.append(lambda: shutil.rmtree(self.run_dir or "/nonexistent", ignore_errors=True))
        self._saved_sysctls = _read_sysctls()
        self._add_hosts_entry()
        self._node_credentials()
        self._start_containerd()
        for ref in wanted:
            self._ctr("images", "import", "--no-unpack=false", str(images[ref]))
        self._start_kubelet()
        self.wait_ready()
        _write_sysctls(self._saved_sysctls)

    def stop(self) -> None:
        """Everything back as it was; each step runs even when an earlier one failed."""
        steps: list[Callable[[], None]] = [self._delete_pods, self._stop_kubelet, self._kill_tasks]
        steps += [self._stop_containerd, self._kill_shims, self._unmount, self._remove_stale_cgroups]
        steps += [self._remove_log_links, *reversed(self._cleanups)]
        if self._saved_sysctls:
            steps.append(lambda: _write_sysctls(self._saved_sysctls))
        errors = []
        for step in steps:
            try:
                step()
            except Exception as err:  # keep cleaning: one stuck step must not leave the rest behind
                errors.append(f"{getattr(step, '__name__', step)}: {err}")
        self._cleanups.clear()
        self.processes.clear()
        if errors:
            raise ControlPlaneError("real node cleanup incomplete:\n  " + "\n  ".join(errors))

    # --- pieces of start ------------------------------------------------------------------------
    def _add_hosts_entry(self) -> None:
        line = f"127.0.0.1 {self.name}  # leakwatch real node {os.getpid()}\n"
        text = HOSTS_FILE.read_text()
        if line not in text:
            HOSTS_FILE.write_text(text + ("" if text.endswith("\n") else "\n") + line)

        def remove() -> None:
            HOSTS_FILE.write_text("".join(x for x in HOSTS_FILE.read_text().splitlines(True) if x != line))

        self._cleanups.append(remove)

    def _node_credentials(self) -> None:
        """The node's client identity (system:node:NAME in system:nodes, bound to the system:node
        role: RBAC only, no Node authorizer) and the kubelet's serving certificate."""
        pki = self.cp.pki
        sign_certificate(pki, f"node-{self.name}", f"/O=system:nodes/CN=system:node:{self.name}",
                         "extendedKeyUsage=clientAuth\n")  # fmt: skip
        sign_certificate(pki, f"kubelet-serving-{self.name}", f"/CN={self.name}",
                         f"subjectAltName=IP:127.0.0.1,DNS:{self.name}\nextendedKeyUsage=serverAuth\n")  # fmt: skip
        self.kubeconfig = self.root / "kubelet.kubeconfig"
        self.cp.write_kubeconfig(
            self.kubeconfig,
            f"system:node:{self.name}",
            {
                "client-certificate": str(pki / f"node-{self.name}.crt"),
                "client-key": str(pki / f"node-{self.name}.key"),
            },
        )
        rbac = client.RbacAuthorizationV1Api(config.new_client_from_config(str(self.cp.kubeconfig)))
        binding: Any = {
            "metadata": {"name": f"leakwatch-dev-node-{self.name}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": f"system:node:{self.name}"}],
        }
        with contextlib.suppress(client.ApiException):
            rbac.create_cluster_role_binding(binding)

    def _start_containerd(self) -> None:
        assert self.run_dir is not None
        cni = self.root / "cni" / "net.d"
        cni.mkdir(parents=True, exist_ok=True)
        # One loopback plugin: the runtime reports NetworkReady without any pod network.
        (cni / "10-lw-loopback.conflist").write_text(
            json.dumps({"cniVersion": "0.4.0", "name": "lw-loopback-only", "plugins": [{"type": "loopback"}]})
        )
        cri = {
            "sandbox_image": "localhost/lw/pause:1",
            "disable_apparmor": True,
            # No CAP_SYS_RESOURCE here: oom_score_adj cannot go below 0, so the sandbox's -998 and
            # Guaranteed pods' -997 are clamped to containerd's own 0.
            "restrict_oom_score_adj": True,
            "enable_selinux": False,
            "containerd": {
                "snapshotter": "overlayfs",
                "default_runtime_name": "runc",
                "runtimes": {
                    "runc": {
                        "runtime_type": "io.containerd.runc.v2",
                        "options": {"BinaryName": shutil.which("runc"), "SystemdCgroup": False},
                    }
                },
            },
            "cni": {"bin_dir": str(CNI_BIN_DIR), "conf_dir": str(cni), "max_conf_num": 1},
        }
        settings = {
            "version": 2,
            "root": str(self.root / "containerd"),
            "state": str(self.run_dir / "state"),
            "oom_score": 0,
            "grpc": {"address": str(self.socket)},
            "ttrpc": {"address": str(self.run_dir / "ttrpc.sock")},
            "debug": {"level": "warn"},
            "disabled_plugins": [
                "io.containerd.snapshotter.v1.btrfs",
                "io.containerd.snapshotter.v1.zfs",
                "io.containerd.snapshotter.v1.devmapper",
                "io.containerd.snapshotter.v1.aufs",
                "io.containerd.tracing.processor.v1.otlp",
                "io.containerd.internal.v1.tracing",
            ],
            "plugins": {"io.containerd.grpc.v1.cri": cri},
        }
        path = self.root / "containerd.toml"
        path.write_text(tomli_w.dumps(settings))
        self._spawn("containerd", [shutil.which("containerd") or "containerd", "--config", str(path)])
        self._wait(lambda: self._ctr("version", check=False) == 0, 30, "containerd to answer")

    def _start_kubelet(self) -> None:
        (self.root / "resolv.conf").write_text("nameserver 127.0.0.1\n")  # pods resolve on loopback only
        self.pod_logs.mkdir(parents=True, exist_ok=True)
        pki = self.cp.pki
        settings = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": "127.0.0.1",
            "port": KUBELET_PORT,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": KUBELET_HEALTHZ_PORT,
            "tlsCertFile": str(pki / f"kubelet-serving-{self.name}.crt"),
            "tlsPrivateKeyFile": str(pki / f"kubelet-serving-{self.name}.key"),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "imageServiceEndpoint": f"unix://{self.socket}",
            "cgroupDriver": "cgroupfs",
            "failCgroupV1": False,  # the default in 1.34, flips in 1.35; this VM is cgroup v1 (hybrid)
            "cgroupsPerQOS": True,
            "enforceNodeAllocatable": ["pods"],
            "failSwapOn": False,
            "oomScoreAdj": 0,
            "resolvConf": str(self.root / "resolv.conf"),
            "clusterDomain": "cluster.local",
            "registerNode": True,
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "5%",
                "nodefs.inodesFree": "5%",
                "imagefs.available": "5%",
            },
            # nothing can be pulled here: never collect the imported images, the pause image above all
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "podLogsDir": str(self.pod_logs),
            "syncFrequency": "10s",
        }
        path = self.root / "kubelet-config.yaml"
        path.write_text(yaml.safe_dump(settings))
        self._spawn(
            "kubelet",
            [
                str(self.kubelet_binary),
                "--config", str(path),
                "--kubeconfig", str(self.kubeconfig),
                "--root-dir", str(self.root / "kubelet"),
                "--hostname-override", self.name,
                "--housekeeping-interval", self.housekeeping_interval,
                # cAdvisor asks containerd for each container's pod, namespace and image labels
                "--containerd", str(self.socket),
                "--v", "1",
            ],
        )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the Node is Ready and the not-ready taint is gone (nodelifecycle removes it)."""
        core = client.CoreV1Api(config.new_client_from_config(str(self.cp.kubeconfig)))

        def ready() -> bool:
            raise_if_exited(self.processes)
            try:
                node: Any = core.read_node(self.name)
            except client.ApiException:
                return False
            conditions = {c.type: c.status for c in node.status.conditions or []}
            tainted = any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints or [])
            return conditions.get("Ready") == "True" and not tainted

        self._wait(ready, timeout, f"node {self.name} to be Ready")

    # --- what users of the node need ------------------------------------------------------------
    def scraper_token(self) -> str:
        """A ServiceAccount token that may read kubelet metrics (`nodes/metrics`) and discover pods,
        as kube-prometheus-stack's Prometheus is allowed to."""
        api = config.new_client_from_config(str(self.cp.kubeconfig))
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        objects: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
            (core.create_namespace, ({"metadata": {"name": SCRAPER_NAMESPACE}},)),
            (core.create_namespaced_service_account, (SCRAPER_NAMESPACE, {"metadata": {"name": SCRAPER_ACCOUNT}})),
            (
                rbac.create_cluster_role,
                (
                    {
                        "metadata": {"name": "leakwatch-dev-prometheus"},
                        "rules": [
                            {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                        ],
                    },
                ),
            ),
            (
                rbac.create_cluster_role_binding,
                (
                    {
                        "metadata": {"name": "leakwatch-dev-prometheus"},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": "leakwatch-dev-prometheus",
                        },
                        "subjects": [
                            {"kind": "ServiceAccount", "name": SCRAPER_ACCOUNT, "namespace": SCRAPER_NAMESPACE}
                        ],
                    },
                ),
            ),
        ]
        for create, args in objects:
            try:
                create(*args)
            except client.ApiException as err:
                if err.status != 409:
                    raise
        return self.cp.service_account_token(SCRAPER_NAMESPACE, SCRAPER_ACCOUNT, hours=12)

    def prometheus_scrape_configs(self, directory: Path, interval: str = "2s") -> list[dict[str, Any]]:
        """Scrape jobs as a kube-prometheus-stack user has them: the kubelet's cAdvisor endpoint over
        TLS with a bearer token (job `kubelet`, honor_labels as its ServiceMonitor sets), and pods
        that declare a container port named `metrics` (job `pods`, with namespace/pod/container
        labels from discovery; the address rewritten to 127.0.0.1 because hostNetwork pods would
        otherwise be reached at the VM's own interface address)."""
        directory.mkdir(parents=True, exist_ok=True)
        token = directory / "scraper.token"
        token.write_text(self.scraper_token())
        tls = {"ca_file": str(self.cp.pki / "ca.crt"), "server_name": self.name}
        api_tls = {"ca_file": str(self.cp.pki / "ca.crt")}
        auth = {"type": "Bearer", "credentials_file": str(token)}
        return [
            {
                "job_name": "kubelet",
                "scheme": "https",
                "metrics_path": "/metrics/cadvisor",
                "scrape_interval": interval,
                "honor_labels": True,
                "honor_timestamps": True,
                # cAdvisor stamps its samples; without this, a dead container's last value is read
                # on for the 5-minute lookback (found here: the killed JVM sat "at the limit" after
                # its death). kube-prometheus-stack's kubelet ServiceMonitor sets it too.
                "track_timestamps_staleness": True,
                "authorization": auth,
                "tls_config": tls,
                "static_configs": [{"targets": [f"127.0.0.1:{KUBELET_PORT}"], "labels": {"node": self.name}}],
            },
            {
                "job_name": "pods",
                "scrape_interval": interval,
                "kubernetes_sd_configs": [
                    {"role": "pod", "api_server": self.cp.server, "authorization": auth, "tls_config": api_tls}
                ],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                        "regex": "metrics",
                        "action": "keep",
                    },
                    {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                        "regex": "(.+)",
                        "target_label": "__address__",
                        "replacement": "127.0.0.1:$1",
                    },
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                    {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
                ],
            },
        ]

    def tasks(self) -> list[str]:
        """Container task IDs containerd runs in the kubelet's namespace."""
        done = self._ctr_output("tasks", "ls", "-q")
        return [line for line in done.splitlines() if line.strip()]

    # --- pieces of stop -------------------------------------------------------------------------
    def _delete_pods(self) -> None:
        """While the kubelet still runs, so it stops their containers and unmounts their volumes."""
        if not self._running("kubelet"):
            return
        core = client.CoreV1Api(config.new_client_from_config(str(self.cp.kubeconfig)))
        pods: list[Any] = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={self.name}").items
        for pod in pods:
            with contextlib.suppress(client.ApiException):
                core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
        with contextlib.suppress(TimeoutError):
            self._wait(lambda: not self.tasks(), 30, "the node's containers to stop")

    def _stop_kubelet(self) -> None:
        for process in [p for p in self.processes if p.name == "kubelet"]:
            process.stop()

    def _kill_tasks(self) -> None:
        if not self._running("containerd"):
            return
        for task in self.tasks():
            self._ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)
        with contextlib.suppress(TimeoutError):
            self._wait(lambda: not self.tasks(), 10, "leftover tasks to die")
        for task in self._ctr_output("tasks", "ls", "-q").splitlines():
            self._ctr("tasks", "delete", "--force", task, check=False)

    def _stop_containerd(self) -> None:
        for process in [p for p in self.processes if p.name == "containerd"]:
            process.stop()

    def _kill_shims(self) -> None:
        """runc shims outlive containerd by design; ours name our socket in their arguments."""
        if self.run_dir is None:
            return
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(self.socket).encode() in argv:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(proc.name), signal.SIGKILL)

    def _unmount(self) -> None:
        """Mounts under our directories, deepest first (rootfs overlays, the kubelet's pod volumes)."""
        ours = [str(self.root)] + ([str(self.run_dir)] if self.run_dir else [])
        for _ in range(3):
            mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
            mine = sorted({m for m in mounts if any(m == d or m.startswith(d + "/") for d in ours)}, key=len)
            if not mine:
                return
            for mount in reversed(mine):
                subprocess.run(["umount", "-l", mount], capture_output=True)
        raise ControlPlaneError(f"still mounted: {mine}")

    def _remove_stale_cgroups(self) -> None:
        """The kubelet's `kubepods` tree and containerd's `k8s.io` tree in every hierarchy, bottom up.
        Refuses to touch a tree that still holds processes: that is another kubelet's."""
        for hierarchy in _cgroup_hierarchies():
            for top in ("kubepods", "k8s.io"):
                tree = hierarchy / top
                if not tree.is_dir():
                    continue
                for directory, _, _ in sorted(os.walk(tree), key=lambda w: -len(w[0])):
                    with contextlib.suppress(OSError):
                        Path(directory).rmdir()
                if tree.exists():
                    procs = [p for p in tree.rglob("cgroup.procs") if p.read_text().strip()]
                    if procs:
                        raise NodeUnavailable(f"{tree} still has processes ({procs[0]}): another kubelet runs here")

    def _remove_log_links(self) -> None:
        """The kubelet links every container log into /var/log/containers (a fixed path)."""
        if not CONTAINER_LOG_LINKS.is_dir():
            return
        for link in CONTAINER_LOG_LINKS.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(str(self.pod_logs)):
                link.unlink()

    # --- helpers --------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> Process:
        log = self.root / f"{name}.log"
        popen = subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _running(self, name: str) -> bool:
        return any(p.name == name and p.popen.poll() is None for p in self.processes)

    def _ctr(self, *args: str, check: bool = True) -> int:
        done = subprocess.run(["ctr", "--address", str(self.socket), "-n", "k8s.io", *args], capture_output=True)
        if check and done.returncode != 0:
            raise ControlPlaneError(f"ctr {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
        return done.returncode

    def _ctr_output(self, *args: str) -> str:
        if self.run_dir is None or not self.socket.exists():
            return ""
        done = subprocess.run(["ctr", "--address", str(self.socket), "-n", "k8s.io", *args], capture_output=True)
        return done.stdout.decode() if done.returncode == 0 else ""

    @staticmethod
    def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _cgroup_hierarchies() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT]  # cgroup v2: one tree
    return [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink()]
