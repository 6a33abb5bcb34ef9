"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and, on request,
kube-controller-manager, kube-scheduler and kwok.

The binaries are built from their published Go modules by `hack/build-binaries.sh` and cached by
version; this module only starts them. Authentication is a static token for the admin (group
system:masters) plus real ServiceAccount tokens from the TokenRequest API, so RBAC is enforced
exactly as in a cluster.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "build-binaries.sh"
COMPONENTS = ("controller-manager", "scheduler", "kwok")


class ControlPlaneError(RuntimeError):
    pass


# A port from binding port 0 is in the kernel's ephemeral range, from which it also draws the source
# port of every outgoing connection: between our check and the server's own bind, a connection to
# etcd or a scrape could take it (CI saw kube-apiserver fail with "address already in use"). Ports
# below that range are taken only by an explicit bind, and this process hands each out once. From
# 20000: under it are the ports components take by default (the kubelet's 10248-10250, the
# controller-manager's 10257, the scheduler's 10259).
_PORTS_FROM = 20000
_handed_out: set[int] = set()
_port_choice = secrets.SystemRandom()


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on, below the ephemeral range, never the same one twice."""
    end = _ephemeral_ports_start()
    if end - _PORTS_FROM >= 1000:
        for _ in range(1000):
            port = _port_choice.randrange(_PORTS_FROM, end)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket() as sock:  # an unusual ephemeral range: the kernel's choice, as before
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _handed_out.add(port)
    return port


def binary_dirs() -> list[Path]:
    """Where the cached binaries are; builds them first if any is missing. LEAKWATCH_BIN_DIRS
    (colon-separated) points at binaries built elsewhere instead."""
    if os.environ.get("LEAKWATCH_BIN_DIRS"):
        return [Path(p) for p in os.environ["LEAKWATCH_BIN_DIRS"].split(":")]
    try:
        out = subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, capture_output=True, text=True).stdout.strip()
    except subprocess.CalledProcessError as err:
        raise ControlPlaneError(f"building the control plane failed:\n{err.stderr[-4000:]}") from err
    return [Path(p) for p in out.splitlines()[-1].split(":")]


def find_binary(name: str, dirs: list[Path]) -> Path:
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ControlPlaneError(f"{name} not found in {', '.join(map(str, dirs))}; run hack/build-binaries.sh")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def sign_certificate(directory: Path, name: str, subject: str, extensions: str) -> None:
    """`name`.key and `name`.crt in `directory`, signed by its ca.crt/ca.key (openssl x509 -extfile)."""
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key", "-out",
             f"{name}.csr", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "3650", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=directory)  # fmt: skip


def make_pki(directory: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1/localhost, the API server's client certificate
    for kubelets, and a service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=leakwatch-dev-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=directory)  # fmt: skip
    sign_certificate(
        directory,
        "apiserver",
        "/CN=kube-apiserver",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\n",
    )
    # kubectl logs/exec reach a kubelet with this identity; system:masters passes its authorizer.
    sign_certificate(
        directory, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
        "extendedKeyUsage=clientAuth\n",
    )  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)


def raise_if_exited(processes: list[Process]) -> None:
    """A part that died while we wait for it to be ready: say so with the end of its log."""
    for process in processes:
        if process.popen.poll() is not None:
            raise ControlPlaneError(
                f"{process.name} exited with {process.popen.returncode}:\n"
                + process.log.read_text(errors="replace")[-3000:]
            )


class LocalPart:
    """A part of the local cluster: `with Part(...) as part:` starts it and stops it on exit, and
    also when starting fails half-way, so a failed start leaves nothing running behind."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass
class ControlPlane(LocalPart):
    """Start with `with ControlPlane(...) as cp:`; everything it started is stopped on exit."""

    workdir: Path | None = None
    components: tuple[str, ...] = ("controller-manager",)
    # Which kube-controller-manager controllers run. The default is what a bare test needs (the
    # default ServiceAccount, namespace deletion); "*" runs them all, for Deployments and ReplicaSets.
    controllers: str = "serviceaccount,serviceaccount-token,namespace"
    # More kube-apiserver flags, e.g. an audit policy for a benchmark that counts one client's requests.
    apiserver_args: tuple[str, ...] = ()
    processes: list[Process] = field(default_factory=list)
    apiserver_port: int = 0
    token: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.components) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown components {sorted(unknown)}; choose from {COMPONENTS}")
        self._own_workdir = self.workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="leakwatch-cp-")) if self.workdir is None else self.workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dirs = binary_dirs()

    # --- paths --------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        assert self.workdir is not None
        return self.workdir

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    def binary(self, name: str) -> Path:
        return find_binary(name, self.dirs)

    # --- lifecycle ------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> Process:
        log = self.root / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start(self) -> None:
        make_pki(self.pki)
        self.token = secrets.token_hex(16)
        (self.pki / "tokens.csv").write_text(f'{self.token},leakwatch-admin,leakwatch-admin,"system:masters"\n')
        self._start_etcd()
        self._start_apiserver()
        self._write_kubeconfig(self.kubeconfig, self.token, "leakwatch-admin")
        self.version = self.wait_ready()
        if "controller-manager" in self.components:
            self._start_controller_manager()
        if "scheduler" in self.components:
            self._start_scheduler()
        if "kwok" in self.components:
            self._start_kwok()
        if "controller-manager" in self.components:
            self.wait_for_default_service_account()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._own_workdir and os.environ.get("LEAKWATCH_KEEP_CLUSTER_DIR") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn(
            "etcd",
            [
                str(self.binary("etcd")),
                "--data-dir",
                str(self.root / "etcd"),
                "--listen-client-urls",
                self.etcd_url,
                "--advertise-client-urls",
                self.etcd_url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
        )

    def _start_apiserver(self, port: int | None = None) -> None:
        self.apiserver_port = port or self.apiserver_port or free_port()
        self._spawn(
            "kube-apiserver",
            [
                str(self.binary("kube-apiserver")),
                "--etcd-servers",
                self.etcd_url,
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(self.apiserver_port),
                "--tls-cert-file",
                str(self.pki / "apiserver.crt"),
                "--tls-private-key-file",
                str(self.pki / "apiserver.key"),
                "--client-ca-file",
                str(self.pki / "ca.crt"),
                "--token-auth-file",
                str(self.pki / "tokens.csv"),
                "--service-account-key-file",
                str(self.pki / "sa.pub"),
                "--service-account-signing-key-file",
                str(self.pki / "sa.key"),
                "--service-account-issuer",
                "https://kubernetes.default.svc",
                "--api-audiences",
                "https://kubernetes.default.svc",
                "--authorization-mode",
                "RBAC",
                "--service-cluster-ip-range",
                "10.96.0.0/16",
                "--allow-privileged",
                "--profiling=false",
                # a real node's kubelet: reached by its Hostname (an /etc/hosts entry for 127.0.0.1),
                # never by its InternalIP, which is the VM's own interface address
                "--kubelet-client-certificate",
                str(self.pki / "apiserver-kubelet-client.crt"),
                "--kubelet-client-key",
                str(self.pki / "apiserver-kubelet-client.key"),
                "--kubelet-preferred-address-types",
                "Hostname",
                "--v",
                "1",
                *self.apiserver_args,
            ],
        )

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver on the same port (for fault tests)."""
        for process in [p for p in self.processes if p.name == "kube-apiserver"]:
            process.stop()
            self.processes.remove(process)
        self._start_apiserver(self.apiserver_port)
        self.wait_ready()

    def _component_kubeconfig(self, name: str) -> Path:
        path = self.root / f"{name}.kubeconfig"
        self._write_kubeconfig(path, self.token, "leakwatch-admin")
        return path

    def _component_args(self, binary: str) -> list[str]:
        """What kube-controller-manager and kube-scheduler share: admin kubeconfig, loopback, one replica."""
        kubeconfig = str(self._component_kubeconfig(binary))
        return [
            str(self.binary(binary)),
            "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig,
            "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1",
            "--secure-port", str(free_port()),
            "--leader-elect=false",
            "--v", "1",
        ]  # fmt: skip

    def _start_controller_manager(self) -> None:
        self._spawn(
            "kube-controller-manager",
            [
                *self._component_args("kube-controller-manager"),
                "--service-account-private-key-file", str(self.pki / "sa.key"),
                "--root-ca-file", str(self.pki / "ca.crt"),
                "--cluster-signing-cert-file", str(self.pki / "ca.crt"),
                "--cluster-signing-key-file", str(self.pki / "ca.key"),
                "--use-service-account-credentials=false",
                "--controllers", self.controllers,
            ],
        )  # fmt: skip

    def _start_scheduler(self) -> None:
        self._spawn("kube-scheduler", self._component_args("kube-scheduler"))

    def _start_kwok(self) -> None:
        kubeconfig = self._component_kubeconfig("kwok")
        self._spawn(
            "kwok",
            [
                str(self.binary("kwok")),
                "--kubeconfig",
                str(kubeconfig),
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--manage-nodes-with-label-selector=",
                "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
                "--disregard-status-with-label-selector=",
                "--cidr=10.0.0.1/24",
                "--node-ip=10.0.0.1",
                "--server-address",
                f"127.0.0.1:{free_port()}",
            ],
        )

    # --- readiness and clients -------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki / "ca.crt"))

    def get(self, path: str, timeout: float = 5) -> bytes:
        request = urllib.request.Request(self.server + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout, context=self._ssl_context()) as response:
            body: bytes = response.read()
            return body

    def wait_ready(self, timeout: float = 90) -> str:
        """Wait for /readyz; return the server's gitVersion."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            raise_if_exited(self.processes)
            try:
                if self.get("/readyz") == b"ok":
                    version: dict[str, Any] = yaml.safe_load(self.get("/version"))
                    return str(version["gitVersion"])
            except Exception as err:  # not up yet: connection refused, 500 while hooks run
                last_error = str(err)
            time.sleep(0.25)
        raise ControlPlaneError(f"kube-apiserver not ready after {timeout}s: {last_error}")

    def install_crds(self, directory: Path = REPO_ROOT / "crds", timeout: float = 60) -> None:
        """Apply the CRDs in `directory` and wait until each is Established. (`kubectl wait` fails
        outright when it asks before the CRD has any condition at all, so this polls instead.)"""
        subprocess.run(
            [str(self.binary("kubectl")), "--kubeconfig", str(self.kubeconfig), "apply", "--server-side",
             "--force-conflicts", "-f", str(directory)],
            check=True, capture_output=True,
        )  # fmt: skip
        names = [
            doc["metadata"]["name"]
            for path in sorted(directory.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"
        ]
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                crd = yaml.safe_load(self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"))
                conditions = (crd.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    break
                if time.monotonic() > deadline:
                    raise ControlPlaneError(f"CRD {name} not Established after {timeout}s: {conditions}")
                time.sleep(0.1)

    def wait_for_default_service_account(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.get("/api/v1/namespaces/default/serviceaccounts/default")
                return
            except Exception:
                time.sleep(0.25)
        raise ControlPlaneError("the controller-manager never created the default ServiceAccount")

    def _write_kubeconfig(self, path: Path, token: str, user: str, namespace: str | None = None) -> None:
        self.write_kubeconfig(path, user, {"token": token}, namespace)

    def write_kubeconfig(
        self, path: Path, user: str, credentials: dict[str, str], namespace: str | None = None
    ) -> None:
        """A kubeconfig for this cluster; `credentials` is the kubeconfig user entry (token, or
        client-certificate and client-key)."""
        ca = base64.b64encode((self.pki / "ca.crt").read_bytes()).decode()
        context: dict[str, Any] = {"cluster": "leakwatch-dev", "user": user}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "leakwatch-dev",
                    "cluster": {"server": self.server, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": "leakwatch-dev", "context": context}],
            "current-context": "leakwatch-dev",
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    def service_account_kubeconfig(self, namespace: str, name: str, hours: int = 2) -> Path:
        """A kubeconfig that authenticates as ServiceAccount `namespace/name` (which must exist), via
        a bound token from the TokenRequest API: RBAC applies to it as to a pod of that account."""
        token = self.service_account_token(namespace, name, hours)
        path = self.root / f"sa-{namespace}-{name}.kubeconfig"
        self._write_kubeconfig(path, token, f"system:serviceaccount:{namespace}:{name}", namespace)
        return path

    def service_account_token(self, namespace: str, name: str, hours: int = 2) -> str:
        """A bound token for ServiceAccount `namespace/name` from the TokenRequest API."""
        import json

        request = urllib.request.Request(
            f"{self.server}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            data=json.dumps(
                {
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenRequest",
                    "spec": {"expirationSeconds": hours * 3600},
                }
            ).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10, context=self._ssl_context()) as response:
            token: str = json.loads(response.read())["status"]["token"]
            return token

    def env(self) -> dict[str, str]:
        """Environment for a child process that should talk to this cluster as admin."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}


@contextlib.contextmanager
def control_plane(components: tuple[str, ...] = ("controller-manager",)) -> Iterator[ControlPlane]:
    with ControlPlane(components=components) as cp:
        yield cp
