#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the real-host fleet, the ansible-core
# oracle, then every test target. Run from anywhere: bash tests/run.sh
#
# Installs what it needs (Debian packages via apt as root, a private Python venv .venv-test).
# Environment:
#   BATON_TEST_FLEET_PREFIX  name of the shared fleet (default baton-test)
#   BATON_TEST_KEEP_FLEET=1  leave the fleet running afterwards (default: tear it down)
# Exits non-zero when any step failed; the steps after a failed lint still run, so one run
# reports everything.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
ROOT=$(pwd)
FLEET=$ROOT/tests/fleet/fleet.sh
PREFIX=${BATON_TEST_FLEET_PREFIX:-baton-test}
FLEET_HOSTS=3
ANSIBLE_CORE_VERSION=2.19.14 # the oracle other tests compare baton against
VENV=$ROOT/.venv-test

# One suite at a time per machine: every checkout's run uses the same fleet names, and two
# suites on 2 cores would also make each other's timing-sensitive tests flaky. Children that
# outlive the run (dockerd) must not inherit the lock: fleet.sh gets `7>&-`.
exec 7>/tmp/baton-test-suite.lock
if ! flock -n 7; then
  echo "another tests/run.sh is running on this machine; waiting for it to finish" >&2
  flock 7
fi

FLEET_LOG=$(mktemp /tmp/baton-test-fleet.XXXXXX.log)
failed=()
step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf '!!! FAILED: %s\n' "$*" >&2; failed+=("$*"); }

fleet_pid=""
teardown() {
  local rc=$?
  if [ -n "$fleet_pid" ] && kill -0 "$fleet_pid" 2>/dev/null; then
    kill -- -"$fleet_pid" 2>/dev/null || kill "$fleet_pid" 2>/dev/null || true
    wait "$fleet_pid" 2>/dev/null || true
  fi
  if [ "${BATON_TEST_KEEP_FLEET:-0}" = 1 ]; then
    printf 'fleet %s left running; remove it with: bash tests/fleet/fleet.sh down --prefix %s\n' \
      "$PREFIX" "$PREFIX" >&2
  else
    bash "$FLEET" down --prefix "$PREFIX" 7>&- || true
  fi
  rm -f "$FLEET_LOG"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_install() {
  [ "$(id -u)" -eq 0 ] || { echo "need root to install: $*" >&2; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- 1. The fleet, in the background while the lints compile ------------------------------
step "fleet: deps"
bash "$FLEET" deps 7>&-
step "fleet: image + up $FLEET_HOSTS --prefix $PREFIX (in the background, log $FLEET_LOG)"
set -m # own process group, so teardown can stop the whole job
bash -c 'bash "$1" image && bash "$1" up "$2" --prefix "$3"' _ "$FLEET" "$FLEET_HOSTS" "$PREFIX" \
  >"$FLEET_LOG" 2>&1 7>&- &
fleet_pid=$!
set +m

# --- 2. Formatting and lints ----------------------------------------------------------------
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt || true
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy || true
step "cargo fmt --check"
cargo fmt --check || fail "cargo fmt --check (run cargo fmt)"
step "cargo clippy --all-targets --all-features -- -D warnings"
cargo clippy --all-targets --all-features -- -D warnings || fail "cargo clippy"
# The fuzz targets (fuzz/, their own workspace, run with `cargo fuzz`) must keep building as
# the library changes under them.
step "cargo check of the fuzz targets"
CARGO_TARGET_DIR=$ROOT/target/fuzz-check cargo check --quiet --manifest-path fuzz/Cargo.toml --bins ||
  fail "cargo check --manifest-path fuzz/Cargo.toml"

# --- 3. The ansible-core oracle in a private venv ----------------------------------------------
step "python venv with ansible-core $ANSIBLE_CORE_VERSION"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3 python3-venv
fi
venv_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ansible-core"))' 2>/dev/null
}
# passlib: ansible-core 2.19's password_hash filter needs it (the conformance suite uses it).
# tomli-w: ansible-inventory's --toml output needs it (the inventory differential test and the
# ansible-inventory target compare baton's TOML with it).
if [ "$(venv_version || true)" != "$ANSIBLE_CORE_VERSION" ] ||
  ! "$VENV/bin/python" -c 'import passlib, tomli_w' 2>/dev/null; then
  "$VENV/bin/python" -c '' 2>/dev/null || { rm -rf "$VENV"; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION" passlib \
    tomli-w==1.2.0
fi
export PATH="$VENV/bin:$PATH"
ansible-playbook --version | sed -n 1p >&2 # sed reads all: no broken pipe

# The local EC2 API of the inventory plugin test (tests/inventory_plugins.rs): moto's server,
# and boto3/botocore, which amazon.aws's plugin and modules import.
if ! "$VENV/bin/python" -c 'import boto3, moto' 2>/dev/null ||
  [ "$("$VENV/bin/python" -c 'import moto, boto3; print(moto.__version__, boto3.__version__)')" != "5.2.5 1.44.5" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' boto3==1.44.5 \
    botocore==1.44.5
fi

# The collections the system-module differential test needs besides ansible-core
# (ansible.posix for authorized_key, community.general for npm), and amazon.aws for the
# inventory plugin test, from the `ansible` package on PyPI, extracted where
# tests/system_support/mod.rs looks for them (it fetches them the same way when run alone).
step "oracle collections: ansible.posix, community.general, amazon.aws"
COLL=$ROOT/target/oracle-collections
if [ ! -f "$COLL/ansible_collections/community/general/plugins/modules/npm.py" ] ||
  [ ! -f "$COLL/ansible_collections/ansible/posix/plugins/modules/authorized_key.py" ] ||
  [ ! -f "$COLL/ansible_collections/amazon/aws/plugins/inventory/aws_ec2.py" ]; then
  wheel_dir=$(mktemp -d)
  if "$VENV/bin/pip" download --no-deps --disable-pip-version-check -q 'ansible>=12,<13' -d "$wheel_dir" &&
    "$VENV/bin/python" - "$wheel_dir" "$COLL" <<'EOF'; then
import glob, sys, zipfile
wheel = sorted(glob.glob(sys.argv[1] + '/ansible-*.whl'))[-1]
z = zipfile.ZipFile(wheel)
for n in z.namelist():
    if n.startswith(('ansible_collections/community/general/', 'ansible_collections/ansible/posix/',
                     'ansible_collections/amazon/aws/')):
        z.extract(n, sys.argv[2])
EOF
    :
  else
    fail "oracle collections (pip download ansible)"
  fi
  rm -rf "$wheel_dir"
fi

# --- 4. Wait for the fleet --------------------------------------------------------------------
step "fleet: waiting for $PREFIX"
if ! wait "$fleet_pid"; then
  fleet_pid=""
  cat "$FLEET_LOG" >&2
  echo "the test fleet did not come up (see above)" >&2
  exit 1
fi
fleet_pid=""
grep '^fleet: ' "$FLEET_LOG" >&2 || true
export BATON_FLEET_DIR=$ROOT/.fleet/$PREFIX
[ -f "$BATON_FLEET_DIR/inventory.ini" ] || { echo "no inventory in $BATON_FLEET_DIR" >&2; exit 1; }

# --- 5. Tests -----------------------------------------------------------------------------------
# Every tier (tests/README.md): unit and local tests, the fleet tier, the oracle tier.
step "cargo test --all-targets --features fleet,oracle"
cargo test --all-targets --features fleet,oracle --no-fail-fast || fail "cargo test --all-targets"
if [ -f src/lib.rs ]; then
  step "cargo test --doc"
  cargo test --doc --no-fail-fast || fail "cargo test --doc"
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\ntest suite FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\ntest suite passed\n' >&2
