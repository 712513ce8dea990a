#!/usr/bin/env bash
# Connect inventories/local to a running 4-host fleet (tests/fleet/fleet.sh up 4 --publish 80):
# writes DIR/fleet.ini, which gives app1..app3 and lb1 (inventories/local/hosts.ini) the ssh ports
# and key of the fleet's hosts PREFIX-1..PREFIX-4, and prints on stdout the 127.0.0.1 port that
# reaches the load balancer's port 80.
#
#   tests/fleet/local-inventory.sh PREFIX [DIR]       DIR defaults to inventories/local
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
prefix=${1:?usage: local-inventory.sh PREFIX [DIR]}
dir=${2:-$ROOT/inventories/local}
state=${BATON_FLEET_STATE_ROOT:-$ROOT/.fleet}/$prefix
[ -f "$state/hosts.tsv" ] || { echo "no fleet $prefix (missing $state/hosts.tsv)" >&2; exit 1; }
[ "$(wc -l <"$state/hosts.tsv")" -ge 4 ] || { echo "fleet $prefix has fewer than 4 hosts" >&2; exit 1; }
names=(app1 app2 app3 lb1)
{
  printf '# Written by tests/fleet/local-inventory.sh for the fleet %s: how to reach its hosts.\n' "$prefix"
  printf '# The groups and variables are in hosts.ini and group_vars/; this file is not committed.\n'
  printf '[fleet]\n'
  i=0
  while IFS=$'\t' read -r name port && [ $i -lt 4 ]; do
    printf '%s ansible_host=127.0.0.1 ansible_port=%s fleet_container=%s\n' "${names[i]}" "$port" "$name"
    i=$((i + 1))
  done <"$state/hosts.tsv"
  printf '\n[fleet:vars]\n'
  printf 'ansible_user=root\n'
  printf 'ansible_ssh_private_key_file=%s\n' "$state/id_ed25519"
  printf 'ansible_host_key_checking=false\n'
  printf "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
} >"$dir/fleet.ini.tmp"
mv "$dir/fleet.ini.tmp" "$dir/fleet.ini"
lb=$(sed -n 4p "$state/hosts.tsv" | cut -f1)
if [ -f "$state/published.tsv" ]; then
  awk -F'\t' -v h="$lb" '$1 == h && $2 == 80 { print $3 }' "$state/published.tsv"
fi
