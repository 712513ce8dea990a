#!/usr/bin/env bash
# Benchmark: one SSH connection setup plus 10 commands on one host, baton against OpenSSH with
# ControlMaster doing the same, on a fleet host of this machine (tests/fleet).
#
#   bash bench/ssh_vs_openssh.sh          # builds target/release/baton if needed
#   RUNS=30 bash bench/ssh_vs_openssh.sh  # more repetitions (hyperfine reports the median)
#
# Timed, each from a cold start (no connection open before):
#   baton:   `baton play` of a playbook with 10 `raw` tasks on the host (process start, playbook
#            and inventory reading, one russh connection, 10 commands one after the other);
#   openssh: `ssh -M` opening a master connection, 10 `ssh -S` commands through it, `ssh -O
#            exit` (what Ansible's ssh plugin relies on with ControlPersist).
# Both authenticate with the fleet's ed25519 key as root and skip host key checking.
# Needs hyperfine (apt-get install hyperfine) and docker for the fleet. The fleet (1 host,
# prefix baton-bench-ssh) is brought up and removed unless BATON_FLEET_DIR names one.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
ROOT=$(pwd)
RUNS=${RUNS:-20}
WORK=$(mktemp -d /tmp/baton-bench-ssh.XXXXXX)
PREFIX=baton-bench-ssh
own_fleet=""
cleanup() {
  rm -rf "$WORK"
  if [ -n "$own_fleet" ]; then bash tests/fleet/fleet.sh down --prefix "$PREFIX" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 1; }
BATON=${BATON:-$ROOT/target/release/baton}
if [ ! -x "$BATON" ] || [ -n "${REBUILD:-}" ]; then
  cargo build --release --quiet
fi

if [ -n "${BATON_FLEET_DIR:-}" ]; then
  FLEET=$BATON_FLEET_DIR
else
  bash tests/fleet/fleet.sh deps >/dev/null
  bash tests/fleet/fleet.sh image >/dev/null
  own_fleet=1
  bash tests/fleet/fleet.sh up 1 --prefix "$PREFIX" >/dev/null
  FLEET=$ROOT/.fleet/$PREFIX
fi
read -r NAME PORT < <(head -n 1 "$FLEET/hosts.tsv")
KEY=$FLEET/id_ed25519

cat >"$WORK/inventory.ini" <<EOF
$NAME ansible_host=127.0.0.1 ansible_port=$PORT ansible_user=root ansible_ssh_private_key_file=$KEY ansible_host_key_checking=false
EOF
{
  printf -- '- hosts: all\n  gather_facts: false\n  tasks:\n'
  for i in $(seq 1 10); do printf '    - raw: echo %s\n' "$i"; done
} >"$WORK/ten.yml"

cat >"$WORK/openssh.sh" <<EOF
set -e
opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i $KEY -p $PORT)
sock=$WORK/cm-\$\$
ssh "\${opts[@]}" -o ControlMaster=yes -o ControlPath="\$sock" -fN root@127.0.0.1
for i in \$(seq 1 10); do ssh "\${opts[@]}" -o ControlPath="\$sock" root@127.0.0.1 "echo \$i" >/dev/null; done
ssh "\${opts[@]}" -o ControlPath="\$sock" -O exit root@127.0.0.1 2>/dev/null
EOF

# Both must work before they are timed.
"$BATON" play "$WORK/ten.yml" -i "$WORK/inventory.ini" >/dev/null
bash "$WORK/openssh.sh"

hyperfine --warmup 2 --runs "$RUNS" --export-json "$WORK/result.json" \
  -n baton "$BATON play $WORK/ten.yml -i $WORK/inventory.ini" \
  -n openssh-controlmaster "bash $WORK/openssh.sh"

python3 - "$WORK/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
b, o = r["baton"]["median"], r["openssh-controlmaster"]["median"]
print(f"\nmedian: baton {b*1000:.1f} ms, openssh+ControlMaster {o*1000:.1f} ms, "
      f"ratio baton/openssh = {b/o:.2f}")
PY
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "baton: $("$BATON" --version) (russh $(grep -A1 '^name = "russh"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p'))"
echo "client: $(ssh -V 2>&1)"
echo "server: $(docker exec "$NAME" sshd -V 2>&1 | head -n 1 || true)"
