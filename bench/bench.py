#!/usr/bin/env python3
"""The benchmark of issue #10: the same workloads run by baton, ansible-playbook, pyinfra,
jetporch (`jetp`) and an OpenSSH floor, on the same fleet, interleaved, several rounds.

Called by bench/run.sh, which brings up the fleet, makes the virtualenv and builds the
binaries; run it directly only with all of those at hand (see `--help`).

Workloads (each tool gets its own spelling of the same work, generated here so that the
spellings cannot drift apart; ansible-playbook and baton read the very same files):

  fanout     100 hosts x 4 trivial tasks: command, file (directory), copy (content), shell
  deep       10 hosts x 40 tasks (10 each of command, file, copy, shell), run twice: the
             first run on clean hosts, then the idempotent second run (nothing to change)
  facts      50 hosts, fact gathering only
  template   20 hosts x one 2,000-line nginx-style template rendered and copied
  pymod      10 hosts x 40 tasks of Ansible's Python modules that baton does not implement
             natively (10 each of find, tempfile, known_hosts, dpkg_selections: baton runs them as the
             real Python modules, issue 20), by baton, ansible-core (pipelining) and
             ansible-core with Mitogen (`mitogen` from PyPI, strategy `mitogen_linear`); the
             other tools have no equivalent
  scale      the fanout workload (4 tasks) on 100, 300 and 1,000 inventory hosts (`--scale-sizes`)
             placed on the fleet's containers in turn: several inventory names per container,
             each name its own SSH connection (ansible: its own ControlMaster socket too).
             Measured besides: the peak of open file descriptors and of the resident memory
             summed over the tool's process tree (sampled every 0.2 s), and every figure per
             host. One round; a tool that does not finish in `--scale-timeout` seconds is
             stopped and recorded as such, and not run at the larger sizes
  controller 10,000-host inventory x 500-task playbook: `--list-tasks`, and `--check` with
             `connection: local` limited to CHECK_HOSTS hosts (phase check) and, baton
             alone, to 100 hosts (check100); baton and ansible-playbook only (the others have
             no equivalent)

The OpenSSH floor is one `ssh` process per host, all at once, each running the workload's
commands as one shell script over its one connection: the least any tool that starts its
connections from scratch can do. Every timed run starts from clean hosts (the previous
run's files are removed, untimed, through ControlMaster connections opened once), except
deep's second run, which is meant to find the first run's work done.

Measured per run: wall time, CPU seconds (user + system of the tool's process and all the
processes it waited for: ansible's ssh clients, the OpenSSH loop's ssh clients), and peak RSS
(the largest single process among them). Reported: medians over the rounds, and each
tool's wall and CPU time as a multiple of baton's.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import signal
import sys
import threading
import time

TOOLS = ["baton", "baton-old", "ansible", "mitogen", "pyinfra", "jetp", "openssh"]
HOSTS = {"fanout": 100, "deep": 10, "facts": 50, "template": 20, "pymod": 10}
WORKLOADS = ["fanout", "deep", "facts", "template", "pymod", "scale", "controller"]
SCALE_TOOLS = ["baton", "baton-old", "ansible", "pyinfra", "openssh"]
# Who runs which workload: Mitogen is measured on the Python-module workload only, which the
# tools without Ansible's modules cannot run.
ONLY = {"mitogen": {"pymod"}}
NOT = {"pyinfra": {"pymod"}, "jetp": {"pymod"}, "openssh": {"pymod"}}
# The controller workload's --check run: this many hosts of the 10,000 (ansible-playbook
# starts a Python process per module task and host, so all 10,000 would take it hours).
CHECK_HOSTS = 5
CONTROLLER_HOSTS = 10_000
CONTROLLER_TASKS = 500
SSH_OPTS = [
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
]  # fmt: skip


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# ------------------------------------------------------------------------------ workloads
#
# A workload is a list of steps; every tool renders the same steps in its own dialect.
# ("command", text) | ("shell", text) | ("dir", path) | ("copy", content, dest)


def fanout_steps():
    return [
        ("command", "echo fanout"),
        ("dir", "/tmp/bench-fanout"),
        ("copy", "hello from the benchmark\n", "/tmp/bench-fanout/hello.txt"),
        ("shell", 'echo "$HOSTNAME" | wc -c'),
    ]


def deep_steps():
    steps = []
    for i in range(1, 11):
        steps += [
            ("command", f"echo deep {i}"),
            ("dir", f"/tmp/bench-deep/d{i}"),
            ("copy", f"line {i} of the deep workload\n", f"/tmp/bench-deep/d{i}/f.txt"),
            ("shell", f'echo {i} "$HOSTNAME" | wc -c'),
        ]
    return steps


TEMPLATE_VARS = {
    "http_port": 8080,
    "domain": "bench.example.com",
    "upstream_port": 9000,
    "max_body": "16m",
}
TEMPLATE_DEST = "/tmp/bench-nginx.conf"


def nginx_template():
    """2,000 lines: 200 server blocks of 10 lines, with plain `{{ var }}` substitutions that
    Jinja2, minijinja and handlebars (jetporch) all read the same way."""
    out = []
    for n in range(200):
        out += [
            "server {",
            "    listen {{ http_port }};",
            f"    server_name app{n}.{{{{ domain }}}};",
            f"    root /srv/site{{{{ site_id }}}}/app{n};",
            f"    access_log /var/log/nginx/app{n}.access.log;",
            "    location / {",
            "        proxy_pass http://127.0.0.1:{{ upstream_port }};",
            "    }",
            "    client_max_body_size {{ max_body }};",
            "}",
        ]
    return "\n".join(out) + "\n"


def render_template(site_id):
    text = nginx_template()
    for k, v in dict(TEMPLATE_VARS, site_id=site_id).items():
        text = text.replace("{{ " + k + " }}", str(v))
    return text


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML string


def ansible_playbook(name, steps, quiet_commands):
    lines = [f"- name: {name}", "  hosts: all", "  gather_facts: false", "  tasks:"]
    for n, step in enumerate(steps, 1):
        kind = step[0]
        lines.append(f"    - name: {kind} {n}")
        if kind in ("command", "shell"):
            lines.append(f"      {kind}: {yaml_str(step[1])}")
            if quiet_commands:
                lines.append("      changed_when: false")
        elif kind == "dir":
            lines += ["      file:", f"        path: {step[1]}", "        state: directory",
                      '        mode: "0755"']  # fmt: skip
        elif kind == "copy":
            lines += ["      copy:", f"        content: {yaml_str(step[1])}",
                      f"        dest: {step[2]}", '        mode: "0644"']  # fmt: skip
    return "\n".join(lines) + "\n"


def pymod_playbook():
    """10 x 4 Python modules that baton has no native version of (it runs Ansible's own):
    find reads a directory, tempfile creates a file, known_hosts finds nothing to remove,
    dpkg_selections finds sudo already selected for install."""
    lines = ["- name: pymod", "  hosts: all", "  gather_facts: false", "  tasks:"]
    for i in range(1, 11):
        lines += [
            f"    - name: find {i}",
            "      find: {paths: /etc/apt, patterns: '*.list'}",
            f"    - name: tempfile {i}",
            "      tempfile: {state: file, suffix: .benchpy}",
            f"    - name: known_hosts {i}",
            "      known_hosts: {path: /tmp/bench-pymod-kh, name: example.org, state: absent}",
            f"    - name: dpkg_selections {i}",
            "      dpkg_selections: {name: sudo, selection: install}",
        ]
    return "\n".join(lines) + "\n"


def pyinfra_deploy(steps):
    lines = ["from io import StringIO", "from pyinfra.operations import files, server", ""]
    for n, step in enumerate(steps, 1):
        kind = step[0]
        if kind in ("command", "shell"):
            lines.append(f"server.shell(name={kind + ' ' + str(n)!r}, commands=[{step[1]!r}])")
        elif kind == "dir":
            lines.append(f"files.directory(name='dir {n}', path={step[1]!r}, mode='755')")
        elif kind == "copy":
            lines.append(
                f"files.put(name='copy {n}', src=StringIO({step[1]!r}), dest={step[2]!r}, "
                "mode='644')"
            )
    return "\n".join(lines) + "\n"


def jetp_playbook(name, steps, files_dir):
    """jetporch's dialect. Its copy module takes only a controller file (no `content`), so
    each content is written to a file first; its shell refuses `$` and `|` unless `unsafe`."""
    lines = [f"- name: {name}", "  groups: [bench]", "  ssh_user: root", "  tasks:"]
    for n, step in enumerate(steps, 1):
        kind = step[0]
        if kind in ("command", "shell"):
            lines += ["    - !shell", f"      name: {kind} {n}", f"      cmd: {yaml_str(step[1])}"]
            if kind == "shell":
                lines.append("      unsafe: true")
        elif kind == "dir":
            lines += ["    - !directory", f"      name: dir {n}", f"      path: {step[1]}",
                      "      attributes:", "        owner: root", "        group: root",
                      "        mode: 0o755"]  # fmt: skip
        elif kind == "copy":
            src = os.path.join(files_dir, f"{name}-{n}.txt")
            with open(src, "w") as f:
                f.write(step[1])
            lines += ["    - !copy", f"      name: copy {n}", f"      src: {src}",
                      f"      dest: {step[2]}", "      attributes:", "        owner: root",
                      "        group: root", "        mode: 0o644"]  # fmt: skip
    return "\n".join(lines) + "\n"


def openssh_script(steps):
    """The same work as one shell script, for one connection per host."""
    out = []
    for step in steps:
        kind = step[0]
        if kind in ("command", "shell"):
            out.append(step[1])
        elif kind == "dir":
            out.append(f"mkdir -p {step[1]} && chmod 0755 {step[1]}")
        elif kind == "copy":
            out.append(f"printf %s {sh_quote(step[1])} > {step[2]} && chmod 0644 {step[2]}")
    return "\n".join(out) + "\n"


FACTS_PYINFRA = [
    "server.Hostname", "server.Os", "server.OsVersion", "server.Arch", "server.KernelVersion",
    "server.LinuxDistribution", "server.Mounts", "server.Date", "server.Users",
]  # fmt: skip
# What Ansible's setup module reads (roughly), for the floor and for comparison.
FACTS_OPENSSH = (
    "hostname; uname -a; cat /etc/os-release /proc/cpuinfo /proc/meminfo /proc/mounts "
    "/etc/passwd; ip -o addr; df -P; date; id\n"
)


# ------------------------------------------------------------------------------ the setup


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.fleet = os.path.abspath(args.fleet)
        self.key = os.path.join(self.fleet, "id_ed25519")
        self.hosts = []
        with open(os.path.join(self.fleet, "hosts.tsv")) as f:
            for line in f:
                name, port = line.split()[:2]
                self.hosts.append((name, int(port)))
        self.venv = os.path.abspath(args.venv)
        self.results = []  # dicts: workload, phase, tool, round, wall, cpu, rss, rc, log
        self.env = dict(os.environ)
        self.env["ANSIBLE_CONFIG"] = os.path.join(self.work, "ansible.cfg")
        self.env["PATH"] = os.path.join(self.venv, "bin") + ":" + self.env["PATH"]
        self.env["PYTHONWARNINGS"] = "ignore"
        self.agent = None
        self.masters = []

    # --- files -------------------------------------------------------------------------

    def write(self, rel, text):
        path = os.path.join(self.work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def prepare(self, workloads):
        os.makedirs(self.work, exist_ok=True)
        cp = os.path.join(self.work, "cp")
        os.makedirs(cp, exist_ok=True)
        forks = max(HOSTS.values())
        self.write(
            "ansible.cfg",
            f"""[defaults]
forks = {forks}
host_key_checking = False
retry_files_enabled = False
interpreter_python = /usr/bin/python3
deprecation_warnings = False
timeout = 60

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no
control_path_dir = {cp}
""",
        )
        self.write("files/.keep", "")
        for n in sorted({HOSTS[w] for w in workloads if w in HOSTS}):
            self.write_inventories(n)
        steps = {"fanout": fanout_steps(), "deep": deep_steps()}
        for w in ("fanout", "deep"):
            quiet = w == "deep"
            self.write(f"ansible/{w}.yml", ansible_playbook(w, steps[w], quiet))
            self.write(f"pyinfra/{w}.py", pyinfra_deploy(steps[w]))
            self.write(
                f"jetp/{w}.yml",
                jetp_playbook(w, steps[w], os.path.join(self.work, "files")),
            )
            self.write(f"openssh/{w}.sh", openssh_script(steps[w]))
        self.write(
            "ansible/facts.yml", "- name: facts\n  hosts: all\n  gather_facts: true\n  tasks: []\n"
        )
        self.write(
            "jetp/facts.yml",
            "- name: facts\n  groups: [bench]\n  ssh_user: root\n  tasks:\n"
            "    - !facts\n      name: facts\n",
        )
        self.write("openssh/facts.sh", FACTS_OPENSSH)
        self.write("ansible/pymod.yml", pymod_playbook())
        self.write("templates/nginx.conf.j2", nginx_template())
        tvars = "".join(f"    {k}: {yaml_str(v)}\n" for k, v in TEMPLATE_VARS.items())
        self.write(
            "ansible/template.yml",
            "- name: template\n  hosts: all\n  gather_facts: false\n  vars:\n"
            + tvars
            + "  tasks:\n    - name: template\n      template:\n"
            + f"        src: {self.work}/templates/nginx.conf.j2\n"
            + f"        dest: {TEMPLATE_DEST}\n",
        )
        kwargs = ", ".join(f"{k}={v!r}" for k, v in TEMPLATE_VARS.items())
        self.write(
            "pyinfra/template.py",
            "from pyinfra import host\nfrom pyinfra.operations import files\n\n"
            f"files.template(name='template', src={self.work + '/templates/nginx.conf.j2'!r}, "
            f"dest={TEMPLATE_DEST!r}, {kwargs}, site_id=host.data.site_id)\n",
        )
        self.write(
            "jetp/template.yml",
            "- name: template\n  groups: [bench]\n  ssh_user: root\n  vars:\n"
            + tvars
            + "  tasks:\n    - !template\n      name: template\n"
            + f"      src: {self.work}/templates/nginx.conf.j2\n"
            + f"      dest: {TEMPLATE_DEST}\n",
        )
        if "controller" in workloads:
            self.write_controller()

    def write_inventories(self, n):
        hosts = self.hosts[:n]
        if len(hosts) < n:
            sys.exit(f"the fleet has {len(self.hosts)} hosts, {n} are needed")
        ini = [
            f"{name} ansible_host=127.0.0.1 ansible_port={port} site_id={i}"
            for i, (name, port) in enumerate(hosts, 1)
        ]
        ini += ["", "[all:vars]", "ansible_user=root",
                f"ansible_ssh_private_key_file={self.key}"]  # fmt: skip
        self.write(f"inv/{n}.ini", "\n".join(ini) + "\n")
        py = self.pyinfra_inventory(hosts)
        self.write(f"inv/{n}.py", py)
        # jetporch: a directory with groups/ and host_vars/. It connects to the host's
        # *name* (it ignores jet_ssh_hostname when connecting), so run.sh maps the fleet's
        # names to 127.0.0.1 in /etc/hosts.
        d = f"inv/jetp-{n}"
        self.write(f"{d}/groups/bench", "hosts:\n" + "".join(f"  - {h}\n" for h, _ in hosts))
        for i, (name, port) in enumerate(hosts, 1):
            self.write(f"{d}/host_vars/{name}", f"jet_ssh_port: {port}\nsite_id: {i}\n")
        self.write(f"inv/{n}.hosts", "".join(f"{h} {p}\n" for h, p in hosts))

    def pyinfra_inventory(self, hosts):
        """pyinfra's inventory (a Python file) of (name, port) hosts."""
        py = ["hosts = ["]
        for i, (name, port) in enumerate(hosts, 1):
            data = {
                "ssh_hostname": "127.0.0.1",
                "ssh_port": port,
                "ssh_user": "root",
                "ssh_key": self.key,
                "ssh_known_hosts_file": "/dev/null",
                "ssh_strict_host_key_checking": "off",
                "site_id": i,
            }
            py.append(f"    ({name!r}, {data!r}),")
        py.append("]")
        return "\n".join(py) + "\n"

    def scale_hosts(self, n):
        """`n` inventory hosts on the fleet's containers in turn: NAME-sK is the K-th name of
        container NAME."""
        c = len(self.hosts)
        return [(f"{self.hosts[i % c][0]}-s{i // c}", self.hosts[i % c][1]) for i in range(n)]

    def write_scale_inventories(self, n):
        hosts = self.scale_hosts(n)
        cp = os.path.join(self.work, "cp")
        # ansible's ControlPath is a hash of address, port and user: the names of one container
        # would share one master. Each name gets its own socket, so each has its own connection.
        ini = [
            f"{name} ansible_host=127.0.0.1 ansible_port={port} site_id={i} "
            f"ansible_control_path={cp}/s{i}"
            for i, (name, port) in enumerate(hosts, 1)
        ]
        ini += ["", "[all:vars]", "ansible_user=root",
                f"ansible_ssh_private_key_file={self.key}"]  # fmt: skip
        self.write(f"inv/scale-{n}.ini", "\n".join(ini) + "\n")
        py = self.pyinfra_inventory(hosts)
        self.write(f"inv/scale-{n}.py", py)
        self.write(f"inv/scale-{n}.hosts", "".join(f"{h} {p}\n" for h, p in hosts))

    def raise_max_startups(self):
        """Ten connections arrive at once at each container at 1,000 hosts: sshd's default
        MaxStartups (10:30:100) starts refusing at ten unauthenticated ones. Raised for the
        bench fleet (sshd is the containers' init; SIGHUP makes it read its configuration
        again)."""
        procs = []
        for name, _ in self.hosts:
            procs.append(subprocess.Popen(
                ["docker", "exec", name, "sh", "-c",
                 "printf 'MaxStartups 200:30:400\\nMaxSessions 50\\n' "
                 ">/etc/ssh/sshd_config.d/bench-scale.conf && kill -HUP 1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        for p in procs:
            p.wait()
        time.sleep(2)

    def write_controller(self):
        lines = []
        for g in range(CONTROLLER_HOSTS // 100):
            lines.append(f"[g{g:03d}]")
            for h in range(100):
                n = g * 100 + h
                lines.append(f"node{n:05d}.example.com rack=r{h % 8} idx={n}")
            lines += ["", f"[g{g:03d}:vars]", f"group_id={g}", ""]
        lines += ["[all:vars]", "ansible_connection=local",
                  "ansible_python_interpreter=/usr/bin/python3"]  # fmt: skip
        self.write("controller/inventory.ini", "\n".join(lines) + "\n")
        tasks = ["- name: controller", "  hosts: all", "  gather_facts: false", "  tasks:"]
        for n in range(CONTROLLER_TASKS):
            k = n % 5
            tasks.append(f"    - name: task {n}")
            if k == 0:
                tasks.append(f'      debug: msg="{{{{ inventory_hostname }}}} rack {{{{ rack }}}} step {n}"')
            elif k == 1:
                tasks.append(f'      set_fact: v{n}="{{{{ idx | int * {n} }}}}"')
            elif k == 2:
                tasks += ["      assert:", f'        that: "v{n - 1} | int >= 0"', "        quiet: true"]
            elif k == 3:
                tasks.append(f"      debug: var=v{n - 2}")
            else:
                tasks.append(f"      command: echo {n}")
        self.write("controller/playbook.yml", "\n".join(tasks) + "\n")

    # --- fleet state ------------------------------------------------------------------

    def start_agent(self):
        """jetporch authenticates only through ssh-agent."""
        sock = os.path.join(self.work, "agent.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        out = subprocess.run(["ssh-agent", "-a", sock], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
        pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
        self.agent = pid
        self.env["SSH_AUTH_SOCK"] = sock
        subprocess.run(["ssh-add", "-q", self.key], env=self.env, check=True)

    def open_masters(self):
        """One ControlMaster connection per host, used only for the untimed clean-ups."""
        d = os.path.join(self.work, "masters")
        os.makedirs(d, exist_ok=True)
        procs = []
        for name, port in self.hosts[: max(HOSTS.values())]:  # as many as the fleet has
            sock = os.path.join(d, name)
            self.masters.append((name, port, sock))
            if os.path.exists(sock):
                continue
            procs.append(
                subprocess.Popen(
                    ["ssh", *SSH_OPTS, "-i", self.key, "-p", str(port), "-o", "ControlMaster=yes",
                     "-o", f"ControlPath={sock}", "-o", "ControlPersist=yes", "-fN",
                     "root@127.0.0.1"]  # fmt: skip
                )
            )
        for p in procs:
            p.wait()

    def close_masters(self):
        for _, port, sock in self.masters:
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "root@127.0.0.1"],
                           capture_output=True)  # fmt: skip

    def clean(self, n):
        """Removes what the workloads leave on the first `n` hosts (untimed)."""
        cmd = (
            f"rm -rf /tmp/bench-fanout /tmp/bench-deep {TEMPLATE_DEST} /tmp/.baton_tmp* "
            "/tmp/ansible.*.benchpy 2>/dev/null; true"
        )
        procs = [
            subprocess.Popen(["ssh", *SSH_OPTS, "-o", f"ControlPath={sock}", "-p", str(port),
                              "root@127.0.0.1", cmd])  # fmt: skip
            for _, port, sock in self.masters[:n]
        ]
        for p in procs:
            p.wait()

    def close_ansible_masters(self):
        """ansible-playbook's ControlPersist masters outlive it: close them after each run so
        that every run (its next one included) starts without connections, as the others do."""
        cp = os.path.join(self.work, "cp")
        for s in os.listdir(cp):
            subprocess.run(["ssh", "-o", f"ControlPath={os.path.join(cp, s)}", "-O", "exit",
                            "x"], capture_output=True)  # fmt: skip

    # --- commands ----------------------------------------------------------------------

    def command(self, tool, workload, n):
        w = self.work
        if workload == "scale":
            return self.scale_command(tool, n)
        inv = f"{w}/inv/{n}.ini"
        if tool in ("baton", "baton-old"):
            return [self.baton_bin(tool), "play", f"{w}/ansible/{workload}.yml", "-i", inv,
                    "-f", str(n)]  # fmt: skip
        if tool in ("ansible", "mitogen"):
            return [f"{self.venv}/bin/ansible-playbook", f"{w}/ansible/{workload}.yml", "-i", inv,
                    "-f", str(n)]  # fmt: skip
        if tool == "pyinfra":
            base = [f"{self.venv}/bin/pyinfra", "-y", f"{w}/inv/{n}.py"]
            if workload == "facts":
                return base + ["fact", *FACTS_PYINFRA]
            return base + [f"{w}/pyinfra/{workload}.py"]
        if tool == "jetp":
            return [self.args.jetp, "ssh", "-i", f"{w}/inv/jetp-{n}", "-p",
                    f"{w}/jetp/{workload}.yml", "--threads", str(n)]  # fmt: skip
        if tool == "openssh":
            return ["bash", f"{os.path.dirname(os.path.abspath(__file__))}/openssh_floor.sh",
                    f"{w}/inv/{n}.hosts", self.key, self.per_host_script(workload)]  # fmt: skip
        raise ValueError(tool)

    def scale_command(self, tool, n):
        w = self.work
        inv = f"{w}/inv/scale-{n}.ini"
        if tool in ("baton", "baton-old"):
            return [self.baton_bin(tool), "play", f"{w}/ansible/fanout.yml", "-i", inv,
                    "-f", str(n)]  # fmt: skip
        if tool == "ansible":
            return [f"{self.venv}/bin/ansible-playbook", f"{w}/ansible/fanout.yml", "-i", inv,
                    "-f", str(n)]  # fmt: skip
        if tool == "pyinfra":
            return [f"{self.venv}/bin/pyinfra", "-y", f"{w}/inv/scale-{n}.py",
                    f"{w}/pyinfra/fanout.py"]  # fmt: skip
        if tool == "openssh":
            return ["bash", f"{os.path.dirname(os.path.abspath(__file__))}/openssh_floor.sh",
                    f"{w}/inv/scale-{n}.hosts", self.key, f"{w}/openssh/fanout.sh"]  # fmt: skip
        raise ValueError(tool)

    def baton_bin(self, tool):
        """`baton` is the binary measured; `baton-old` another build of it (`--baton-old`),
        run on the same files, to compare two versions in one interleaved run."""
        return self.args.baton if tool == "baton" else self.args.baton_old

    def per_host_script(self, workload):
        if workload == "template":
            # The floor renders on the controller (sed), then streams each host its file.
            return "TEMPLATE"
        return f"{self.work}/openssh/{workload}.sh"

    def tool_env(self, tool):
        """ansible-playbook with Mitogen: its strategy plugin from the venv's ansible_mitogen."""
        if tool != "mitogen":
            return self.env
        import glob

        found = glob.glob(f"{self.venv}/lib/python3*/site-packages/ansible_mitogen/plugins/strategy")
        if not found:
            sys.exit(f"Mitogen is not installed in {self.venv} (bench/run.sh installs it)")
        return dict(self.env, ANSIBLE_STRATEGY_PLUGINS=found[0], ANSIBLE_STRATEGY="mitogen_linear")

    def timed(self, argv, log, cwd=None, env=None):
        """Runs argv under /usr/bin/time: its figures are those of the tool alone (rusage
        taken from here would count this Python process's own size as the child's peak RSS,
        which the child inherits until its exec)."""
        tfile = log + ".time"
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile, *argv]
        with open(log, "wb") as out:
            p = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env or self.env, cwd=cwd or self.work)  # fmt: skip
        wall, user, system, rss = open(tfile).read().split("\n")[-2].split()
        return {
            "wall": float(wall),
            "cpu": float(user) + float(system),
            "rss": int(rss) / 1024.0,  # MiB
            "rc": p.returncode,
        }

    def timed_sampled(self, argv, log, timeout):
        """`timed`, and meanwhile every 0.2 s the tool's process tree: the peak of its open
        file descriptors and of its resident memory, each summed over the tree. Stopped (the
        whole process group) after `timeout` seconds: then `rc` is "timeout"."""
        tfile = log + ".time"
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile, *argv]
        page = os.sysconf("SC_PAGE_SIZE")
        peak = {"fds": 0, "rss": 0, "procs": 0}
        done = threading.Event()

        def tree(root):
            children = {}
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(d))
            out, todo = [], [root]
            while todo:
                p = todo.pop()
                out.append(p)
                todo.extend(children.get(p, []))
            return out

        def sample(root):
            while not done.wait(0.2):
                fds = rss = 0
                pids = tree(root)
                for p in pids[1:]:  # not /usr/bin/time itself
                    try:
                        fds += len(os.listdir(f"/proc/{p}/fd"))
                        with open(f"/proc/{p}/statm") as f:
                            rss += int(f.read().split()[1]) * page
                    except (OSError, ValueError, IndexError):
                        continue
                peak["fds"] = max(peak["fds"], fds)
                peak["rss"] = max(peak["rss"], rss)
                peak["procs"] = max(peak["procs"], len(pids) - 1)

        with open(log, "wb") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=self.env, cwd=self.work,
                                 start_new_session=True)  # fmt: skip
            t = threading.Thread(target=sample, args=(p.pid,), daemon=True)
            t.start()
            started = time.monotonic()
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # ansible's workers leave the process group: every process of the tree goes.
                for pid in reversed(tree(p.pid)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
                rc = "timeout"
            done.set()
            t.join()
        m = {"tree_fds": peak["fds"], "tree_rss": peak["rss"] / 1048576.0,
             "procs": peak["procs"], "rc": rc}  # fmt: skip
        if rc == "timeout":
            m.update(wall=time.monotonic() - started, cpu=float("nan"), rss=float("nan"))
            return m
        wall, user, system, rss = open(tfile).read().split("\n")[-2].split()
        m.update(wall=float(wall), cpu=float(user) + float(system), rss=int(rss) / 1024.0)
        return m

    def run_scale(self, tools, sizes, timeout):
        """The fanout workload at each size, each tool once; a tool that timed out is not
        run at the larger sizes."""
        self.raise_max_startups()
        gave_up = {}
        for n in sizes:
            for tool in [t for t in tools if t in SCALE_TOOLS]:
                log = os.path.join(self.work, "logs", f"scale-{n}-{tool}.log")
                os.makedirs(os.path.dirname(log), exist_ok=True)
                if tool in gave_up:
                    m = {"rc": f"not run: did not finish {gave_up[tool]}", "wall": float("nan"),
                         "cpu": float("nan"), "rss": float("nan"), "tree_fds": 0,
                         "tree_rss": float("nan"), "procs": 0}  # fmt: skip
                    self.record("scale", str(n), tool, 1, m, log)
                    continue
                self.clean(len(self.masters))
                m = self.timed_sampled(self.command(tool, "scale", n), log, timeout)
                if m["rc"] == "timeout":
                    gave_up[tool] = f"{n} hosts in {timeout} s"
                elif m["rc"] == 0 and not self.check_scale(tool, n, log):
                    m["rc"] = -100
                if tool == "ansible":
                    self.close_ansible_masters()
                self.record("scale", str(n), tool, 1, m, log)

    def check_scale(self, tool, n, log):
        """Every host ok: a recap line per host, none failed or unreachable."""
        if not self.check_output(tool, "scale", log):
            return False
        if tool in ("baton", "baton-old", "ansible"):
            text = open(log, errors="replace").read()
            return sum(1 for line in text.splitlines() if ": ok=" in line) == n
        return True

    def record(self, workload, phase, tool, rnd, m, log):
        m.update(workload=workload, phase=phase, tool=tool, round=rnd, log=log,
                 load=os.getloadavg()[0])  # fmt: skip
        self.results.append(m)
        ok = "ok" if m["rc"] == 0 else f"rc={m['rc']} (see {log})"
        if "tree_fds" in m:
            ok += f"  fds {m['tree_fds']}  tree rss {m['tree_rss']:.1f} MiB  procs {m['procs']}"
        print(f"  {workload:<10} {phase:<7} {tool:<8} round {rnd}: wall {m['wall']:7.2f} s  "
              f"cpu {m['cpu']:7.2f} s  rss {m['rss']:7.1f} MiB  load {m['load']:5.1f}  {ok}",
              flush=True)  # fmt: skip
        with open(os.path.join(self.work, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)

    def check_output(self, tool, workload, log):
        """A run that printed a failure is not a valid measurement."""
        text = open(log, errors="replace").read()
        if tool in ("baton", "baton-old", "ansible", "mitogen"):
            for line in text.splitlines():
                if ": ok=" in line and ("failed=0" not in line or "unreachable=0" not in line):
                    return False
        return True

    # --- the workloads -----------------------------------------------------------------

    def run_remote(self, workloads, tools, rounds):
        for rnd in range(1, rounds + 1):
            for workload in workloads:
                n = HOSTS[workload]
                for tool in tools:
                    if tool == "ansible" and rnd > self.args.ansible_rounds:
                        continue
                    if workload not in ONLY.get(tool, {workload}) or workload in NOT.get(tool, ()):
                        continue
                    phases = ["first", "second"] if workload == "deep" else ["run"]
                    if tool == "openssh" and workload == "deep":
                        phases = ["run"]
                    self.clean(n)
                    for phase in phases:
                        log = os.path.join(self.work, "logs", f"{workload}-{phase}-{tool}-{rnd}.log")
                        os.makedirs(os.path.dirname(log), exist_ok=True)
                        m = self.timed(self.command(tool, workload, n), log, env=self.tool_env(tool))
                        if m["rc"] == 0 and not self.check_output(tool, workload, log):
                            m["rc"] = -100
                        if tool in ("ansible", "mitogen"):
                            self.close_ansible_masters()
                        self.record(workload, phase, tool, rnd, m, log)

    def run_controller(self, tools, rounds):
        w = f"{self.work}/controller"
        inv, pb = f"{w}/inventory.ini", f"{w}/playbook.yml"
        limit = f"all[0:{CHECK_HOSTS - 1}]"
        for rnd in range(1, rounds + 1):
            for tool in [t for t in tools if t in ("baton", "baton-old", "ansible")]:
                for phase in ("list", "check", "check100"):
                    if phase == "check100" and tool == "ansible":
                        continue  # ansible-playbook: minutes per run; baton alone
                    if tool in ("baton", "baton-old"):
                        argv = [self.baton_bin(tool), "play", pb, "-i", inv]
                    else:
                        argv = [f"{self.venv}/bin/ansible-playbook", pb, "-i", inv]
                    if phase == "list":
                        argv.append("--list-tasks")
                    elif phase == "check":
                        argv += ["--check", "-l", limit, "-f", str(CHECK_HOSTS)]
                    else:
                        argv += ["--check", "-l", "all[0:99]", "-f", "100"]
                    if tool == "ansible" and phase == "check" and rnd > self.args.ansible_check_rounds:
                        continue
                    log = os.path.join(self.work, "logs", f"controller-{phase}-{tool}-{rnd}.log")
                    os.makedirs(os.path.dirname(log), exist_ok=True)
                    m = self.timed(argv, log, cwd=w)
                    if m["rc"] == 0 and phase == "check" and not self.check_output(tool, "", log):
                        m["rc"] = -100
                    self.record("controller", phase, tool, rnd, m, log)

    # --- the report --------------------------------------------------------------------

    def summary(self):
        rows = {}
        for r in self.results:
            if r["workload"] == "scale":
                continue
            rows.setdefault((r["workload"], r["phase"]), {}).setdefault(r["tool"], []).append(r)
        order = {w: i for i, w in enumerate(WORKLOADS)}
        out = [
            "| workload | phase | tool | runs | wall median (s) | CPU median (s) | peak RSS (MiB) "
            "| wall / baton | CPU / baton | load avg |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for (workload, phase), by_tool in sorted(
            rows.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1] != "first", kv[0][1])
        ):
            base = None
            meds = {}
            for tool, runs in by_tool.items():
                good = [r for r in runs if r["rc"] == 0]
                if good:
                    meds[tool] = (
                        statistics.median(r["wall"] for r in good),
                        statistics.median(r["cpu"] for r in good),
                        max(r["rss"] for r in good),
                        statistics.median(r["load"] for r in good),
                        len(good),
                        len(runs),
                    )
            base = meds.get("baton")
            for tool in TOOLS:
                if tool not in by_tool:
                    continue
                if tool not in meds:
                    out.append(f"| {workload} | {phase} | {tool} | 0/{len(by_tool[tool])} | failed | | | | | |")
                    continue
                wall, cpu, rss, load, good, total = meds[tool]
                rw = f"{wall / base[0]:.1f}x" if base else ""
                rc = f"{cpu / base[1]:.1f}x" if base and base[1] > 0 else ""
                runs = f"{good}" if good == total else f"{good}/{total}"
                out.append(
                    f"| {workload} | {phase} | {tool} | {runs} | {wall:.2f} | {cpu:.2f} | {rss:.0f} "
                    f"| {rw} | {rc} | {load:.1f} |"
                )
        return "\n".join(out)


    def scale_summary(self):
        rows = [r for r in self.results if r["workload"] == "scale"]
        if not rows:
            return ""
        out = [
            "| hosts | tool | wall (s) | CPU (s) | peak RSS, largest process (MiB) "
            "| peak RSS, process tree (MiB) | peak open fds (tree) | wall / host (ms) "
            "| CPU / host (ms) | RSS / host (KiB) | fds / host |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sorted(rows, key=lambda r: (int(r["phase"]), TOOLS.index(r["tool"]))):
            n = int(r["phase"])
            if r["rc"] != 0:
                why = r["rc"]
                if why == "timeout":
                    why = f"did not finish in {r['wall']:.0f} s (stopped)"
                elif isinstance(why, int):
                    why = f"failed (rc={why}, see {os.path.basename(r['log'])})"
                out.append(f"| {n} | {r['tool']} | {why} | | | | | | | | |")
                continue
            out.append(
                f"| {n} | {r['tool']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} "
                f"| {r['tree_rss']:.0f} | {r['tree_fds']} | {r['wall'] * 1000 / n:.1f} "
                f"| {r['cpu'] * 1000 / n:.2f} | {r['tree_rss'] * 1024 / n:.0f} "
                f"| {r['tree_fds'] / n:.2f} |"
            )
        return "\n".join(out)


def versions(args):
    def first_line(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001 - a version we cannot read is reported as such
            return f"unknown ({e})"

    v = {
        "baton": first_line([args.baton, "--version"]),
        "ansible-core": first_line([f"{args.venv}/bin/ansible-playbook", "--version"]),
        "pyinfra": first_line([f"{args.venv}/bin/pyinfra", "--version"]),
        "mitogen": first_line([f"{args.venv}/bin/python", "-c",
                               "import mitogen; print('mitogen', mitogen.__version__)"]),  # fmt: skip
        "openssh": first_line(["ssh", "-V"]),
    }
    if args.jetp:
        v["jetp"] = "jetp 0.1.1 (crates.io, built from source)"
    if args.baton_old:
        v["baton-old"] = first_line([args.baton_old, "--version"]) + f" ({args.baton_old})"
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workloads", nargs="*", default=WORKLOADS)
    ap.add_argument("--fleet", required=True, help="fleet state dir (hosts.tsv, id_ed25519)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--baton", required=True)
    ap.add_argument("--jetp", default="")
    ap.add_argument(
        "--baton-old", default="",
        help="another baton binary, measured as the tool `baton-old` beside `baton`",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ansible-check-rounds", type=int, default=1)
    ap.add_argument(
        "--ansible-rounds", type=int, default=1,
        help="rounds of the remote workloads in which ansible-playbook takes part (it takes\n"
        "minutes per workload; its median is then over fewer runs)",
    )
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--scale-sizes", default="100,300,1000",
                    help="inventory sizes of the scale workload")  # fmt: skip
    ap.add_argument("--scale-timeout", type=int, default=300,
                    help="seconds a tool may take at one size of the scale workload")  # fmt: skip
    ap.add_argument("--record", default="", help="append the summary to this markdown file")
    args = ap.parse_args()
    for w in args.workloads:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w}; known: {' '.join(WORKLOADS)}")
    tools = [t for t in args.tools.split(",") if t]
    if not args.jetp and "jetp" in tools:
        tools.remove("jetp")
    if not args.baton_old and "baton-old" in tools:
        tools.remove("baton-old")
    b = Bench(args)
    b.prepare(args.workloads)
    sizes = [int(x) for x in args.scale_sizes.split(",") if x]
    if "scale" in args.workloads:
        for n in sizes:
            b.write_scale_inventories(n)
    remote = [w for w in args.workloads if w not in ("controller", "scale")]
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        if remote:
            if "jetp" in tools:
                b.start_agent()
            b.open_masters()
            b.run_remote(remote, tools, args.rounds)
        if "scale" in args.workloads:
            if not b.masters:
                b.open_masters()
            b.run_scale(tools, sizes, args.scale_timeout)
        if "controller" in args.workloads:
            b.run_controller(tools, args.rounds)
    finally:
        b.close_masters()
        if b.agent:
            subprocess.run(["kill", str(b.agent)])
    table = b.summary()
    v = versions(args)
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    head = (
        f"### Run of {started:%Y-%m-%d %H:%M} UTC: {' '.join(args.workloads)}, "
        f"{args.rounds} round(s)\n\n"
        f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; "
        f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}.\n"
        + "".join(f"- {k}: {val}\n" for k, val in v.items())
    )
    text = head + "\n" + table + "\n"
    scale = b.scale_summary()
    if scale:
        text += (
            f"\nScale (the fanout workload, 4 tasks, on {len(b.hosts)} containers; one run "
            f"each, timeout {args.scale_timeout} s):\n\n" + scale + "\n"
        )
    print("\n" + text)
    with open(os.path.join(b.work, "summary.md"), "w") as f:
        f.write(text)
    if args.record:
        with open(args.record, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
