#!/usr/bin/env bash
# make images: the Spark image (flmprep-spark) and the trainer image (flmprep-train).
#
# With podman, the build sees this host's CA certificates and pip configuration (its indexes,
# wheel folders and constraints) through read-only build mounts, so pip inside the build trusts
# and finds what pip on the host does; nothing of them stays in the images. Where the Dockerfiles'
# FROM image cannot be pulled (no registry), a stand-in is made first from Debian's packages:
# debootstrap (minbase, Python 3.11) imported as an image, cached by its inputs, with a venv at
# /usr/local like the official python image, tagged as the FROM image. With docker (a daemon and a
# registry) the Dockerfiles build unchanged.
#
# Environment: TORCH_INDEX (as for make: empty = pip's configured index), IMAGES (default: both).
set -euo pipefail
source "$(dirname "$0")/engine.sh"
cd "$REPO"

FROM_IMAGE=docker.io/library/python:3.11-slim-bookworm
SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,ca-certificates

mirror() {  # the Debian mirror this host's apt uses
    local uri
    uri="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

make_stand_in() {
    local key base work
    key="$(printf '%s\n' "$SUITE" "$BASE_PACKAGES" "$(mirror)" | sha256sum | cut -c1-16)"
    base="localhost/flmprep-debian-base:$key"
    if ! engine_run 60 image exists "$base"; then
        echo "images: no registry for $FROM_IMAGE; making $base from Debian's packages" >&2
        work="$(mktemp -d "$STATE/debootstrap.XXXXXX")"
        timeout 900 debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$work/root" "$(mirror)" \
            >"$STATE/debootstrap.log" 2>&1 || { tail -n 20 "$STATE/debootstrap.log" >&2; exit 1; }
        tar -C "$work/root" -c . | engine_run 300 import - "$base" >/dev/null 2>&1
        rm -rf "$work"
    fi
    printf 'FROM %s\nRUN python3 -m venv /usr/local && /usr/local/bin/python -m pip --version\n' "$base" \
        | engine_run 600 build --format docker -t "$FROM_IMAGE" -f - "$STATE" >"$STATE/build-stand-in.log" 2>&1
    echo "images: $FROM_IMAGE is a local stand-in (Debian $SUITE's Python 3.11 in a venv at /usr/local)" >&2
}

host_pip_config() {  # this host's pip settings (files and PIP_* variables) as KEY=VALUE lines
    local pip="$REPO/.venv/bin/pip"
    [ -x "$pip" ] || pip="python3 -m pip"
    $pip config list 2>/dev/null | sed -E "s/^[^.]*\.([a-z-]+)='(.*)'$/\1=\2/" | sort -u -t= -k1,1
}

build_mounts() {  # podman: the host's CA bundle and pip configuration, read-only, for the build only
    # pip's settings become one global configuration file (its `cert` pointing at the bundle, which
    # goes to a path of its own so the image's /etc/ssl/certs stays writable for apt); every local
    # path those settings name (wheel folders, file:// indexes, constraints) is mounted as it is.
    local key value token bundle=/etc/ssl/certs/ca-certificates.crt
    : > "$STATE/pip.conf.new"
    echo "[global]" >> "$STATE/pip.conf.new"
    while IFS='=' read -r key value; do
        [ -n "$key" ] || continue
        if [ "$key" = cert ]; then bundle="$value"; continue; fi
        echo "$key = $value" >> "$STATE/pip.conf.new"
        for token in $value; do
            token="${token#file://}"
            token="${token%/simple}"  # an index folder: its files lie beside it
            [[ "$token" == /* && -e "$token" ]] && printf -- '--volume=%s:%s:ro\n' "$token" "$token"
        done
    done < <(host_pip_config)
    if [ -f "$bundle" ]; then
        echo "cert = /run/host-ca/ca-certificates.crt" >> "$STATE/pip.conf.new"
        printf -- '--volume=%s:/run/host-ca/ca-certificates.crt:ro\n' "$(readlink -f "$bundle")"
    fi
    mv "$STATE/pip.conf.new" "$STATE/pip.conf"
    printf -- '--volume=%s:/etc/pip.conf:ro\n' "$STATE/pip.conf"
}

ensure_from_image() {
    engine_run 60 image exists "$FROM_IMAGE" && return
    engine_run 180 pull -q "$FROM_IMAGE" >/dev/null 2>&1 && return
    [ "$ENGINE" = podman ] || { echo "images: expected to pull $FROM_IMAGE, could not" >&2; exit 1; }
    make_stand_in
}

build() {  # build NAME DOCKERFILE [ARGS...]
    local name="$1" file="$2"; shift 2
    local -a extra=()
    if [ "$ENGINE" = podman ]; then
        mapfile -t extra < <(build_mounts)
        extra+=(--format docker --ignorefile "$file.dockerignore")
    fi
    echo "images: building $name ($ENGINE)" >&2
    engine_run 1800 build "${extra[@]}" "$@" -f "$file" -t "$name" . >"$STATE/build-$name.log" 2>&1 \
        || { tail -n 30 "$STATE/build-$name.log" >&2; exit 1; }
    echo "images: $name $(engine_run 60 image inspect --format '{{.Size}}' "$name" | awk '{printf "%.0f MB", $1/1e6}')" >&2
}

ensure_from_image
for image in ${IMAGES:-spark train}; do
    case "$image" in
        spark) build flmprep-spark docker/spark.Dockerfile ;;
        train) build flmprep-train docker/trainer.Dockerfile --build-arg "TORCH_INDEX=${TORCH_INDEX-}" ;;
        *) echo "images: expected spark or train, found $image" >&2; exit 2 ;;
    esac
done
