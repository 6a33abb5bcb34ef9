#!/usr/bin/env bash
# Build the real node's container images offline and cache them by content.
#
#   hack/build-images.sh            build (or reuse) every image, print the image directory
#   hack/build-images.sh --print    only print where the images live
#
# No registry is reachable here, so each image is a rootfs turned into an OCI layout by umoci and
# into a docker-archive tarball by skopeo; `RealNode` imports the tarballs into its own containerd
# (`ctr -n k8s.io images import`) and pods use `imagePullPolicy: Never`.
#
#   localhost/lw/pause:1                   a tiny static pause (the CRI sandbox image)
#   localhost/lw/memhog:1                  a static C program that allocates and touches memory
#   localhost/lw/netty-post:{1.4.0,1.5.0,1.5.1}
#                                          the Netty workload: a jlink'd JRE plus the release's jar
#
# The cache key of each image is a hash of everything it is built from (sources, this script,
# the compiler or JDK version), so an edit rebuilds only the image it touches.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cache=${LEAKWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leakwatch}
imagedir="$cache/images"
workload="$repo/tests/workloads"
netty="$workload/netty-post"
releases=(1.4.0 1.5.0 1.5.1)

if [[ "${1:-}" == "--print" ]]; then
  echo "$imagedir"
  exit 0
fi

current=()
log() { printf '[build-images] %s\n' "$*" >&2; }
mkdir -p "$imagedir"

content_key() {  # files... -> a short hash of their contents, this script and the toolchain
  { cat "$@" "$0"; gcc --version 2>/dev/null | head -1; java -version 2>&1 | head -1; } | sha256sum | cut -c1-16
}

# rootfs ref out.tar entrypoint... : one layer holding the rootfs, as a docker-archive tarball
pack() {
  local rootfs=$1 ref=$2 out=$3; shift 3
  local layout tag=${ref##*:}
  layout=$(mktemp -d "$cache/oci.XXXXXX")
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci insert --rootless --image "$layout:$tag" "$rootfs" / >/dev/null
  local config=(--config.workingdir / --config.user 0:0)
  for arg in "$@"; do config+=(--config.entrypoint "$arg"); done
  umoci config --image "$layout:$tag" "${config[@]}" --os linux --architecture amd64
  rm -f "$out.tmp"
  skopeo --insecure-policy copy --quiet "oci:$layout:$tag" "docker-archive:$out.tmp:$ref"
  mv "$out.tmp" "$out"
  rm -rf "$layout"
}

static_image() {  # name source.c -> localhost/lw/NAME:1
  local name=$1 source=$2 key out rootfs
  key=$(content_key "$source")
  out="$imagedir/$name-1-$key.tar"
  current+=("localhost/lw/$name:1	$out")
  [[ -s "$out" ]] && return 0
  log "$name from $(basename "$source")"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  gcc -O2 -static -s -o "$rootfs/$name" "$source"
  pack "$rootfs" "localhost/lw/$name:1" "$out" "/$name"
  rm -rf "$rootfs"
}

# The JRE: only the modules the shaded jar needs (jdeps), plus jdk.management for NMT through the
# DiagnosticCommand MBean and jdk.jfr, without which client_java's JvmMetrics stops registering
# before it reaches jvm_native_memory_* (found on the real node: the series were missing); the native libraries ldd names are copied in, as a distroless base would.
jvm_rootfs() {  # jar rootfs
  local jar=$1 rootfs=$2 modules lib
  modules=$(jdeps --ignore-missing-deps --multi-release 17 --print-module-deps "$jar")
  jlink --add-modules "$modules,jdk.management,jdk.jfr,jdk.crypto.ec" --strip-debug --no-man-pages --no-header-files \
    --compress=2 --output "$rootfs/opt/java" 2>/dev/null
  mkdir -p "$rootfs/app" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp "$jar" "$rootfs/app/netty-post.jar"
  echo 'root:x:0:0:root:/root:/sbin/nologin' > "$rootfs/etc/passwd"
  find "$rootfs/opt/java" -name '*.so' -o -path '*/bin/java' | xargs ldd 2>/dev/null |
    awk '/=> \// {print $3} /^\t\/lib64/ {print $1}' | sort -u |
    while read -r lib; do
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  mkdir -p "$rootfs/lib64"
  cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"
}

netty_images() {
  local key release jar rootfs out
  key=$(content_key "$netty/pom.xml" $(find "$netty/src" -type f | sort))
  for release in "${releases[@]}"; do
    out="$imagedir/netty-post-$release-$key.tar"
    current+=("localhost/lw/netty-post:$release	$out")
    [[ -s "$out" ]] && continue
    jar="$netty/target/$release/netty-post-$release.jar"
    log "netty-post $release: mvn package (first run fills ~/.m2 from Maven Central)"
    (cd "$netty" && mvn -q -B -Dstyle.color=never -P "v$release" package -DskipTests >&2)
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    jvm_rootfs "$jar" "$rootfs"
    pack "$rootfs" "localhost/lw/netty-post:$release" "$out" /opt/java/bin/java -jar /app/netty-post.jar
    # the release's CycloneDX SBOM, when the build made one, travels with its image
    [[ -f "$netty/target/$release/bom.json" ]] && cp "$netty/target/$release/bom.json" "${out%.tar}.bom.json"
    rm -rf "$rootfs"
  done
}

static_image pause "$here/images/pause.c"
static_image memhog "$here/images/memhog.c"
netty_images
# The list RealNode imports: one "reference<TAB>tarball" line per image of this build.
printf '%s\n' "${current[@]}" > "$imagedir/current.list"
# Tarballs of earlier builds are never imported again: keep the cache to what this build made.
for tarball in "$imagedir"/*.tar; do
  [[ " ${current[*]} " == *"	$tarball "* ]] || rm -f "$tarball" "${tarball%.tar}.bom.json"
done
echo "$imagedir"
