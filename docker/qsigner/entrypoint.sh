#!/bin/sh
# qsigner container entrypoint: check the environment, then exec qsigner, so that qsigner
# itself receives SIGTERM (the spool finishes the request in hand and exits 0).
#
#   entrypoint.sh [spool [--once]]   sign the requests dropped in the spool (the default)
#   entrypoint.sh healthcheck        exit 0 while the spool's heartbeat is fresh
#   entrypoint.sh COMMAND [ARGS]     any other qsigner command: watcher-export, public, version
#
# Variables: docs/operator.md (QSIGNER_*) and docs/docker.md (the spool). In a container the
# seed and the passphrase come only from files (a Docker secret): a variable's value shows
# in `docker inspect`. A bad setting stops the start with exit status 2, naming the variable.
set -eu

EXIT_USAGE=2
log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit "$EXIT_USAGE"; }

QSIGNER_DATA_DIR="${QSIGNER_DATA_DIR:-/home/docker/data}"
export QSIGNER_DATA_DIR
SPOOL="${QSIGNER_SPOOL_DIR:-$QSIGNER_DATA_DIR/spool}"

healthcheck() { # the spool touches its heartbeat on every poll
    poll="${QSIGNER_SPOOL_POLL:-1}"
    poll="${poll%%.*}"
    case "$poll" in '' | *[!0-9]*) poll=1 ;; esac
    beat="$SPOOL/heartbeat"
    [ -f "$beat" ] || { echo "no heartbeat at $beat"; exit 1; }
    age=$(($(date +%s) - $(stat -c %Y "$beat")))
    [ "$age" -le $((poll * 3 + 30)) ] || { echo "heartbeat is ${age}s old"; exit 1; }
}

check_secret_files() {
    for name in QSIGNER_SECRET QSIGNER_PASSPHRASE; do
        eval "value=\${$name:-}"
        [ -z "$value" ] || die "$name: pass it as a file (${name}_FILE, a Docker secret); a variable shows in docker inspect"
        eval "file=\${${name}_FILE:-}"
        if [ -n "$file" ] && ! [ -r "$file" ]; then die "${name}_FILE: cannot read $file"; fi
    done
    case "${QSIGNER_OFFLINE:-1}" in
        1 | true | yes | on) ;;
        *) die "QSIGNER_OFFLINE: the container signs with the offline guard on; remove the variable" ;;
    esac
}

command="${1:-spool}"
[ "$#" -eq 0 ] || shift
case "$command" in
    healthcheck)
        healthcheck
        ;;
    version | help | --help | -h)
        exec qsigner "$command" "$@"
        ;;
    spool | sign)
        check_secret_files
        [ -n "${QSIGNER_SECRET_FILE:-}" ] || die "QSIGNER_SECRET_FILE: not set; mount the seed as a Docker secret"
        [ -n "${QSIGNER_NETWORK:-}" ] || die "QSIGNER_NETWORK: not set (mainnet, testnet, testnet4, signet or regtest)"
        exec qsigner "$command" "$@"
        ;;
    *)
        check_secret_files
        exec qsigner "$command" "$@"
        ;;
esac
