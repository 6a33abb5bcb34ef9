#!/usr/bin/env bash
# The one install step that `make demo`, `make test` and `.ci/run` share. Idempotent: a second run
# only checks what is there.
#
#   1. system packages from Debian (needs root; skipped when every tool is already there):
#      Prometheus + promtool, containerd, runc, the CNI plugins, umoci, skopeo, openssl, gcc
#   2. the Python virtualenv in .venv with the project and its dev extras, and the dev harness
#      (dev/, package leakwatch_dev: its own distribution, never in the operator's image)
#   3. the Go binaries: etcd, kube-apiserver, controller-manager, scheduler, kubelet, kubectl,
#      kwok, helm (hack/build-binaries.sh; ~12 min cold on 2 cores, cached by version)
#   4. the node's images: pause, memhog, netty-post 1.4.0/1.5.0/1.5.1 (hack/build-images.sh,
#      cached by content)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
python_only=0
[[ "${1:-}" == "--python-only" ]] && python_only=1

log() { printf '[install] %s\n' "$*" >&2; }

# command:package pairs; a missing command means its package is installed
wanted=(
  prometheus:prometheus promtool:prometheus
  containerd:containerd ctr:containerd runc:runc /usr/lib/cni/loopback:containernetworking-plugins
  umoci:umoci skopeo:skopeo openssl:openssl gcc:gcc make:make
)
missing=()
for pair in "${wanted[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue; else command -v "$cmd" >/dev/null && continue; fi
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || missing+=(libc6-dev)  # gcc -static for pause and memhog
((python_only)) && missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root (apt-get install ${missing[*]}) or run this step as root"
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((!python_only)); then
  for tool in go java jlink jdeps mvn python3; do
    command -v "$tool" >/dev/null || { log "$tool not found: this machine kind ships it; install it first"; exit 1; }
  done
fi

if [[ ! -f "$venv/.installed" || pyproject.toml -nt "$venv/.installed" || dev/pyproject.toml -nt "$venv/.installed" ]]; then
  log "virtualenv $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -e '.[dev]' -e ./dev
  touch "$venv/.installed"
fi

((python_only)) && exit 0
log "Go binaries (cached by version)"
bash hack/build-binaries.sh >/dev/null
log "node images (cached by content)"
bash hack/build-images.sh >/dev/null
