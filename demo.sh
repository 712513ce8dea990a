#!/usr/bin/env bash
# The main job, end to end on this machine: bring up a local 3-host fleet (Debian containers
# with sshd, published on 127.0.0.1), build baton, and run playbooks/hello.yml against it.
# The fleet stays up afterwards for you to play with; see the last lines for how to remove it.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PREFIX=baton-demo
FLEET=tests/fleet/fleet.sh

bash "$FLEET" deps
bash "$FLEET" image
INVENTORY=$(bash "$FLEET" up 3 --prefix "$PREFIX")
trap 'cat >&2 <<MSG

The fleet $PREFIX is still running (inventory: $INVENTORY).
  plain ssh:  bash $FLEET ssh $PREFIX-1 hostname
  tear down:  bash $FLEET down --prefix $PREFIX
MSG' EXIT

echo "== cargo build --release" >&2
cargo build --release

echo "== target/release/baton play playbooks/hello.yml -i $INVENTORY" >&2
status=0
target/release/baton play playbooks/hello.yml -i "$INVENTORY" || status=$?

exit "$status"
