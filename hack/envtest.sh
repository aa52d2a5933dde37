#!/usr/bin/env bash
# Prints a directory holding kube-apiserver, etcd and kubectl for envtest.
#
# No prebuilt binary can be downloaded on our machines, so setup-envtest is of no use:
# the binaries are built from the Go module proxy instead, once per machine, and cached
# by version under the user's cache directory. KUBEBUILDER_ASSETS, when set, wins.
#
# Usage: hack/envtest.sh            prints the directory (building it when missing)
# Env:   K8S_VERSION   Kubernetes release to build (default: from go.mod's k8s.io/api)
#        ETCD_VERSION  etcd server release (default: the one that Kubernetes release uses)
set -euo pipefail

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${K8S_VERSION:-}" ]]; then
  api=$(cd "${root}" && go list -m -f '{{.Version}}' k8s.io/api)   # v0.37.2
  K8S_VERSION="v1.${api#v0.}"
fi
staging_version="v0.${K8S_VERSION#v1.}"

gomod() { go list -m -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'; }
k8s_mod=$(gomod "k8s.io/kubernetes@${K8S_VERSION}")
if [[ -z "${ETCD_VERSION:-}" ]]; then
  ETCD_VERSION=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "${k8s_mod}")
fi

# Bump recipe when the way the binaries are built changes, so caches are rebuilt.
recipe=2
cache=${XDG_CACHE_HOME:-${HOME}/.cache}/orgaccess/envtest/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-r${recipe}
built() { [[ -x "${cache}/kube-apiserver" && -x "${cache}/etcd" && -x "${cache}/kubectl" ]]; }
if built; then
  echo "${cache}"
  exit 0
fi

# One build per machine: callers that find the cache empty at the same time (make test's
# packages, a scale run, a second checkout) wait for the first one's build, then use it.
# flock is util-linux's, which Debian marks essential; the lock is released on exit.
mkdir -p "$(dirname "${cache}")"
exec 9>"${cache}.lock"
if ! flock -n 9; then
  echo "Waiting for another hack/envtest.sh to finish building ${cache}" >&2
  flock 9
fi
if built; then
  echo "${cache}"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
echo "Building envtest binaries (Kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION}) into ${cache}; this takes several minutes once per machine" >&2

# Kubernetes requires its staging modules at v0.0.0 and replaces them with local paths;
# a module that depends on it must replace each with its published release instead.
mkdir -p "${work}/k8s"
{
  echo "module envtestbuild"
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"${staging_version}"'#p' "${k8s_mod}"
} > "${work}/k8s/go.mod"
cat > "${work}/k8s/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
(cd "${work}/k8s" && go mod tidy -e >/dev/null 2>&1 || true
 minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
 version_pkg=k8s.io/component-base/version
 ldflags="-s -w -X ${version_pkg}.gitVersion=${K8S_VERSION} -X ${version_pkg}.gitMajor=1 -X ${version_pkg}.gitMinor=${minor} -X ${version_pkg}.gitTreeState=clean"
 cd "${work}/k8s" && go build -trimpath -ldflags="${ldflags}" -o "${work}/bin/" \
   k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)

mkdir -p "${work}/etcd"
cat > "${work}/etcd/go.mod" <<GOMOD
module etcdbuild
go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')
require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
GOMOD
cat > "${work}/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
(cd "${work}/etcd" && go mod tidy >/dev/null && go build -trimpath -ldflags='-s -w' -o "${work}/bin/etcd" .)

rm -rf "${cache}.tmp" && mv "${work}/bin" "${cache}.tmp" && rm -rf "${cache}" && mv "${cache}.tmp" "${cache}"
echo "${cache}"
