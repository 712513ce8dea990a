#!/usr/bin/env bash
# The real-host test fleet: Debian bookworm containers with a real sshd (and systemd as PID 1 by
# default), published on 127.0.0.1 ports. Integration tests, the demo and the benchmarks all use it.
#
#   fleet.sh deps                      install docker.io, debootstrap, openssh-client; start dockerd
#   fleet.sh image                     build the image baton-fleet:bookworm (only when missing)
#   fleet.sh up N [--prefix P] [--init systemd|sshd] [--publish PORT]...
#                                      start P-1..P-N; print the inventory path on stdout;
#                                      --publish also publishes each host's container PORT on a
#                                      free 127.0.0.1 port (listed in published.tsv)
#   fleet.sh stop-host NAME | start-host NAME
#   fleet.sh exec NAME CMD...          docker exec NAME sh -c "CMD..."
#   fleet.sh ssh [-u USER] NAME CMD... plain OpenSSH with the fleet key
#   fleet.sh down [--prefix P] | down-all | status
#
# State of a fleet lives in .fleet/P/ at the repo root: id_ed25519(.pub), inventory.ini, hosts.tsv
# (name<TAB>port), known_hosts ([127.0.0.1]:PORT keytype key), and with --publish published.tsv
# (name<TAB>container port<TAB>127.0.0.1 port).
#
# Only stdout of `up` is meant for machines (the inventory path); everything else goes to stderr.
set -euo pipefail

IMAGE=baton-fleet:bookworm
# Bump when the image recipe below changes: an image with another recipe label is rebuilt.
IMAGE_RECIPE=5
NETWORK=baton-fleet
LABEL=baton.fleet
PORT_BASE=${BATON_FLEET_PORT_BASE:-22200}
LOCK_FILE=/tmp/baton-fleet.lock
DOCKERD_LOG=/tmp/baton-dockerd.log

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)
STATE_ROOT=${BATON_FLEET_STATE_ROOT:-$REPO_ROOT/.fleet}

SSH_OPTS=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o ConnectTimeout=5)

log() { printf 'fleet: %s\n' "$*" >&2; }
die() { printf 'fleet: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

usage() {
  sed -n '2,16p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# ---------------------------------------------------------------------------------------- deps

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (missing: ${2:-})"; }

cmd_deps() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  { command -v ssh && command -v ssh-keygen && command -v ssh-keyscan; } >/dev/null 2>&1 ||
    missing+=(openssh-client)
  # The HTML report's acceptance test renders it in headless Chromium (tests/report_fleet.rs).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    need_root "installing packages" "${missing[*]}"
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH after installing docker.io"
  ensure_dockerd
}

ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  need_root "starting dockerd" "a running docker daemon"
  log "docker daemon not answering; starting dockerd in the background (log: $DOCKERD_LOG)"
  # setsid + nohup: dockerd must outlive this script; it must not hold the caller's pipes or
  # lock files (fds 3-9) open either.
  setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  local deadline=$(($(now) + 60))
  until docker info >/dev/null 2>&1; do
    if [ "$(now)" -ge "$deadline" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer within 60 s (see $DOCKERD_LOG)"
    fi
    sleep 1
  done
  log "dockerd is up"
}

require_docker() {
  docker info >/dev/null 2>&1 || die "docker daemon not reachable; run: $SCRIPT_PATH deps"
}

# --------------------------------------------------------------------------------------- image

# The Debian mirror of this machine: the URIs of the first deb822 stanza whose Suites include
# "bookworm", else the first "deb URL bookworm" line of sources.list. Never hard-coded.
debian_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
      {
        u = ""; s = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { split($i, a, /[ \t]+/); u = a[2] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s = 1
        }
        if (u != "" && s) { print u; exit }
      }' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find a Debian bookworm mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

image_current() {
  local recipe
  recipe=$(docker image inspect -f '{{index .Config.Labels "baton.fleet.recipe"}}' "$IMAGE" 2>/dev/null) || return 1
  [ "$recipe" = "$IMAGE_RECIPE" ]
}

cmd_image() {
  require_docker
  if image_current; then
    log "image $IMAGE is cached"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing; run: $SCRIPT_PATH deps"
  need_root "building the image" "root for debootstrap"
  # One builder at a time (several test binaries may ask at once); re-check under the lock.
  exec 8>"$LOCK_FILE.image"
  flock 8
  if image_current; then
    log "image $IMAGE was built meanwhile"
    return 0
  fi
  build_image
  flock -u 8
}

ROOTFS=""
cleanup_rootfs() {
  [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
  # debootstrap mounts proc/sys inside the target; a failed run can leave them behind.
  local m
  awk -v r="$ROOTFS" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$ROOTFS"
}

build_image() {
  local mirror start t
  mirror=$(debian_mirror)
  start=$(now)
  ROOTFS=$(mktemp -d /var/tmp/baton-fleet-rootfs.XXXXXX)
  chmod 0755 "$ROOTFS" # becomes / of the image; mktemp made it 0700
  trap cleanup_rootfs EXIT
  log "building $IMAGE: debootstrap bookworm from $mirror into $ROOTFS (about a minute or two)"
  local include=openssh-server,sudo,python3,ca-certificates,curl,iproute2,procps,systemd,systemd-sysv
  if ! debootstrap --variant=minbase --include="$include" bookworm "$ROOTFS" "$mirror" \
    >"$ROOTFS.log" 2>&1; then
    tail -n 40 "$ROOTFS.log" >&2 || true
    die "debootstrap failed (full log: $ROOTFS.log)"
  fi
  rm -f "$ROOTFS.log"
  t=$(now)
  log "debootstrap done in $((t - start)) s; configuring the root filesystem"
  configure_rootfs "$mirror"
  log "importing into docker as $IMAGE"
  local old
  old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  # --one-file-system keeps anything still mounted inside (proc, sys) out of the image.
  tar -C "$ROOTFS" --numeric-owner --one-file-system -c . |
    docker import \
      --change "LABEL baton.fleet.recipe=$IMAGE_RECIPE" \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["/sbin/init"]' \
      - "$IMAGE" >/dev/null
  # The outdated image, if any (kept when a container still uses it).
  if [ -n "$old" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
  cleanup_rootfs
  trap - EXIT
  log "image $IMAGE built in $(($(now) - start)) s"
}

in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

configure_rootfs() {
  local r=$ROOTFS f kr
  if [ -z "$r" ] || [ "$r" = / ] || [ ! -x "$r/usr/bin/env" ]; then die "bad root filesystem: '$r'"; fi

  # TLS: package managers inside reach registries through the machine's TLS-intercepting proxy.
  # The bundle makes it work now; the extra CA sources survive a later update-ca-certificates.
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$r/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$r/usr/local/share/ca-certificates/"
  fi

  # apt: the machine's own sources (and any keyring they name that the image lacks).
  rm -f "$r/etc/apt/sources.list"
  mkdir -p "$r/etc/apt/sources.list.d"
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    cp "$f" "$r/etc/apt/sources.list.d/"
    while read -r kr; do
      if [ -f "$kr" ] && [ ! -e "$r$kr" ]; then install -D -m 0644 "$kr" "$r$kr"; fi
    done < <(awk '/^Signed-By:/ { print $2 }' "$f")
  done
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$r/etc/apt/sources.list"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  log "apt-get update inside the image (so apt works in containers right away)"
  in_root apt-get update -qq >&2 || log "warning: apt-get update inside the image failed; continuing"
  in_root apt-get clean
  : >"$r/etc/resolv.conf"

  # sshd: per-container host keys, generated at boot.
  rm -f "$r"/etc/ssh/ssh_host_*
  mkdir -p "$r/etc/ssh/sshd_config.d" "$r/run/sshd"
  cat >"$r/etc/ssh/sshd_config.d/baton-fleet.conf" <<'EOF'
# baton test fleet
PermitRootLogin prohibit-password
PasswordAuthentication yes
UseDNS no
EOF
  # RSA at 2048 bits: ssh-keygen -A makes 3072-bit keys, ~0.65 s of CPU each, which is most of
  # what 100 hosts cost to boot on a 2-core machine (2048 bits: ~0.2 s).
  cat >"$r/usr/local/sbin/baton-hostkeys" <<'EOF'
#!/bin/sh
# This container's own ssh host keys, made at its first boot (the image has none).
set -e
[ -s /etc/ssh/ssh_host_rsa_key ] || ssh-keygen -q -t rsa -b 2048 -N '' -f /etc/ssh/ssh_host_rsa_key
ssh-keygen -A
EOF
  chmod 0755 "$r/usr/local/sbin/baton-hostkeys"
  mkdir -p "$r/etc/systemd/system/ssh.service.d"
  # Resetting ExecStartPre puts key generation before Debian's own `sshd -t` check.
  cat >"$r/etc/systemd/system/ssh.service.d/baton-hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/local/sbin/baton-hostkeys
ExecStartPre=/usr/sbin/sshd -t
EOF
  in_root systemctl enable ssh.service >/dev/null 2>&1 ||
    ln -sf /lib/systemd/system/ssh.service "$r/etc/systemd/system/multi-user.target.wants/ssh.service"
  # Without CAP_AUDIT_CONTROL pam_loginuid can refuse sessions inside containers.
  sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' "$r/etc/pam.d/sshd"

  # systemd as PID 1 in a container: nothing to do for consoles, udev or time sync.
  for f in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service \
    systemd-networkd-wait-online.service; do
    ln -sf /dev/null "$r/etc/systemd/system/$f"
  done
  # Each container gets its own machine id at boot.
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id" "$r/etc/hostname"

  printf 'LANG=C.UTF-8\n' >"$r/etc/default/locale"

  # Users: deploy (passwordless sudo) and secure (sudo with its password).
  in_root useradd -m -u 1000 -s /bin/bash deploy
  in_root useradd -m -u 1001 -s /bin/bash -G sudo secure
  printf 'secure:secure-pw\n' | in_root chpasswd
  # '*' (not '!') so sshd does not treat key-only accounts as locked.
  in_root usermod -p '*' deploy
  in_root usermod -p '*' root
  printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' >"$r/etc/sudoers.d/deploy"
  chmod 0440 "$r/etc/sudoers.d/deploy"
  install -d -m 0700 -o 0 -g 0 "$r/root/.ssh"
  install -d -m 0700 -o 1000 -g 1000 "$r/home/deploy/.ssh"
  install -d -m 0700 -o 1001 -g 1001 "$r/home/secure/.ssh"

  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log "$r"/tmp/* 2>/dev/null || true
}

# ------------------------------------------------------------------------------------- helpers

state_dir() { printf '%s/%s\n' "$STATE_ROOT" "$1"; }

# Ports taken on this machine: listening TCP sockets plus every port any container (running or
# not) has reserved, so a stopped host keeps its port across stop/start.
used_ports() {
  {
    awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
    local ids
    ids=$(docker ps -aq)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      # Containers removed meanwhile make inspect fail for them only: keep the rest.
      docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostPort}} {{end}}{{end}}' $ids \
        2>/dev/null | tr ' ' '\n' || true
    fi
  } | awk 'NF' | sort -un
}

# Print n free ports at or above PORT_BASE.
pick_ports() {
  local n=$1 used
  used=$(used_ports)
  awk -v n="$n" -v base="$PORT_BASE" 'NR == FNR { u[$1] = 1; next } END {
      p = base
      while (n > 0 && p < 65535) { if (!(p in u)) { print p; n-- } ; p++ }
      if (n > 0) exit 1
    }' <(printf '%s\n' "$used") /dev/null || die "not enough free ports above $PORT_BASE"
}

ensure_network() {
  docker network inspect "$NETWORK" >/dev/null 2>&1 && return 0
  docker network create --driver bridge --label "$LABEL.network=1" "$NETWORK" >/dev/null 2>&1 ||
    docker network inspect "$NETWORK" >/dev/null 2>&1 || die "cannot create docker network $NETWORK"
}

remove_network_if_unused() {
  [ -z "$(docker ps -aq --filter "label=$LABEL")" ] || return 0
  docker network inspect "$NETWORK" >/dev/null 2>&1 || return 0
  if docker network rm "$NETWORK" >/dev/null 2>&1; then log "removed network $NETWORK"; fi
}

remove_prefix_containers() {
  local p=$1 ids
  ids=$(docker ps -aq --filter "label=$LABEL=$p")
  if [ -n "$ids" ]; then
    log "removing $(wc -w <<<"$ids") container(s) of fleet $p"
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null
  fi
}

host_port() {
  docker inspect -f '{{(index (index .HostConfig.PortBindings "22/tcp") 0).HostPort}}' "$1" 2>/dev/null ||
    die "no fleet host named $1"
}

host_prefix() {
  local p
  p=$(docker inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null) || die "no fleet host named $1"
  [ -n "$p" ] || die "$1 is not a fleet host (no $LABEL label)"
  printf '%s\n' "$p"
}

# True when something on 127.0.0.1:PORT sends an SSH banner. Cheap (no key exchange), so it is
# what the wait loop polls; docker-proxy accepts and closes at once while the container boots.
ssh_banner() {
  local line=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  IFS= read -r -t 3 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == SSH-* ]]
}

# Wait until a real `ssh root@127.0.0.1 -p PORT` succeeds or the deadline (epoch s) passes.
# With KEYS_OUT, that ssh prints the host's public host keys into it (for known_hosts: same
# result as ssh-keyscan without a key exchange per key type).
wait_ssh_one() {
  local key=$1 port=$2 name=$3 deadline=$4 keys_out=${5:-/dev/null} checked=$SECONDS
  while :; do
    if ssh_banner "$port" &&
      ssh "${SSH_OPTS[@]}" -i "$key" -p "$port" root@127.0.0.1 'cat /etc/ssh/ssh_host_*_key.pub' \
        </dev/null >"$keys_out" 2>/dev/null; then
      return 0
    fi
    if [ "$(now)" -ge "$deadline" ]; then
      log "$name (port $port): ssh did not answer in time"
      return 1
    fi
    if [ $((SECONDS - checked)) -ge 3 ]; then
      checked=$SECONDS
      if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
        log "$name is not running; its last log lines:"
        docker logs --tail 20 "$name" >&2 2>&1 || true
        return 1
      fi
    fi
    sleep 0.3
  done
}

# ------------------------------------------------------------------------------------------ up

# Block until fewer than MAX background jobs of this shell are running.
throttle() {
  while [ "$(jobs -rp | wc -l)" -ge "$1" ]; do wait -n 2>/dev/null || true; done
}

cmd_up() {
  local n="" prefix=baton-fleet init=systemd reap_pid="" publish=()
  while [ $# -gt 0 ]; do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      --publish)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] && [ "$2" -le 65535 ] && [ "$2" != 22 ] ||
          die "--publish needs a container port (not 22)"
        publish+=("$2"); shift 2 ;;
      --init) init=${2:?--init needs a value}; shift 2 ;;
      --reap-when-gone) reap_pid=${2:?--reap-when-gone needs a pid}; shift 2 ;;
      -*) die "up: unknown option $1" ;;
      *) [ -z "$n" ] || die "up: unexpected argument $1"; n=$1; shift ;;
    esac
  done
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "usage: up N [--prefix P] [--init systemd|sshd] [--publish PORT]..."
  [[ $prefix =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die "bad prefix: $prefix"
  case $init in systemd | sshd) ;; *) die "--init must be systemd or sshd" ;; esac
  require_docker
  image_current || die "image $IMAGE missing or outdated; run: $SCRIPT_PATH image"

  local start dir key
  start=$(now)
  dir=$(state_dir "$prefix")
  key=$dir/id_ed25519
  log "bringing up $n host(s) $prefix-1..$prefix-$n (init: $init)"

  remove_prefix_containers "$prefix"
  rm -rf "$dir"
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "baton-fleet-$prefix" -f "$key"

  # The public key for root, deploy and secure, as a tar stream copied into each container
  # before it starts (no race with sshd, no exec per host).
  local stage
  stage=$(mktemp -d)
  install -d -m 0700 -o 0 -g 0 "$stage/root/.ssh"
  install -d -m 0700 -o 1000 -g 1000 "$stage/home/deploy/.ssh"
  install -d -m 0700 -o 1001 -g 1001 "$stage/home/secure/.ssh"
  install -m 0600 -o 0 -g 0 "$key.pub" "$stage/root/.ssh/authorized_keys"
  install -m 0600 -o 1000 -g 1000 "$key.pub" "$stage/home/deploy/.ssh/authorized_keys"
  install -m 0600 -o 1001 -g 1001 "$key.pub" "$stage/home/secure/.ssh/authorized_keys"
  tar -C "$stage" --numeric-owner -cf "$dir/authorized_keys.tar" root/.ssh home/deploy/.ssh home/secure/.ssh
  rm -rf "$stage"

  local run_args=(--label "$LABEL=$prefix" --label "$LABEL.init=$init" --network "$NETWORK")
  local cmd=()
  if [ "$init" = systemd ]; then
    run_args+=(-v /sys/fs/cgroup:/sys/fs/cgroup:ro --tmpfs /run --tmpfs /run/lock
      --stop-signal SIGRTMIN+3)
    cmd=(/sbin/init)
  else
    # baton-hostkeys: ssh-keygen -A, with a faster RSA key (see configure_rootfs).
    cmd=(/bin/sh -c '/usr/local/sbin/baton-hostkeys && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e')
  fi

  # Port choice and container creation happen under one machine-wide lock, so fleets brought up
  # concurrently (parallel tests) never pick the same port.
  local ports names=() i j failfile=$dir/.failed np=${#publish[@]} extra
  for ((i = 1; i <= n; i++)); do names+=("$prefix-$i"); done
  docker rm -f "${names[@]}" >/dev/null 2>&1 || true
  : >"$failfile"
  {
    flock 9
    ensure_network
    # ports[0..n-1]: ssh; then, with --publish, np more per host.
    mapfile -t ports < <(pick_ports "$((n * (1 + np)))")
    [ ${#ports[@]} -eq $((n * (1 + np))) ] || die "could not pick $((n * (1 + np))) free ports"
    : >"$dir/hosts.tsv"
    if [ "$np" -gt 0 ]; then : >"$dir/published.tsv"; fi
    for ((i = 0; i < n; i++)); do
      printf '%s\t%s\n' "${names[i]}" "${ports[i]}" >>"$dir/hosts.tsv"
      extra=()
      for ((j = 0; j < np; j++)); do
        local hp=${ports[n + i * np + j]}
        extra+=(-p "127.0.0.1:$hp:${publish[j]}")
        printf '%s\t%s\t%s\n' "${names[i]}" "${publish[j]}" "$hp" >>"$dir/published.tsv"
      done
      throttle 8
      {
        docker create --name "${names[i]}" --hostname "${names[i]}" -p "127.0.0.1:${ports[i]}:22" \
          "${extra[@]}" "${run_args[@]}" "$IMAGE" "${cmd[@]}" >/dev/null &&
          docker cp - "${names[i]}:/" <"$dir/authorized_keys.tar"
      } || echo "${names[i]}" >>"$failfile" &
    done
    wait
  } 9>"$LOCK_FILE"
  [ ! -s "$failfile" ] || die "creating container(s) failed: $(tr '\n' ' ' <"$failfile")"
  rm -f "$dir/authorized_keys.tar"
  log "created $n container(s) in $(($(now) - start)) s; starting them"

  # Start and wait per host, a bounded number at a time: on 2 cores the hosts' own boot work
  # (host key generation, systemd) competes with docker, so a flood of starts only queues.
  local timeout=${BATON_FLEET_TIMEOUT:-$((n > 60 ? 2 * n : 120))}
  local deadline=$(($(now) + timeout)) hk=$dir/.hostkeys
  mkdir -p "$hk"
  log "starting and waiting (up to ${timeout} s) until ssh answers on every host"
  for ((i = 0; i < n; i++)); do
    throttle "${BATON_FLEET_PARALLEL:-24}"
    {
      if ! docker start "${names[i]}" >/dev/null; then
        log "${names[i]}: docker start failed"
        false
      else
        wait_ssh_one "$key" "${ports[i]}" "${names[i]}" "$deadline" "$hk/${names[i]}"
      fi
    } || echo "${names[i]}" >>"$failfile" &
  done
  wait
  if [ -s "$failfile" ]; then
    die "$(wc -l <"$failfile") host(s) did not come up: $(head -n 10 "$failfile" | tr '\n' ' ')(containers left for inspection; remove with: $SCRIPT_PATH down --prefix $prefix)"
  fi
  rm -f "$failfile"

  write_state "$prefix" "$dir" "$key"
  log "fleet $prefix: $n host(s) up in $(($(now) - start)) s"
  if [ -n "$reap_pid" ]; then start_reaper "$reap_pid" "$prefix" "$dir"; fi
  printf '%s\n' "$dir/inventory.ini"
}

write_state() {
  local prefix=$1 dir=$2 key=$3 nm pt
  {
    printf '[fleet]\n'
    while IFS=$'\t' read -r nm pt; do
      printf '%s ansible_host=127.0.0.1 ansible_port=%s ansible_user=root ansible_ssh_private_key_file=%s\n' \
        "$nm" "$pt" "$key"
    done <"$dir/hosts.tsv"
    printf '\n[fleet:vars]\n'
    printf 'ansible_host_key_checking=false\n'
    printf "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
  } >"$dir/inventory.ini.tmp"
  mv "$dir/inventory.ini.tmp" "$dir/inventory.ini"
  while IFS=$'\t' read -r nm pt; do
    awk -v p="$pt" 'NF >= 2 { print "[127.0.0.1]:" p, $1, $2 }' "$dir/.hostkeys/$nm"
  done <"$dir/hosts.tsv" >"$dir/known_hosts.tmp"
  mv "$dir/known_hosts.tmp" "$dir/known_hosts"
  rm -rf "$dir/.hostkeys"
  local want got
  want=$(wc -l <"$dir/hosts.tsv")
  got=$(awk '{ print $1 }' "$dir/known_hosts" | sort -u | wc -l)
  [ "$want" -eq "$got" ] || log "warning: known_hosts has keys for $got of $want hosts"
}

# Remove the fleet once process PID is gone (a test binary that brought up its own fleet), unless
# it was already torn down (state dir removed).
start_reaper() {
  local pid=$1 prefix=$2 dir=$3
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid nohup bash -c '
    while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 1; done
    [ -d "$3" ] && exec bash "$0" down --prefix "$2"
  ' "$SCRIPT_PATH" "$pid" "$prefix" "$dir" >/dev/null 2>&1 </dev/null &
}

# --------------------------------------------------------------------------- single hosts

cmd_stop_host() {
  [ $# -eq 1 ] || die "usage: stop-host NAME"
  require_docker
  host_prefix "$1" >/dev/null
  docker stop -t 10 "$1" >/dev/null
  log "stopped $1"
}

cmd_start_host() {
  [ $# -eq 1 ] || die "usage: start-host NAME"
  require_docker
  local name=$1 prefix port key
  prefix=$(host_prefix "$name")
  port=$(host_port "$name")
  key=$(state_dir "$prefix")/id_ed25519
  [ -f "$key" ] || die "no key for fleet $prefix at $key"
  docker start "$name" >/dev/null
  wait_ssh_one "$key" "$port" "$name" $(($(now) + ${BATON_FLEET_TIMEOUT:-120})) ||
    die "$name did not answer ssh on port $port after start"
  log "started $name (ssh on 127.0.0.1:$port)"
}

cmd_exec() {
  [ $# -ge 2 ] || die "usage: exec NAME CMD..."
  local name=$1
  shift
  docker exec "$name" sh -c "$*"
}

cmd_ssh() {
  local user=root
  if [ "${1:-}" = -u ]; then user=${2:?-u needs a user}; shift 2; fi
  [ $# -ge 2 ] || die "usage: ssh [-u USER] NAME CMD..."
  local name=$1 prefix port
  shift
  prefix=$(host_prefix "$name")
  port=$(host_port "$name")
  exec ssh "${SSH_OPTS[@]}" -i "$(state_dir "$prefix")/id_ed25519" -p "$port" "$user@127.0.0.1" -- "$@"
}

# ---------------------------------------------------------------------------------- teardown

cmd_down() {
  local prefix=baton-fleet
  while [ $# -gt 0 ]; do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      *) die "down: unexpected argument $1" ;;
    esac
  done
  if docker info >/dev/null 2>&1; then
    remove_prefix_containers "$prefix"
    { flock 9; remove_network_if_unused; } 9>"$LOCK_FILE"
  else
    log "docker daemon not reachable; only removing state"
  fi
  rm -rf "$(state_dir "$prefix")"
  log "fleet $prefix is down"
}

cmd_down_all() {
  require_docker
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL")
  if [ -n "$ids" ]; then
    log "removing $(wc -w <<<"$ids") fleet container(s)"
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null
  fi
  { flock 9; remove_network_if_unused; } 9>"$LOCK_FILE"
  rm -rf "$STATE_ROOT"
  log "all fleets are down"
}

cmd_status() {
  require_docker
  docker ps -a --filter "label=$LABEL" \
    --format "table {{.Names}}\t{{.Label \"$LABEL\"}}\t{{.Label \"$LABEL.init\"}}\t{{.Status}}\t{{.Ports}}" >&2
  if image_current; then log "image $IMAGE: present"; else log "image $IMAGE: missing"; fi
}

# ---------------------------------------------------------------------------------------- main

[ $# -ge 1 ] || usage
sub=$1
shift
case $sub in
  deps) cmd_deps "$@" ;;
  image) cmd_image "$@" ;;
  up) cmd_up "$@" ;;
  stop-host) cmd_stop_host "$@" ;;
  start-host) cmd_start_host "$@" ;;
  exec) cmd_exec "$@" ;;
  ssh) cmd_ssh "$@" ;;
  down) cmd_down "$@" ;;
  down-all) cmd_down_all "$@" ;;
  status) cmd_status "$@" ;;
  -h | --help | help) usage 0 ;;
  *) log "unknown subcommand: $sub"; usage ;;
esac
