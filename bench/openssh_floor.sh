#!/usr/bin/env bash
# The OpenSSH floor of bench/bench.py: one `ssh` process per host, all started at once, each
# running the workload as one shell script over its one connection (no ControlMaster).
#
#   openssh_floor.sh HOSTS_FILE KEY SCRIPT      HOSTS_FILE: "name port" lines
#   openssh_floor.sh HOSTS_FILE KEY TEMPLATE    the template workload: the 2,000-line file is
#                                               rendered per host here (sed) and streamed
# Fails when any host's script failed.
set -uo pipefail
hosts=$1 key=$2 script=$3
dir=$(dirname "$(dirname "$hosts")")
opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -i "$key")
pids=()
i=0
while read -r name port; do
  i=$((i + 1))
  if [ "$script" = TEMPLATE ]; then
    sed -e 's/{{ http_port }}/8080/g; s/{{ domain }}/bench.example.com/g' \
      -e "s/{{ site_id }}/$i/g; s/{{ upstream_port }}/9000/g; s/{{ max_body }}/16m/g" \
      "$dir/templates/nginx.conf.j2" |
      ssh "${opts[@]}" -p "$port" root@127.0.0.1 'cat > /tmp/bench-nginx.conf' &
  else
    ssh "${opts[@]}" -p "$port" root@127.0.0.1 sh <"$script" >/dev/null &
  fi
  pids+=($!)
done <"$hosts"
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
