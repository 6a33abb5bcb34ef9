"""`make demo`: LeakWatch on a real local control plane.

Starts etcd, kube-apiserver and kube-controller-manager on loopback, installs the CRDs, runs the
operator, applies the example LeakWatch and LeakAdvisory, and prints what `kubectl get
leakwatches` shows. With --hold it keeps everything running until Ctrl-C and prints the
KUBECONFIG to use. Every process it started is stopped on exit, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from leakwatch.dev.cluster import ControlPlane, free_port

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CRDS = Path(__file__).resolve().parents[3] / "crds"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leakwatch-demo", description=__doc__)
    parser.add_argument("--hold", action="store_true", help="keep the cluster and operator running until Ctrl-C")
    parser.add_argument("--namespace", default="default", help="namespace for the example LeakWatch")
    args = parser.parse_args(argv)

    started = time.monotonic()
    print("starting a real control plane (etcd, kube-apiserver, kube-controller-manager) on loopback ...")
    with ControlPlane(components=("controller-manager",)) as cp:
        kubectl = [str(cp.binary("kubectl")), "--kubeconfig", str(cp.kubeconfig)]
        print(f"kube-apiserver {cp.version} ready at {cp.server} after {time.monotonic() - started:.1f}s")
        subprocess.run([*kubectl, "apply", "--server-side", "-f", str(CRDS)], check=True)
        subprocess.run(
            [*kubectl, "wait", "--for=condition=Established", "--timeout=60s", "crd/leakwatches.leakwatch.io"],
            check=True,
        )
        env = {
            **cp.env(),
            "LEAKWATCH_METRICS_PORT": str(free_port()),
            "LEAKWATCH_HEALTH_PORT": str(free_port()),
            "LEAKWATCH_BIND_ADDRESS": "127.0.0.1",
        }
        log = cp.root / "operator.log"
        operator = subprocess.Popen(
            [sys.executable, "-m", "leakwatch", "run"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        try:
            subprocess.run([*kubectl, "apply", "-f", str(EXAMPLES / "jooby-3453.leakadvisory.yaml")], check=True)
            subprocess.run(
                [*kubectl, "apply", "-n", args.namespace, "-f", str(EXAMPLES / "checkout-api.leakwatch.yaml")],
                check=True,
            )
            subprocess.run(
                [
                    *kubectl,
                    "wait",
                    "-n",
                    args.namespace,
                    "--for=condition=Ready",
                    "--timeout=60s",
                    "leakwatch/checkout-api",
                ],
                check=True,
            )
            subprocess.run([*kubectl, "get", "leakwatches", "-n", args.namespace, "-o", "wide"], check=True)
            subprocess.run([*kubectl, "get", "leakadvisories"], check=True)
            print(f"operator metrics: http://127.0.0.1:{env['LEAKWATCH_METRICS_PORT']}/metrics")
            print(f"demo ready in {time.monotonic() - started:.1f}s")
            if args.hold:
                print(f"holding; use: export KUBECONFIG={cp.kubeconfig}   (Ctrl-C stops everything)")
                while operator.poll() is None:
                    time.sleep(1)
        except KeyboardInterrupt:
            print("stopping ...")
        finally:
            operator.terminate()
            try:
                operator.wait(15)
            except subprocess.TimeoutExpired:
                operator.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
