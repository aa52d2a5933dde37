#!/usr/bin/env bash
# `make deploy IMG=...`: installs orgaccess (config/default) in the kubeconfig's cluster
# with the manager's image IMG, through a kustomize overlay written for the purpose, so
# the committed manifests keep their placeholder. See docs/getting-started.md.
#
# Usage: hack/deploy.sh <registry>/<repository>:<tag>|<registry>/<repository>@sha256:<digest> [kubectl apply flags...]
# Environment: KUBECTL (default kubectl). The overlay is bin/deploy: kustomize takes a
# base only by a relative path, and this one is the same on every machine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

image=${1:?usage: hack/deploy.sh <registry>/<repository>:<tag> [kubectl apply flags...]}
shift
case "${image}" in
  *@sha256:*) name=${image%%@*} pin="    digest: ${image#*@}" ;;
  *)
    last=${image##*/}
    if [[ "${last}" != *:* ]]; then
      echo "hack/deploy.sh: ${image} names no tag or digest; give <repository>:<tag> or <repository>@sha256:<digest>" >&2
      exit 1
    fi
    name=${image%:*} pin="    newTag: ${image##*:}" ;;
esac

dir=${root}/bin/deploy
mkdir -p "${dir}"
# The image config/manager names is the placeholder ghcr.io/orgaccess/orgaccess.
cat > "${dir}/kustomization.yaml" <<YAML
# Written by hack/deploy.sh: config/default with the manager's image ${image}.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../config/default
images:
  - name: ghcr.io/orgaccess/orgaccess
    newName: ${name}
${pin}
YAML
exec "${KUBECTL:-kubectl}" apply --server-side -k "${dir}" "$@"
