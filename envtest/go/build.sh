#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kubectl and, on
# request, kube-scheduler) from the pinned Go modules beside this script into a cache
# outside the repository. A binary already in the cache is never built again.
#
#   build.sh            build what is missing, print the cache directory
#   build.sh --dir      print the cache directory only
#   build.sh NAME...    build only these binaries
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kube_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/kube/go.mod")
etcd_version=$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$here/etcd/go.mod")
cache_root=${BNO_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/build-namespace-operator/testenv}
dir="$cache_root/kube-$kube_version-etcd-$etcd_version"

if [[ ${1:-} == --dir ]]; then
  echo "$dir"
  exit 0
fi

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(etcd kube-apiserver kube-controller-manager kubectl)

# The version ldflags make the server report its real version instead of v0.0.0, which
# clients that check the server version would refuse.
minor=${kube_version#v1.}
minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "$dir"
for name in "${wanted[@]}"; do
  [[ -x "$dir/$name" ]] && continue
  start=$(date +%s)
  # What a first build costs on 2 cores, so that minutes of compiling are not silence.
  case $name in
    etcd) about="about 1 minute" ;;
    kube-apiserver) about="about 3 minutes, with the Kubernetes modules' download" ;;
    *) about="about 1 minute" ;;
  esac
  echo "building $name into $dir (once per machine, $about)" >&2
  case $name in
    etcd)
      (cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
        -o "$dir/.$name.tmp" go.etcd.io/etcd/server/v3) ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      (cd "$here/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$kube_ldflags" \
        -o "$dir/.$name.tmp" "k8s.io/kubernetes/cmd/$name") ;;
    *) echo "unknown binary: $name" >&2; exit 2 ;;
  esac
  mv "$dir/.$name.tmp" "$dir/$name"
  echo "built $name in $(( $(date +%s) - start ))s" >&2
done
echo "$dir"
