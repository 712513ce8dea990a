#!/usr/bin/env bash
# Benchmark of issue #10: baton against ansible-core, pyinfra, jetporch and an OpenSSH floor,
# on the same fleet of real sshd hosts, interleaved rounds, medians and ratios (bench/bench.py
# says what each workload is and what is measured).
#
#   bash bench/run.sh                       # every workload, 3 rounds, every tool
#   bash bench/run.sh fanout deep           # a subset of fanout deep facts template pymod scale controller
#   BATON_FLEET_DIR=.fleet/P ROUNDS=1 TOOLS=baton,ansible,mitogen bash bench/run.sh pymod
#                                           # Python modules: baton, ansible-core, + Mitogen
#   TOOLS=baton,ansible,pyinfra,openssh bash bench/run.sh facts scale
#                                           # issue 22: 100/300/1,000 hosts on the 100 containers
#   ROUNDS=1 TOOLS=baton,openssh bash bench/run.sh fanout   # a quick iteration
#   RECORD=1 bash bench/run.sh              # also append the summary to bench/RESULTS.md
#   KEEP_FLEET=1 bash bench/run.sh ...      # leave the fleet up for the next run
#   BATON=path/to/baton bash bench/run.sh   # measure that binary (no build)
#   BATON_OLD=path/to/old/baton TOOLS=baton,baton-old,ansible bash bench/run.sh
#                                           # two builds of baton side by side (before/after)
#
# Sets up what it needs: the fleet (tests/fleet, 100 hosts, prefix baton-bench, sshd as init),
# a virtualenv bench/.venv with ansible-core 2.19.14, pyinfra and mitogen from PyPI, a release build of
# baton in target/bench, jetporch (crate `jetp` on crates.io) built into target/jetp-install. jetporch
# reaches hosts by their names and authenticates through ssh-agent only: while the run lasts
# the fleet's names map to 127.0.0.1 in /etc/hosts (a marked block, removed at exit) and an
# ssh-agent holds the fleet key.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
ROOT=$(pwd)
PREFIX=baton-bench
HOSTS=100
ROUNDS=${ROUNDS:-3}
ANSIBLE_ROUNDS=${ANSIBLE_ROUNDS:-1}
TOOLS=${TOOLS:-baton,ansible,mitogen,pyinfra,jetp,openssh}
WORK=${BENCH_WORK:-/tmp/baton-bench-work}
VENV=$ROOT/bench/.venv
MARK="# baton-bench (bench/run.sh)"

log() { printf 'bench: %s\n' "$*" >&2; }
own_fleet=""
cleanup() {
  if grep -q "$MARK" /etc/hosts 2>/dev/null; then
    grep -v "$MARK" /etc/hosts >/tmp/baton-bench-hosts.$$ && cat /tmp/baton-bench-hosts.$$ >/etc/hosts
    rm -f /tmp/baton-bench-hosts.$$
  fi
  if [ -n "$own_fleet" ] && [ -z "${KEEP_FLEET:-}" ]; then
    bash tests/fleet/fleet.sh down --prefix "$PREFIX" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# The fleet.
if [ -n "${BATON_FLEET_DIR:-}" ]; then
  FLEET=$BATON_FLEET_DIR
else
  FLEET=$ROOT/.fleet/$PREFIX
  running=$(docker ps --filter "name=^$PREFIX-" --format '{{.Names}}' 2>/dev/null | wc -l)
  if [ "$running" -lt "$HOSTS" ] || [ ! -s "$FLEET/hosts.tsv" ]; then
    bash tests/fleet/fleet.sh deps >/dev/null
    bash tests/fleet/fleet.sh image >/dev/null
    log "bringing up $HOSTS hosts ($PREFIX)"
    bash tests/fleet/fleet.sh up "$HOSTS" --prefix "$PREFIX" --init sshd >/dev/null
  else
    log "reusing the running fleet $PREFIX"
  fi
  own_fleet=1
fi

# ansible-core and pyinfra.
if [ ! -x "$VENV/bin/ansible-playbook" ] || [ ! -x "$VENV/bin/pyinfra" ] \
  || [ ! -d "$(echo "$VENV"/lib/python3*/site-packages/ansible_mitogen)" ]; then
  log "installing ansible-core, pyinfra and mitogen into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'ansible-core==2.19.14' 'pyinfra==3.10.0' 'mitogen==0.3.54'
fi

# baton, release build in its own target dir (debug builds elsewhere do not wait for it).
if [ -n "${BATON:-}" ]; then
  log "measuring $BATON (not rebuilt)"
else
  log "building baton (release)"
  CARGO_TARGET_DIR=$ROOT/target/bench cargo build --release --quiet
  BATON=$ROOT/target/bench/release/baton
fi

# jetporch, when it can be built.
JETP=$ROOT/target/jetp-install/bin/jetp
if [[ ",$TOOLS," == *,jetp,* ]] && [ ! -x "$JETP" ]; then
  log "building jetporch (crates.io: jetp 0.1.1)"
  CARGO_TARGET_DIR=$ROOT/target/jetp-build cargo install --quiet --locked jetp --version 0.1.1 \
    --root "$ROOT/target/jetp-install" || log "jetporch could not be built: measuring without it"
fi
[ -x "$JETP" ] || JETP=""
if [ -n "$JETP" ]; then
  {
    printf '127.0.0.1 '
    cut -f1 "$FLEET/hosts.tsv" | tr '\n' ' '
    printf ' %s\n' "$MARK"
  } >>/etc/hosts
fi

record=()
[ -n "${RECORD:-}" ] && record=(--record "$ROOT/bench/RESULTS.md")
rm -rf "$WORK"
python3 bench/bench.py "$@" --fleet "$FLEET" --work "$WORK" --venv "$VENV" --baton "$BATON" \
  --jetp "$JETP" --baton-old "${BATON_OLD:-}" --rounds "$ROUNDS" --ansible-rounds "$ANSIBLE_ROUNDS" --tools "$TOOLS" "${record[@]}"
