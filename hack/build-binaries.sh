#!/usr/bin/env bash
# Build the real control-plane binaries from their published Go modules and cache them by version,
# and our own dashboard-check (hack/dashboard-check) by SDK version and source hash.
#
#   hack/build-binaries.sh            build (or reuse) everything, print the bin directory
#   hack/build-binaries.sh --print    only print where the binaries live
#
# Cold on 2 cores this takes about 10 minutes (kube-apiserver alone ~4 min); warm it is a few
# stat() calls. k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces
# every k8s.io/* staging module with ./staging/src/k8s.io/NAME, so we wrap it in a tiny module
# that replaces each one with the published v0.x.y of the same release instead.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${LEAKWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leakwatch}
bindir="$cache/bin"
mkdir -p "$bindir"

k8s_dir="$bindir/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$bindir/etcd-$ETCD_VERSION"
kwok_dir="$bindir/kwok-$KWOK_VERSION"
helm_dir="$bindir/helm-$HELM_VERSION"
prometheus_dir="$bindir/prometheus-$PROMETHEUS_VERSION"
alertmanager_dir="$bindir/alertmanager-$ALERTMANAGER_VERSION"
operator_crds_dir="$bindir/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
# dashboard-check is our own module (hack/dashboard-check): its directory also carries a hash of its
# sources, so an edit to main.go, go.mod or go.sum builds a new binary instead of reusing the old one.
dashboard_check_src="$here/dashboard-check"
dashboard_check_hash=$(cat "$dashboard_check_src/go.mod" "$dashboard_check_src/go.sum" "$dashboard_check_src/main.go" |
  sha256sum | cut -c1-12)
dashboard_check_dir="$bindir/dashboard-check-$GRAFANA_FOUNDATION_SDK_VERSION-$dashboard_check_hash"
dirs="$k8s_dir:$etcd_dir:$kwok_dir:$helm_dir:$prometheus_dir:$alertmanager_dir:$operator_crds_dir:$dashboard_check_dir"

if [[ "${1:-}" == "--print" ]]; then
  echo "$dirs"
  exit 0
fi

log() { printf '[build-binaries] %s\n' "$*" >&2; }
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

build_kubernetes() {
  local out="$k8s_dir" work staging_version minor major
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)
  local missing=0
  for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || missing=1; done
  [[ $missing == 0 ]] && return 0
  work=$(mktemp -d "$cache/k8s-build.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  # v1.34.3 -> staging modules are published as v0.34.3
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  major=1
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  log "kubernetes $KUBERNETES_VERSION (staging $staging_version) in $work"
  (
    cd "$work"
    go mod init leakwatch.local/k8s-build >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
    # The release's own go.mod names every staging module in its replace block.
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" | awk '{print $1}' | sort -u |
      while read -r mod; do go mod edit -replace="$mod=$mod@$staging_version"; done
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
    go mod tidy >/dev/null
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    mkdir -p "$out.tmp"
    for b in "${bins[@]}"; do
      if [[ ! -x "$out/$b" ]]; then
        log "go build $b"
        go build -trimpath -ldflags "$ldflags" -o "$out.tmp/$b" "k8s.io/kubernetes/cmd/$b"
      fi
    done
  )
  mkdir -p "$out"
  mv "$out.tmp"/* "$out/" 2>/dev/null || true
  rmdir "$out.tmp" 2>/dev/null || true
}

build_etcd() {
  [[ -x "$etcd_dir/etcd" ]] && return 0
  local work
  work=$(mktemp -d "$cache/etcd-build.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  log "etcd $ETCD_VERSION in $work"
  (
    cd "$work"
    go mod init leakwatch.local/etcd-build >/dev/null 2>&1
    cat > main.go <<'GO'
// A tiny main for etcd: `go install go.etcd.io/etcd/v3@…` is refused because of its replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy >/dev/null
    go build -trimpath -ldflags "-s -w" -o "$work/etcd" .
  )
  mkdir -p "$etcd_dir"
  mv "$work/etcd" "$etcd_dir/etcd"
}

go_install() {  # name dir module@version
  local name=$1 dir=$2 mod=$3
  [[ -x "$dir/$name" ]] && return 0
  log "go install $mod"
  mkdir -p "$dir"
  GOBIN="$dir" go install -trimpath -ldflags "-s -w" "$mod"
}

build_alertmanager() {
  # The module's ui/ embeds app/dist, which its release build makes with npm and the module zip
  # leaves out, so `go install` fails. Build from a copy of the module with a placeholder page in
  # app/dist: the HTTP API, which is all the tests use, is the same.
  local out="$alertmanager_dir" work src
  [[ -x "$out/alertmanager" && -x "$out/amtool" ]] && return 0
  work=$(mktemp -d "$cache/alertmanager-build.XXXXXX")
  trap 'chmod -R u+w "$work"; rm -rf "$work"' RETURN
  log "alertmanager $ALERTMANAGER_VERSION in $work"
  src=$(go mod download -json "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$src" "$work/alertmanager"
  chmod -R u+w "$work/alertmanager"
  for ui in elm mantine; do
    mkdir -p "$work/alertmanager/ui/app/dist/$ui"
    echo '<p>UI not built (LeakWatch test build)</p>' > "$work/alertmanager/ui/app/dist/$ui/index.html"
  done
  mkdir -p "$out"
  (cd "$work/alertmanager" && go build -trimpath -o "$out/" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v}" ./cmd/alertmanager ./cmd/amtool)
}

fetch_operator_crds() {
  local dir wanted=(servicemonitors podmonitors prometheusrules)
  [[ -f "$operator_crds_dir/.complete" ]] && return 0
  log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs"
  dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$operator_crds_dir"
  for crd in "${wanted[@]}"; do
    install -m 0644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$operator_crds_dir/"
  done
  touch "$operator_crds_dir/.complete"
}

build_dashboard_check() {
  # Built from hack/dashboard-check as it is, so its go.mod and go.sum pin every dependency; the
  # SDK version there must be the one versions.env pins, or the directory name would lie.
  local out="$dashboard_check_dir" required
  [[ -x "$out/dashboard-check" ]] && return 0
  required=$(cd "$dashboard_check_src" && go list -m -f '{{.Version}}' github.com/grafana/grafana-foundation-sdk/go)
  if [[ "$required" != "$GRAFANA_FOUNDATION_SDK_VERSION" ]]; then
    log "hack/dashboard-check/go.mod requires grafana-foundation-sdk $required but versions.env pins $GRAFANA_FOUNDATION_SDK_VERSION;"
    log "run: cd hack/dashboard-check && go get github.com/grafana/grafana-foundation-sdk/go@$GRAFANA_FOUNDATION_SDK_VERSION && go mod tidy"
    return 1
  fi
  log "dashboard-check (grafana-foundation-sdk $GRAFANA_FOUNDATION_SDK_VERSION)"
  mkdir -p "$out"
  (cd "$dashboard_check_src" && go build -trimpath -ldflags "-s -w" -o "$out/dashboard-check.tmp" .)
  mv "$out/dashboard-check.tmp" "$out/dashboard-check"
}

build_etcd
build_kubernetes
go_install kwok "$kwok_dir" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install helm "$helm_dir" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
# Without the builtinassets tag the web UI is not embedded; the HTTP API, which is all we use, is.
go_install prometheus "$prometheus_dir" "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
go_install promtool "$prometheus_dir" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
build_alertmanager
fetch_operator_crds
build_dashboard_check
echo "$dirs"
