#!/usr/bin/env bash
# Builds what the build-cluster simulation (bench/simulation/) adds to the test control
# plane: kube-scheduler (through build.sh), kwok and Tekton Pipelines (controller, admission
# webhook, remote resolvers), from the pinned Go modules beside this script (the three Tekton
# commands from one module version), into the same cache directory as the test
# control plane. A binary already in the cache is never built again; the kwok and Tekton
# binaries carry their module version in their names, so a version bump builds anew.
#
#   build-simulation.sh           build what is missing, print the binaries' paths
#   build-simulation.sh NAME...   build only these: kwok, tekton-controller, tekton-webhook,
#                                 tekton-resolvers (kube-scheduler is always built)
#   build-simulation.sh --paths   print the paths only (KEY=VALUE lines), build and fetch nothing
#
# The paths: scheduler, kwok, tekton, tekton_webhook, tekton_resolvers (binaries),
# kwok_source and tekton_source (the
# modules' directories in the Go module cache: Tekton's CRDs and config maps, and kwok's
# node stages, are read from there at run time and never copied into this repository;
# empty with --paths when the module is not downloaded, which a build does).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(bash "$here/build.sh" --dir)
version_of() { awk -v m="$2" '$1 == "require" && $2 == m {print $3}' "$here/$1/go.mod"; }
kwok_version=$(version_of kwok sigs.k8s.io/kwok)
tekton_version=$(version_of tekton github.com/tektoncd/pipeline)
kwok_bin="$dir/kwok-$kwok_version"
tekton_bin="$dir/tekton-controller-$tekton_version"
tekton_webhook_bin="$dir/tekton-webhook-$tekton_version"
tekton_resolvers_bin="$dir/tekton-resolvers-$tekton_version"

# The module's directory in the Go module cache; downloaded first if FETCH is set.
module_dir() {
  local wrapper=$1 module=$2
  [[ -z ${FETCH:-} ]] || (cd "$here/$wrapper" && go mod download "$module") >&2
  (cd "$here/$wrapper" && go list -m -f '{{.Dir}}' "$module" 2>/dev/null) || true
}

print_paths() {
  echo "scheduler=$dir/kube-scheduler"
  echo "kwok=$kwok_bin"
  echo "tekton=$tekton_bin"
  echo "tekton_webhook=$tekton_webhook_bin"
  echo "tekton_resolvers=$tekton_resolvers_bin"
  echo "kwok_version=$kwok_version"
  echo "tekton_version=$tekton_version"
  echo "kwok_source=$(module_dir kwok sigs.k8s.io/kwok)"
  echo "tekton_source=$(module_dir tekton github.com/tektoncd/pipeline)"
}

if [[ ${1:-} == --paths ]]; then
  print_paths
  exit 0
fi

bash "$here/build.sh" kube-scheduler >/dev/null

build() {
  local out=$1 wrapper=$2 pkg=$3 start
  [[ -x $out ]] && return 0
  start=$(date +%s)
  echo "building $(basename "$out") into $dir (once per machine)" >&2
  (cd "$here/$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "built $(basename "$out") in $(( $(date +%s) - start ))s" >&2
}
wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(kwok tekton-controller tekton-webhook tekton-resolvers)
for name in "${wanted[@]}"; do
  case $name in
    kwok) build "$kwok_bin" kwok sigs.k8s.io/kwok/cmd/kwok ;;
    tekton-controller) build "$tekton_bin" tekton github.com/tektoncd/pipeline/cmd/controller ;;
    tekton-webhook) build "$tekton_webhook_bin" tekton github.com/tektoncd/pipeline/cmd/webhook ;;
    tekton-resolvers) build "$tekton_resolvers_bin" tekton github.com/tektoncd/pipeline/cmd/resolvers ;;
    *) echo "unknown binary: $name" >&2; exit 2 ;;
  esac
done
FETCH=1 print_paths
