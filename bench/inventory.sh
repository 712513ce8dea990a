#!/usr/bin/env bash
# Benchmark: reading a 10,000-host inventory with 100 groups and group_vars/host_vars,
# baton against ansible-inventory (ansible-core) on the same files, on this machine.
#
#   bash bench/inventory.sh            # builds target/release/baton if needed
#   RUNS=9 bash bench/inventory.sh     # more repetitions (median is reported)
#
# Needs python3 (to write the inventory) and ansible-inventory on PATH or in .venv-test.
# The inventory: 100 leaf groups of 100 hosts each (every host with inline vars), 10 parent
# groups of 10 leaves, [all:vars] and [g:vars], group_vars/ with a file per group (YAML, a few
# as directories), host_vars/ for 200 hosts. Timed: `--graph` (reading the inventory, then a
# tree of names) and `--list` (reading, then every host's variables flattened to JSON), as wall
# time and as CPU time (user + system), medians of the runs.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
ROOT=$(pwd)
RUNS=${RUNS:-5}
ARUNS=${ARUNS:-3}
WORK=$(mktemp -d /tmp/baton-bench-inventory.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

BATON=${BATON:-$ROOT/target/release/baton}
if [ ! -x "$BATON" ] || [ -n "${REBUILD:-}" ]; then
  cargo build --release --quiet
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
AI=$(command -v ansible-inventory || true)
[ -n "$AI" ] || AI=$ROOT/.venv-test/bin/ansible-inventory
[ -x "$AI" ] || { echo "ansible-inventory not found (run tests/run.sh once, or put it on PATH)" >&2; exit 1; }

python3 - "$WORK" <<'PY'
import os, sys
w = sys.argv[1]
inv = os.path.join(w, "inventory")
os.makedirs(os.path.join(inv, "group_vars"))
os.makedirs(os.path.join(inv, "host_vars"))
lines = ["[all:vars]", "ntp_server=time.example.com", "env=bench", ""]
n = 0
for g in range(100):
    lines.append(f"[app{g:02d}]")
    for h in range(100):
        lines.append(f"host{n:05d}.example.com ansible_host=10.{n // 256 // 256}.{n // 256 % 256}.{n % 256} "
                     f"http_port={8000 + h} rack=r{h % 8} enabled=True")
        n += 1
    lines += ["", f"[app{g:02d}:vars]", f"app_id={g}", f"tier={'web' if g % 2 else 'db'}", ""]
for r in range(10):
    lines.append(f"[region{r}:children]")
    lines += [f"app{g:02d}" for g in range(r * 10, r * 10 + 10)]
    lines += ["", f"[region{r}:vars]", f"region=r{r}", "ansible_group_priority=2", ""]
open(os.path.join(inv, "hosts"), "w").write("\n".join(lines) + "\n")
gv = os.path.join(inv, "group_vars")
open(os.path.join(gv, "all.yml"), "w").write("common: 1\npackages: [nginx, curl, git]\nlimits: {nofile: 65536}\n")
for g in range(100):
    body = f"group_var_{g}: {g}\nlisten: 0.0.0.0:{9000 + g}\nfeatures:\n  - a{g}\n  - b{g}\n"
    if g % 10 == 0:
        d = os.path.join(gv, f"app{g:02d}")
        os.makedirs(d)
        open(os.path.join(d, "main.yml"), "w").write(body)
        open(os.path.join(d, "extra.yml"), "w").write(f"extra_{g}: true\n")
    else:
        open(os.path.join(gv, f"app{g:02d}.yml"), "w").write(body)
for r in range(10):
    open(os.path.join(gv, f"region{r}.yml"), "w").write(f"dc: dc{r}\n")
for n in range(0, 10000, 50):
    open(os.path.join(inv, "host_vars", f"host{n:05d}.example.com.yml"), "w").write(f"special: {n}\n")
PY

# "WALL CPU": medians in ms over RUNS runs of a command (output discarded) of the wall time
# and of the CPU time (user + system). On a busy machine the wall time grows with the load;
# the CPU time is what the program itself costs.
measure() {
  local runs=$1; shift
  local walls=() cpus=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" >/dev/null 2>&1
    read -r e u s <"$WORK/time"
    walls+=("$(awk -v e="$e" 'BEGIN {printf "%d", e * 1000}')")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%d", (u + s) * 1000}')")
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  echo "$(med "${walls[@]}") $(med "${cpus[@]}")"
}

cd "$WORK"  # the playbook directory both tools read (it has no group_vars)
export ANSIBLE_CONFIG=$WORK/empty.cfg
: >"$ANSIBLE_CONFIG"
hosts=$(grep -c '^host' inventory/hosts)
echo "inventory: $hosts hosts, 100 groups + 10 parents, $(ls inventory/group_vars | wc -l) group_vars entries, $(ls inventory/host_vars | wc -l) host_vars files"

# Same answer first: the benchmark is only meaningful if both read the same inventory.
"$BATON" inventory -i inventory --list >baton.json
"$AI" -i inventory --list >ansible.json 2>/dev/null
python3 -c 'import json,sys; a=json.load(open("ansible.json")); b=json.load(open("baton.json")); sys.exit(a!=b)' \
  || { echo "baton and ansible-inventory disagree on the benchmark inventory" >&2; exit 1; }

read -r bgw bgc < <(measure "$RUNS" "$BATON" inventory -i inventory --graph)
read -r blw blc < <(measure "$RUNS" "$BATON" inventory -i inventory --list)
read -r agw agc < <(measure "$ARUNS" "$AI" -i inventory --graph)
read -r alw alc < <(measure "$ARUNS" "$AI" -i inventory --list)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0fx", a / (b > 0 ? b : 1)}'; }
echo
printf '%-32s %22s %22s %8s\n' "median of runs" "baton wall / cpu" "ansible wall / cpu" "cpu ratio"
printf '%-32s %9s / %6s ms %9s / %6s ms %8s\n' "read + --graph" "$bgw" "$bgc" "$agw" "$agc" "$(ratio "$agc" "$bgc")"
printf '%-32s %9s / %6s ms %9s / %6s ms %8s\n' "read + --list (vars flattened)" "$blw" "$blc" "$alw" "$alc" "$(ratio "$alc" "$blc")"
echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $("$AI" --version | sed -n 1p)"
