#!/bin/sh
# Bitcoin Core watcher entrypoint: write bitcoin.conf from the environment at every start,
# then exec bitcoind, so that bitcoind itself receives SIGTERM and shuts down cleanly.
#
#   entrypoint.sh [-option ...]   start bitcoind (options are passed on to it)
#   entrypoint.sh healthcheck     exit 0 when the node answers RPC
#   entrypoint.sh COMMAND ...     run another command (bitcoin-cli, sh) without writing a config
#
# Every variable is listed in docs/docker.md. A bad one stops the start with exit status 2 and
# a message naming it. The RPC password never reaches the config: only its rpcauth hash does
# (HMAC-SHA256 keyed with a fresh salt, as share/rpcauth/rpcauth.py computes it).
# BITCOIN_WATCHER_EXPORT[_FILE] (qsigner watcher-export) is imported into a watch-only
# descriptor wallet by a background job once RPC answers; a marker in the data directory
# records what was imported, so a restart imports again only when the export changed.
set -eu

EXIT_USAGE=2
DATA="${BITCOIN_DATA_DIR:-/home/docker/data}"
CONF="$DATA/bitcoin.conf"

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit "$EXIT_USAGE"; }

check_uint() { # NAME VALUE
    case "$2" in '' | *[!0-9]*) die "$1: expected a whole number, got '$2'" ;; esac
}

check_bool() { # NAME VALUE -> prints 1 or 0
    case "$2" in
        1 | true | yes | on) echo 1 ;;
        0 | false | no | off) echo 0 ;;
        *) die "$1: expected 1/true/yes/on or 0/false/no/off, got '$2'" ;;
    esac
}

check_name() { # NAME VALUE: user and wallet names
    case "$2" in '' | *[!A-Za-z0-9_.-]*) die "$1: expected letters, digits, '_', '.' or '-', got '$2'" ;; esac
}

read_secret() { # NAME: print $NAME or the content of the file $NAME_FILE (exactly one)
    eval "direct=\${$1:-}"
    eval "file=\${$1_FILE:-}"
    if [ -n "$direct" ] && [ -n "$file" ]; then die "$1 / $1_FILE: set exactly one"; fi
    if [ -n "$file" ]; then
        [ -f "$file" ] && [ -r "$file" ] || die "$1_FILE: cannot read $file"
        cat "$file" # command substitution drops the trailing newline
    else
        printf '%s' "$direct"
    fi
}

rpcauth_line() { # USER PASSWORD -> rpcauth=USER:SALT$HMAC
    salt=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    digest=$(printf '%s' "$2" | openssl dgst -sha256 -hmac "$salt" -r | cut -d ' ' -f 1)
    if [ "${#salt}" -ne 32 ] || [ "${#digest}" -ne 64 ]; then
        log "rpcauth: no salt or no SHA-256 HMAC (od, openssl)"
        exit 1
    fi
    printf 'rpcauth=%s:%s$%s\n' "$1" "$salt" "$digest"
}

case "${1:-}" in
    healthcheck) exec bitcoin-cli -datadir="$DATA" -rpcclienttimeout=30 getblockchaininfo >/dev/null ;;
    '' | -*) ;;
    *) exec "$@" ;;
esac

# ---- the network and its section ----
NETWORK="${BITCOIN_NETWORK:-regtest}"
case "$NETWORK" in
    mainnet) CHAIN=main RPC_PORT=8332 ;;
    testnet) CHAIN=test RPC_PORT=18332 ;;
    testnet4) CHAIN=testnet4 RPC_PORT=48332 ;;
    signet) CHAIN=signet RPC_PORT=38332 ;;
    regtest) CHAIN=regtest RPC_PORT=18443 ;;
    *) die "BITCOIN_NETWORK: expected mainnet, testnet, testnet4, signet or regtest, got '$NETWORK'" ;;
esac
SECTION="$CHAIN" # bitcoin.conf sections: [main] [test] [testnet4] [signet] [regtest]

# ---- RPC ----
RPC_PORT="${BITCOIN_RPC_PORT:-$RPC_PORT}"
check_uint BITCOIN_RPC_PORT "$RPC_PORT"
[ "$RPC_PORT" -ge 1 ] && [ "$RPC_PORT" -le 65535 ] || die "BITCOIN_RPC_PORT: out of range: $RPC_PORT"
RPC_BIND="${BITCOIN_RPC_BIND:-0.0.0.0}"
case "$RPC_BIND" in '' | *[!][0-9A-Fa-f.:]*) die "BITCOIN_RPC_BIND: expected an IP address, got '$RPC_BIND'" ;; esac
RPC_ALLOWIP="${BITCOIN_RPC_ALLOWIP:-127.0.0.1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16}"
RPC_ALLOWIP=$(printf '%s' "$RPC_ALLOWIP" | tr ',' ' ')
for net in $RPC_ALLOWIP; do
    case "$net" in *[!0-9A-Fa-f.:/]*) die "BITCOIN_RPC_ALLOWIP: expected addresses or subnets, got '$net'" ;; esac
done
RPC_USER="${BITCOIN_RPC_USER:-}"
RPC_PASSWORD=$(read_secret BITCOIN_RPC_PASSWORD)
if [ -n "$RPC_USER" ]; then
    check_name BITCOIN_RPC_USER "$RPC_USER"
    [ -n "$RPC_PASSWORD" ] || die "BITCOIN_RPC_PASSWORD / BITCOIN_RPC_PASSWORD_FILE: required with BITCOIN_RPC_USER"
elif [ -n "$RPC_PASSWORD" ]; then
    die "BITCOIN_RPC_USER: required with BITCOIN_RPC_PASSWORD"
fi

# ---- node ----
PRUNE="${BITCOIN_PRUNE:-0}"
check_uint BITCOIN_PRUNE "$PRUNE"
if [ "$PRUNE" -gt 1 ] && [ "$PRUNE" -lt 550 ]; then
    die "BITCOIN_PRUNE: 0 (off), 1 (manual) or at least 550 MiB, got $PRUNE"
fi
TXINDEX=$(check_bool BITCOIN_TXINDEX "${BITCOIN_TXINDEX:-0}")
if [ "$TXINDEX" = 1 ] && [ "$PRUNE" != 0 ]; then die "BITCOIN_TXINDEX: cannot be used with BITCOIN_PRUNE"; fi
DBCACHE="${BITCOIN_DBCACHE:-}"
[ -z "$DBCACHE" ] || check_uint BITCOIN_DBCACHE "$DBCACHE"
LISTEN=$(check_bool BITCOIN_LISTEN "${BITCOIN_LISTEN:-1}")
FALLBACKFEE="${BITCOIN_FALLBACKFEE:-}"
case "$FALLBACKFEE" in
    *[!0-9.]* | *.*.* | .* | *.) die "BITCOIN_FALLBACKFEE: expected BTC/kvB like 0.0002, got '$FALLBACKFEE'" ;;
esac
EXTRA_CONF="${BITCOIN_EXTRA_CONF:-}"
number=0
while IFS= read -r line; do # values are never quoted back: a line may hold a secret
    number=$((number + 1))
    case "$line" in
        '' | '#'*) ;;
        rpcpassword=* | rpcuser=*) die "BITCOIN_EXTRA_CONF: line $number: ${line%%=*}: use BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD_FILE (an rpcauth hash, never a plain password)" ;;
        chain=* | regtest=* | testnet=* | testnet4=* | signet=* | datadir=* | conf=* | includeconf=*)
            die "BITCOIN_EXTRA_CONF: line $number: ${line%%=*} is set by the entrypoint (BITCOIN_NETWORK, BITCOIN_DATA_DIR)" ;;
        [a-z]*=*) case "${line%%=*}" in *[!a-z0-9]*) die "BITCOIN_EXTRA_CONF: line $number: bad option name" ;; esac ;;
        *) die "BITCOIN_EXTRA_CONF: line $number: expected option=value" ;;
    esac
done <<EOF
$EXTRA_CONF
EOF

# ---- the watch-only wallet ----
WALLET="${BITCOIN_WALLET:-watch}"
check_name BITCOIN_WALLET "$WALLET"
WATCHER_EXPORT=$(read_secret BITCOIN_WATCHER_EXPORT)
if [ -n "$WATCHER_EXPORT" ]; then
    case "$(printf '%s' "$WATCHER_EXPORT" | tr -d ' \t\r\n' | cut -c 1)" in
        '[') ;;
        *) die "BITCOIN_WATCHER_EXPORT: expected the JSON array of 'qsigner watcher-export'" ;;
    esac
fi
IMPORT_TIMEOUT="${BITCOIN_IMPORT_TIMEOUT:-3600}"
check_uint BITCOIN_IMPORT_TIMEOUT "$IMPORT_TIMEOUT"

# ---- write bitcoin.conf (atomically, 0600) ----
[ -d "$DATA" ] && [ -w "$DATA" ] || die "BITCOIN_DATA_DIR: $DATA is not a writable directory"
umask 077
{
    echo "# Written by the entrypoint from the environment at every start: edits here are lost."
    echo "chain=$CHAIN"
    echo
    echo "[$SECTION]"
    echo "server=1"
    echo "printtoconsole=1"
    echo "rpcport=$RPC_PORT"
    echo "rpcbind=$RPC_BIND"
    for net in $RPC_ALLOWIP; do echo "rpcallowip=$net"; done
    if [ -n "$RPC_USER" ]; then rpcauth_line "$RPC_USER" "$RPC_PASSWORD"; fi
    echo "listen=$LISTEN"
    echo "prune=$PRUNE"
    echo "txindex=$TXINDEX"
    [ -z "$DBCACHE" ] || echo "dbcache=$DBCACHE"
    [ -z "$FALLBACKFEE" ] || echo "fallbackfee=$FALLBACKFEE"
    printf '%s\n' "$EXTRA_CONF" | grep -v -e '^$' -e '^#' || true
} >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
unset RPC_PASSWORD BITCOIN_RPC_PASSWORD
log "wrote $CONF for $NETWORK ([$SECTION], RPC port $RPC_PORT${RPC_USER:+, rpcauth user $RPC_USER})"

import_watcher_export() {
    cli() { bitcoin-cli -datadir="$DATA" "$@"; }
    if ! cli -rpcwait -rpcwaittimeout="$IMPORT_TIMEOUT" getblockchaininfo >/dev/null; then
        log "watcher import: RPC did not answer within ${IMPORT_TIMEOUT}s; nothing imported"
        return 1
    fi
    digest=$(printf '%s' "$WATCHER_EXPORT" | sha256sum | cut -d ' ' -f 1)
    marker="$DATA/.qsigner-watcher-import-$WALLET"
    if [ "$(cat "$marker" 2>/dev/null || true)" = "$digest" ]; then
        log "watcher import: this export is already in wallet $WALLET"
        return 0
    fi
    if ! cli listwallets | grep -q "\"$WALLET\""; then
        cli loadwallet "$WALLET" >/dev/null 2>&1 ||
            cli -named createwallet wallet_name="$WALLET" disable_private_keys=true blank=true \
                descriptors=true load_on_startup=true >/dev/null || {
            log "watcher import: cannot load or create wallet $WALLET"
            return 1
        }
    fi
    # -stdin: the array is one argument on one line, and stays out of the process list
    if ! result=$(printf '%s\n' "$(printf '%s' "$WATCHER_EXPORT" | tr '\n' ' ')" |
        cli -stdin -rpcwallet="$WALLET" importdescriptors); then
        log "watcher import: importdescriptors failed"
        return 1
    fi
    case "$result" in
        *'"success": false'* | *'"success":false'*)
            log "watcher import: refused: $(printf '%s' "$result" | tr -s ' \n' ' ')"
            return 1
            ;;
    esac
    printf '%s\n' "$digest" >"$marker.tmp" && mv "$marker.tmp" "$marker"
    log "watcher import: imported into watch-only wallet $WALLET"
}

if [ -n "$WATCHER_EXPORT" ]; then
    # Detached (double fork): the job outlives nothing, and its parent is the container's init.
    (import_watcher_export </dev/null &)
fi
exec bitcoind -datadir="$DATA" -conf="$CONF" "$@"
