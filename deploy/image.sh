#!/usr/bin/env bash
# Builds the SP4N image from deploy/Dockerfile and checks that it runs. From the repository root:
#
#   deploy/image.sh build [TAG]   `docker build` when a Docker daemon answers; otherwise buildah, daemonless,
#                                 on the local Debian base (`base`, made first if missing) unless PYTHON_IMAGE
#                                 names another base
#   deploy/image.sh base          the local base: Debian 12 minbase with python3, venv and pip, made with
#                                 debootstrap from Debian's mirror and committed into buildah's storage,
#                                 where no registry with python:3.11-slim-bookworm can be reached
#   deploy/image.sh check [TAG]   runs the six services from the image (their own entry point, UID 10001,
#                                 read-only root, tmpfs /tmp, host network) on a database made for the check
#                                 on ADMIN_DATABASE_URL's server and dropped after, asks each for health
#                                 and sends one report from the portal through intake to verification and sla
#
# TAG defaults to sp4n:dev. The daemonless path needs root; it installs what it lacks with apt (buildah and
# debootstrap to build, podman and runc to run, postgresql-client for the check's database).
set -euo pipefail

cd "$(dirname "$0")/.."

TAG_DEFAULT=sp4n:dev
LOCAL_BASE=${LOCAL_BASE:-localhost/sp4n-python:3.11-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# chroot isolation needs no user namespaces or cgroups; `oci` works where the kernel allows them.
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
ADMIN_DATABASE_URL=${ADMIN_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
# The check's ports: gRPC PORT_BASE+1..+6 in the order of services/plumbing/config.py, metrics 1000 up,
# the portal's pages on PORTAL_CHECK_HTTP_PORT: away from the defaults, so a running `make run` is left alone,
# and below Linux's ephemeral range (32768-60999), where tests that ask for free ports get theirs.
PORT_BASE=${PORT_BASE:-20050}
PORTAL_CHECK_HTTP_PORT=${PORTAL_CHECK_HTTP_PORT:-18080}
CHECK_TIMEOUT_SECONDS=${CHECK_TIMEOUT_SECONDS:-180}
SERVICES=(intake verification routing sla notify portal)

log() { printf '%s image.sh: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

docker_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# Installs with apt (as root) the tools of the daemonless path that are missing, given as command=package.
install_missing() {
    local pair need=()
    for pair; do command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}"); done
    ((${#need[@]})) || return 0
    [ "$(id -u)" = 0 ] || die "missing: apt-get install ${need[*]}"
    log "installing with apt: ${need[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
}

image_exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }

make_base() {
    [ "$(id -u)" = 0 ] || die "debootstrap and buildah mount need root"
    install_missing buildah=buildah debootstrap=debootstrap
    local root
    BASE_CONTAINER=$(buildah from scratch)
    trap 'buildah rm "$BASE_CONTAINER" >/dev/null 2>&1' EXIT
    root=$(buildah mount "$BASE_CONTAINER")
    log "debootstrap bookworm (minbase, python3) from $DEBIAN_MIRROR"
    # What python:3.11-slim-bookworm has that the Dockerfile uses: `python` on PATH (python-is-python3),
    # venv with pip (python3-venv), CA certificates, netbase, tzdata, apt and the passwd tools.
    debootstrap --variant=minbase \
        --include=ca-certificates,netbase,tzdata,python3,python3-venv,python3-pip,python-is-python3 \
        bookworm "$root" "$DEBIAN_MIRROR" >&2
    # The official images follow bookworm-updates and the security archive; so does this one.
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' >&2
    # As in the official images: no apt lists, no downloaded packages, no host's resolver left behind.
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old "$root/etc/resolv.conf"
    : >"$root/etc/resolv.conf"
    buildah config --env LANG=C.UTF-8 --cmd python3 \
        --label org.opencontainers.image.description="Debian 12 minbase with python3 (debootstrap)" \
        "$BASE_CONTAINER"
    buildah commit --rm "$BASE_CONTAINER" "$LOCAL_BASE" >&2
    trap - EXIT
    log "base $LOCAL_BASE: $(buildah images --format '{{.ID}} {{.Size}}' "$LOCAL_BASE")"
}

# Build steps (RUN) see the host's CA bundle: behind a TLS-inspecting proxy, pip, npm and apt trust what the
# host trusts. A bind mount during RUN only; nothing of it is committed into the image.
ca_volume() {
    local bundle=/etc/ssl/certs/ca-certificates.crt
    [ -r "$bundle" ] && printf -- '--volume=%s:%s:ro\n' "$bundle" "$bundle"
    return 0
}

proxy_args() {
    local name
    for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!name:-}" ] && printf -- '--build-arg=%s=%s\n' "$name" "${!name}"
    done
    return 0
}

build() {
    local tag=${1:-$TAG_DEFAULT} start
    start=$(date +%s)
    local -a extra
    mapfile -t extra < <(proxy_args)
    if docker_answers; then
        log "docker build -> $tag"
        docker build -f deploy/Dockerfile ${PYTHON_IMAGE:+--build-arg PYTHON_IMAGE="$PYTHON_IMAGE"} \
            "${extra[@]}" -t "$tag" .
    else
        install_missing buildah=buildah debootstrap=debootstrap
        local base=${PYTHON_IMAGE:-$LOCAL_BASE}
        if [ -z "${PYTHON_IMAGE:-}" ] && ! image_exists "$base"; then make_base; fi
        mapfile -t -O "${#extra[@]}" extra < <(ca_volume)
        log "buildah bud (isolation $BUILDAH_ISOLATION) on $base -> $tag"
        buildah bud --layers --network host -f deploy/Dockerfile --build-arg PYTHON_IMAGE="$base" \
            "${extra[@]}" -t "$tag" .
    fi
    log "built $tag in $(( $(date +%s) - start )) s"
}

runtime() { if docker_answers; then echo docker; else echo podman; fi; }

# What `run` needs on this host, found by trying: nothing where the runtime's defaults work; where crun
# refuses (a cgroup v1/v2 hybrid) or the host may not raise rlimits (no CAP_SYS_RESOURCE, as in some VMs and
# containers), runc with the host's own open-files limit and a modest process limit. Sets RT (the command
# with its global options) and RUN_OPTIONS.
find_run_options() {
    local tag=$1
    RT=("$(runtime)") RUN_OPTIONS=()
    command -v "${RT[0]}" >/dev/null || die "no ${RT[0]} to run the image with"
    "${RT[@]}" run --rm --network host --entrypoint true "$tag" >/dev/null 2>&1 && return 0
    if [ "${RT[0]}" = podman ] && command -v runc >/dev/null; then
        RT=(podman --runtime runc)
        RUN_OPTIONS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
        if "${RT[@]}" run --rm --network host "${RUN_OPTIONS[@]}" --entrypoint true "$tag" >/dev/null 2>&1; then
            log "podman's defaults fail here; running with: ${RT[*]} run ${RUN_OPTIONS[*]}"
            return 0
        fi
    fi
    "${RT[@]}" run --rm --network host "${RUN_OPTIONS[@]}" --entrypoint true "$tag" >&2 || true
    die "cannot run $tag here (see above)"
}

# One report, submitted from the portal's container to intake as the portal submits one, must reach
# verification's queue and sla's process: intake's outbox relay, sla's service task and verification's
# queue working across the containers, not only each server answering.
SUBMIT_ONE_REPORT='
import os
from datetime import timedelta

import grpc

from services.plumbing import identity
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc

portal = identity.sign(identity.Caller("portal", identity.SERVICE), os.environ["SP4N_IDENTITY_KEY"],
                       lifetime=timedelta(minutes=5))
with grpc.insecure_channel(os.environ["INTAKE_SERVICE_ADDR"]) as channel:
    answer = intake_pb2_grpc.IntakeServiceStub(channel).SubmitReport(intake_pb2.SubmitReportRequest(
        idempotency_key="image-check", channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
        title="Lampu jalan mati di Jl. Raya Batulicin",
        description="Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan.",
        category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin km 3",
        reporter=intake_pb2.Reporter(name="Warga Batulicin", email="warga@contoh.id")),
        metadata=[(identity.METADATA_KEY, portal)], timeout=30)
print(answer.tracking_id)
'

report_crosses_the_containers() {
    local url=$1 tracking_id start counts
    start=$(date +%s)
    tracking_id=$("${RT[@]}" exec sp4n-check-portal python -c "$SUBMIT_ONE_REPORT") || {
        echo "a report: intake refused it"; return 1; }
    while :; do
        counts=$(psql -X -At "$url" -c "SELECT (SELECT count(*) FROM verification.queue WHERE status = 'pending')
            || ' ' || (SELECT count(*) FROM sla.instances WHERE waiting_for = '{verification_decided}')")
        if [ "$counts" = "1 1" ]; then
            echo "a report: $tracking_id submitted to intake, in verification's queue and waiting in sla's" \
                 "process for the decision after $(( $(date +%s) - start )) s"
            return 0
        fi
        if [ $(( $(date +%s) - start )) -ge 60 ]; then
            echo "a report: $tracking_id submitted, but after 60 s (pending in verification, waiting in sla): $counts"
            return 1
        fi
        sleep 1
    done
}

remove_the_check() {
    local svc
    for svc in "${SERVICES[@]}"; do "${RT[@]}" rm -f "sp4n-check-$svc" >/dev/null 2>&1 || true; done
    psql -q -X "$ADMIN_DATABASE_URL" -c "DROP DATABASE IF EXISTS $CHECK_DATABASE WITH (FORCE)" >/dev/null
}

check() {
    local tag=${1:-$TAG_DEFAULT} db url key i svc port failed=0
    docker_answers || install_missing podman=podman runc=runc
    install_missing psql=postgresql-client
    find_run_options "$tag"
    db="sp4n_image_check_$$"
    url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN_DATABASE_URL" "$db")
    key=$(head -c 24 /dev/urandom | base64)
    psql -q -X "$ADMIN_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
    CHECK_DATABASE=$db
    trap remove_the_check EXIT

    local -a env=(-e "DATABASE_URL=$url" -e "SP4N_IDENTITY_KEY=$key" -e "PORTAL_HTTP_HOST=127.0.0.1"
                  -e "PORTAL_HTTP_PORT=$PORTAL_CHECK_HTTP_PORT" -e "SP4N_DEMO_DATA=1")
    for i in "${!SERVICES[@]}"; do
        svc=${SERVICES[$i]}
        env+=(-e "${svc^^}_PORT=$((PORT_BASE + i + 1))" -e "${svc^^}_METRICS_PORT=$((PORT_BASE + 1000 + i + 1))")
        [ "$svc" = portal ] || env+=(-e "${svc^^}_SERVICE_ADDR=127.0.0.1:$((PORT_BASE + i + 1))")
    done
    if command -v ss >/dev/null; then
        local taken
        taken=$(ss -Hltn | awk '{print $4}' | grep -E ":($(
            seq -s '|' $((PORT_BASE + 1)) $((PORT_BASE + 6)))|$(
            seq -s '|' $((PORT_BASE + 1001)) $((PORT_BASE + 1006)))|$PORTAL_CHECK_HTTP_PORT)\$" || true)
        [ -z "$taken" ] || die "ports in use, set PORT_BASE or PORTAL_CHECK_HTTP_PORT: ${taken//$'\n'/ }"
    fi
    log "${RT[*]}: six containers from $tag on the host's network, database $db"
    for svc in "${SERVICES[@]}"; do
        "${RT[@]}" run -d --name "sp4n-check-$svc" --read-only --tmpfs /tmp --network host --cap-drop ALL \
            --security-opt no-new-privileges "${RUN_OPTIONS[@]}" "${env[@]}" "$tag" "services.$svc" >/dev/null
    done

    # Each answer comes from the image's own health check (services/plumbing/healthcheck.py), run inside.
    local deadline=$(( $(date +%s) + CHECK_TIMEOUT_SECONDS ))
    for i in "${!SERVICES[@]}"; do
        svc=${SERVICES[$i]} port=$((PORT_BASE + i + 1))
        until "${RT[@]}" exec "sp4n-check-$svc" python -m services.plumbing.healthcheck "$port"; do
            if [ "$(date +%s)" -ge "$deadline" ] \
                || [ "$("${RT[@]}" inspect -f '{{.State.Running}}' "sp4n-check-$svc")" != true ]; then
                port=""; break
            fi
            sleep 1
        done
        if [ -z "$port" ]; then
            failed=1
            echo "$svc: NOT SERVING"
            "${RT[@]}" logs --tail 30 "sp4n-check-$svc" 2>&1 | sed 's/^/    /'
            continue
        fi
        echo "$svc: SERVING on $port (grpc.health.v1), as $("${RT[@]}" exec "sp4n-check-$svc" id -u):$("${RT[@]}" exec \
            "sp4n-check-$svc" id -g), root file system $("${RT[@]}" exec "sp4n-check-$svc" \
            sh -c 'touch /probe 2>/dev/null && echo writable || echo read-only')"
    done
    if "${RT[@]}" exec sp4n-check-portal \
        python -m services.plumbing.healthcheck "http://127.0.0.1:$PORTAL_CHECK_HTTP_PORT/healthz"; then
        echo "portal: /healthz OK on $PORTAL_CHECK_HTTP_PORT"
    else
        failed=1
        echo "portal: /healthz NOT OK on $PORTAL_CHECK_HTTP_PORT"
    fi
    [ $failed = 0 ] && { report_crosses_the_containers "$url" || failed=1; }
    # Serving is not the whole story: a relay or worker may be failing behind a healthy server.
    for svc in "${SERVICES[@]}"; do
        local errors
        errors=$("${RT[@]}" logs "sp4n-check-$svc" 2>&1 | grep -E '"level": "(ERROR|CRITICAL)"|^Traceback' || true)
        [ -z "$errors" ] && continue
        failed=1
        echo "$svc: errors in its log:"
        echo "$errors" | tail -5 | sed 's/^/    /'
    done
    return $failed
}

case ${1:-} in
    build) build "${2:-}" ;;
    base) make_base ;;
    check) check "${2:-}" ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
