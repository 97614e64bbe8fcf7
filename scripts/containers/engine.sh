# Sourced by the container scripts: picks the container engine and configures it for this project.
#
# docker when a docker daemon answers; else podman, installed from Debian's packages when missing
# (root only). podman gets a containers.conf of its own (.containers/containers.conf, exported as
# CONTAINERS_CONF, never the host's files): the runc runtime (crun refuses hybrid cgroup layouts)
# and container ulimits no higher than this host's hard limits (setrlimit fails otherwise).
# Every engine call goes through `engine_run SECONDS ...`, so a hung call ends with an error.

set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$REPO/.containers"
mkdir -p "$STATE"

engine_run() {  # engine_run SECONDS ARGS...: the engine, killed after SECONDS
    local seconds="$1"; shift
    timeout --kill-after=10 "$seconds" "$ENGINE" "$@"
}

_install_podman() {
    if [ "$(id -u)" != 0 ]; then
        echo "containers: expected docker or podman, found neither (apt-get install podman runc as root)" >&2
        exit 2
    fi
    echo "containers: installing podman from Debian's packages" >&2
    local packages=(podman runc debootstrap fuse-overlayfs slirp4netns uidmap)
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 \
        || { timeout 600 apt-get update -q >/dev/null && timeout 600 apt-get install -y -q "${packages[@]}" >/dev/null; }
}

_configure_podman() {
    local nofile nproc
    nofile="$(ulimit -Hn)"; [ "$nofile" = unlimited ] && nofile=1048576
    nproc="$(ulimit -Hu)"; [ "$nproc" = unlimited ] && nproc=32768
    [ "$nproc" -gt 32768 ] && nproc=32768
    cat > "$STATE/containers.conf" <<CONF
# Written by scripts/containers/engine.sh for this project only (CONTAINERS_CONF).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

log_driver = "k8s-file"

[engine]
runtime = "runc"
events_logger = "file"
CONF
    export CONTAINERS_CONF="$STATE/containers.conf"
}

if [ -z "${ENGINE:-}" ]; then
    if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
        ENGINE=docker
    else
        command -v podman >/dev/null && command -v runc >/dev/null || _install_podman
        ENGINE=podman
    fi
fi
export ENGINE
[ "$ENGINE" = podman ] && _configure_podman
true
