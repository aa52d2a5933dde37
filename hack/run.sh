#!/usr/bin/env bash
# `make run`: runs the manager against the kubeconfig's cluster when one is reachable,
# else against a local control plane in .local/ with the samples applied.
# See docs/getting-started.md.
#
# Usage: hack/run.sh [-cluster=auto|local|kubeconfig] [-- manager flags...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"

assets=$(hack/envtest.sh)
go build -o bin/localcluster ./hack/localcluster
# exec: the tool receives Ctrl-C itself and stops the manager, kube-apiserver and etcd
# in order.
exec env KUBEBUILDER_ASSETS="${assets}" bin/localcluster -root . -dir .local \
  -manager bin/manager "$@"
