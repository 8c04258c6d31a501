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

# helm's version ldflag makes `helm version` report the module's release, not v3 main.
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"

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
