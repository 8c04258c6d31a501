#!/usr/bin/env bash
# Builds the tools admins deploy and watch the operator with, for the tests of the Helm
# chart and the alerting rules: helm and promtool, from the pinned Go modules beside this
# script (helm/, prometheus/), into the same cache directory as the test control plane.
# A binary already in the cache is never built again; each carries its module version in
# its name, so a version bump builds anew.
#
#   build-admin-tools.sh           build what is missing, print the binaries' paths
#   build-admin-tools.sh --paths   print the paths only (KEY=VALUE lines), build nothing
#   build-admin-tools.sh NAME...   build only these (helm, promtool)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(bash "$here/build.sh" --dir)
version_of() { awk -v m="$2" '$1 == "require" && $2 == m {print $3}' "$here/$1/go.mod"; }
helm_version=$(version_of helm helm.sh/helm/v3)
prometheus_version=$(version_of prometheus github.com/prometheus/prometheus)
helm_bin="$dir/helm-$helm_version"
promtool_bin="$dir/promtool-$prometheus_version"

print_paths() {
  echo "helm=$helm_bin"
  echo "promtool=$promtool_bin"
}

if [[ ${1:-} == --paths ]]; then
  print_paths
  exit 0
fi

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(helm promtool)

# As Helm's own Makefile does: `helm version` reports the module's release, and `helm lint`
# and `helm template` assume the Kubernetes minor of the client-go Helm is built with
# (not 1.20, which a chart's kubeVersion would refuse).
client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$here/helm/go.mod")
k8s_minor=${client_go#v0.}
k8s_minor=${k8s_minor%%.*}
[[ -n $k8s_minor ]] || { echo "no k8s.io/client-go in helm/go.mod" >&2; exit 1; }
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done

mkdir -p "$dir"
for name in "${wanted[@]}"; do
  case $name in
    helm) out=$helm_bin wrapper=helm pkg=helm.sh/helm/v3/cmd/helm ldflags=$helm_ldflags
      about="about 3 minutes, with the Helm and Kubernetes modules' download" ;;
    promtool) out=$promtool_bin wrapper=prometheus pkg=github.com/prometheus/prometheus/cmd/promtool
      ldflags="-s -w" about="about 4 minutes, with the Prometheus modules' download" ;;
    *) echo "unknown binary: $name" >&2; exit 2 ;;
  esac
  [[ -x $out ]] && continue
  start=$(date +%s)
  # What a first build costs on 2 cores, so that minutes of compiling are not silence.
  echo "building $(basename "$out") into $dir (once per machine, $about)" >&2
  (cd "$here/$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "built $(basename "$out") in $(( $(date +%s) - start ))s" >&2
done
print_paths
