#!/usr/bin/env bash
# The main job, end to end on this machine (issue #8): a local fleet of four Debian hosts (three
# app servers, one load balancer: containers with sshd and systemd, published on 127.0.0.1),
# baton built from source, then
#   1. playbooks/site.yml   bare Debian -> Node.js app on 3 hosts under systemd, Nginx in front
#   2. playbooks/deploy.yml  a rolling update to version 2.0.0, one host at a time, while a load
#                            generator sends requests through Nginx: it prints how many were sent,
#                            how many failed (none should) and the p99 latency.
# The fleet stays up afterwards for you to play with; see the last lines for how to remove it.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PREFIX=${BATON_DEMO_PREFIX:-baton-demo}
FLEET=tests/fleet/fleet.sh
INV=inventories/local
BATON=target/release/baton

say() { printf '\n== %s\n' "$*" >&2; }

bash "$FLEET" deps
bash "$FLEET" image
say "fleet: 4 hosts ($PREFIX-1..3 app servers, $PREFIX-4 load balancer with port 80 on 127.0.0.1)"
bash "$FLEET" up 4 --prefix "$PREFIX" --publish 80 >/dev/null
LB_PORT=$(bash tests/fleet/local-inventory.sh "$PREFIX" "$INV")
trap 'cat >&2 <<MSG

The fleet $PREFIX is still running; Nginx answers on http://127.0.0.1:$LB_PORT/
  again:      $BATON play playbooks/deploy.yml -i $INV -e app_version=2.1.0
  roll back:  $BATON play playbooks/rollback.yml -i $INV
  plain ssh:  bash $FLEET ssh $PREFIX-1 systemctl status sample-app
  tear down:  bash $FLEET down --prefix $PREFIX
MSG' EXIT

say "cargo build --release"
cargo build --release

through_nginx() {
  local i
  for i in 1 2 3 4 5 6; do curl -fsS --max-time 5 "http://127.0.0.1:$LB_PORT/"; done
}

say "$BATON play playbooks/site.yml -i $INV    (bare Debian -> serving)"
$BATON play playbooks/site.yml -i "$INV"
say "six requests through Nginx (http://127.0.0.1:$LB_PORT/)"
through_nginx

# The load generator: one request after another through Nginx, each on a new connection, until
# the rollout is over (bounded: at most 20 minutes).
LOADLOG=$(mktemp /tmp/baton-demo-load.XXXXXX)
STOP=$LOADLOG.stop
(
  end=$((SECONDS + 1200))
  while [ ! -e "$STOP" ] && [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$LB_PORT/" || true
    sleep 0.005
  done
) >"$LOADLOG" &
LOAD_PID=$!

say "$BATON play playbooks/deploy.yml -i $INV -e app_version=2.0.0   (serial 1, under load)"
status=0
$BATON play playbooks/deploy.yml -i "$INV" -e app_version=2.0.0 || status=$?
sleep 1
touch "$STOP"
wait "$LOAD_PID" || true

say "load during the rollout"
total=$(wc -l <"$LOADLOG")
failed=$(awk '$1 != "200"' "$LOADLOG" | wc -l)
p99=$(awk '{ print $2 }' "$LOADLOG" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; printf "%.1f", a[i] * 1000 }')
printf 'requests through Nginx during the rollout: %s, failed: %s, p99 latency: %s ms\n' "$total" "$failed" "$p99"
rm -f "$LOADLOG" "$STOP"

say "six requests through Nginx after the rollout"
through_nginx

[ "$failed" -eq 0 ] || status=1
exit "$status"
