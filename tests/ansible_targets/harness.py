#!/usr/bin/env python3
"""ansible-core's own integration targets, run under ansible-core and under baton.

This file owns the conformance tier on ansible-core's integration tests: it fetches the
ansible-core sdist of the oracle's version from PyPI (cached), and runs integration targets
from its test/integration/targets the way `ansible-test integration` (posix, controller as the
target) runs them, once with ansible-core's commands first on PATH and once with baton's
multi-call links (ansible-playbook, ansible, ansible-inventory, ansible-vault -> baton) first.
It writes the results as JSON and, through report.py, docs/COMPATIBILITY.md. It judges nothing:
tests/ansible_targets.rs compares the results with known_failures.txt.

What it reproduces of ansible-test (test/lib/ansible_test/_internal/commands/integration/):
- each target runs in a private copy of the targets tree under a temporary directory whose
  name ends in ansible-test's unicode suffix (unless the target has `no/temp_unicode/`), as
  TMP/test/integration/{inventory,integration.cfg,targets/...};
- the inventory is ansible-test's for the controller: `testhost` in `testgroup`, local
  connection, pipelining, the controller's Python;
- the environment is ansible-test's: a clean one (LC_ALL, PATH, HOME) plus ANSIBLE_* settings
  (force handlers, host pattern mismatch is an error, no inventory by default, no retry files,
  ...), OUTPUT_DIR, INVENTORY_PATH, JUNIT_*, the `env/set/K/V` aliases;
- a script target (runme.sh) runs as `./runme.sh -v` in its own directory; a role target
  (tasks/main.yml) runs through a generated playbook `hosts: testhost`, gather_facts unless
  `gather_facts/no`, `vars: {output_dir: ...}`, with ANSIBLE_ROLES_PATH = the targets tree;
- `setup/once/X` and `setup/always/X` targets run first, each with a fresh output dir.

The one command that regenerates docs/COMPATIBILITY.md (from the repository root; builds
baton with cargo first):

    .venv-test/bin/python tests/ansible_targets/harness.py --all --write-docs

Run it with the Python of the ansible-core oracle (.venv-test): it also provides pip for the
download and `python` for the scripts. Other options: --help.
"""

import argparse
import concurrent.futures
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import report
from report import explain, verdict

ANSIBLE_CORE_VERSION = '2.19.14'
SDIST_SHA256 = '1e7612788eaa6b3c87a3670ce86c64b830eba0ae2b3fcb25a772f276704163b4'
UNICODE_SUFFIX = '-\u00c5\u00d1\u015a\u00cc\u03b2\u0141\u00c8'
CLI_NAMES = ('ansible-playbook', 'ansible', 'ansible-inventory', 'ansible-vault')

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Aliases of targets this harness cannot run as ansible-test would here: they need a second
# machine, root changes to this one, a network service, containers, or another platform.
EXPENSIVE_ALIASES = (
    'destructive', 'needs/root', 'needs/privileged', 'needs/httptester', 'needs/ssh',
    'disabled', 'unsupported', 'hidden', 'windows', 'network', 'non_local', 'needs/target/ansible-test',
)
# Targets that reach the internet (git clones from GitHub), and the tests of ansible-test
# itself (they run ansible-test, which says nothing about baton).
NOT_CHEAP_NAMES = ('git',)
NOT_CHEAP_NAME_PREFIXES = ('ansible-test',)
# Steps of a runme.sh taken out of a target's run, under both tools, with the reason: what
# this machine does not give a test (a second network address with its own sshd: ansible-test's
# posix test hosts have 127.0.0.3 and 127.0.0.4), or a Python plugin from the target's own
# folder that baton cannot run before issue 20. The rest of the target still runs, so CI keeps
# checking it; docs/COMPATIBILITY.md lists every cut. Keys: target, then playbook (a command
# line of runme.sh that runs that playbook goes, with its continuation lines).
SCRIPT_CUTS = {
    'delegate_to': {
        'test_delegate_to.yml': 'needs sshd on 127.0.0.3 (a second network address)',
        'delegate_vars_handling.yml': 'needs sshd on 127.0.0.4 (a second network address)',
        'has_hostvars.yml': 'the connection plugin fakelocal from connection_plugins/ (issue 20)',
        'verify_interpreter.yml': 'the module detect_interpreter from library/ (issue 20)',
    },
    'ignore_unreachable': {
        'test_with_bad_plugins.yml': 'the connection plugins bad_put_file and bad_exec from '
                                     'fake_connectors/ (issue 20)',
    },
}
EXPENSIVE_PREFIXES = ('cloud/', 'shippable/windows', 'shippable/galaxy', 'shippable/ios',
                      'shippable/vyos', 'skip/docker', 'needs/file/', 'skip/python3')


def cache_dir():
    """Where the sdist is kept between runs (CI keeps ~/.cache when it keeps anything)."""
    base = (os.environ.get('BATON_CACHE_DIR')
            or os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'baton'))
    return os.path.join(base, 'ansible-core-sdist')


def fetch_sdist(log):
    """The unpacked test/ tree of the sdist: downloaded with pip once, checked, cached."""
    root = os.path.join(cache_dir(), ANSIBLE_CORE_VERSION)
    done = os.path.join(root, '.complete-2')  # bumped when what is unpacked changes
    tree = os.path.join(root, 'test')
    if os.path.exists(done):
        return tree
    os.makedirs(cache_dir(), exist_ok=True)
    work = tempfile.mkdtemp(prefix='sdist-', dir=cache_dir())
    try:
        log(f'downloading the ansible-core {ANSIBLE_CORE_VERSION} sdist with pip into {cache_dir()}')
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
                        '--disable-pip-version-check', '-q', f'ansible-core=={ANSIBLE_CORE_VERSION}',
                        '-d', work], check=True, stdin=subprocess.DEVNULL)
        archive = os.path.join(work, f'ansible_core-{ANSIBLE_CORE_VERSION}.tar.gz')
        with open(archive, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != SDIST_SHA256:
            raise SystemExit(f'{archive}: sha256 {digest}, expected {SDIST_SHA256}')
        prefix = f'ansible_core-{ANSIBLE_CORE_VERSION}/'
        wanted = (prefix + 'test/integration/', prefix + 'test/support/integration/',
                  prefix + 'test/lib/ansible_test/_util/target/injector/')
        unpacked = os.path.join(work, 'unpacked')
        with tarfile.open(archive) as tar:
            members = []
            for m in tar.getmembers():
                if m.name.startswith(wanted):
                    m.name = m.name[len(prefix):]
                    members.append(m)
            tar.extractall(unpacked, members=members, filter='tar')
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        os.rename(os.path.join(unpacked, 'test'), tree)
        open(done, 'w').close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tree


class Target:
    """One directory of test/integration/targets and what its aliases say."""

    def __init__(self, targets_dir, name):
        self.name = name
        self.path = os.path.join(targets_dir, name)
        aliases_path = os.path.join(self.path, 'aliases')
        self.aliases = []
        if os.path.exists(aliases_path):
            with open(aliases_path, encoding='utf-8') as f:
                for line in f:
                    line = line.split('#', 1)[0].strip()
                    if line:
                        self.aliases.append(line)
        self.script = os.path.exists(os.path.join(self.path, 'runme.sh'))
        self.groups = [a + '/' for a in self.aliases]

    def has(self, alias):
        """An alias or an alias prefix (`needs/root`, `setup/once/`) ansible-test would see."""
        return any(g.startswith(alias.rstrip('/') + '/') for g in self.groups)

    def setup_targets(self):
        once = sorted({a.split('/')[2] for a in self.aliases if a.startswith('setup/once/')})
        always = sorted({a.split('/')[2] for a in self.aliases if a.startswith('setup/always/')})
        return once + [t for t in always if t not in once]

    def env_set(self):
        out = {}
        for a in self.aliases:
            m = re.match(r'env/set/(?P<key>[^/]+)/(?P<value>.*)', a)
            if m:
                out[m.group('key')] = m.group('value')
        return out

    def python_plugins(self):
        """Directories of the target holding its own Python modules or plugins (`library/`,
        `action_plugins/`, a collection...): what baton can run only through issue 20 (Python modules and plugins)."""
        found = []
        for root, dirs, files in os.walk(self.path):
            dirs.sort()
            base = os.path.basename(root)
            if (base == 'library' or base == 'module_utils' or base.endswith('_plugins')
                    or base == 'ansible_collections') and any(
                    f.endswith('.py') for _, _, fs in os.walk(root) for f in fs):
                found.append(os.path.relpath(root, self.path))
                dirs.clear()
        # Plugin directories a runme.sh names under another name (ANSIBLE_*_PLUGINS=./dir).
        if self.script:
            with open(os.path.join(self.path, 'runme.sh'), encoding='utf-8', errors='replace') as f:
                for m in re.finditer(r'ANSIBLE_(?:\w+_PLUGINS|LIBRARY|MODULE_UTILS)=["\']?\.?/?([\w./-]+)', f.read()):
                    d = m.group(1).rstrip('/')
                    if d not in found and os.path.isdir(os.path.join(self.path, d)):
                        found.append(d)
        return found

    def cheap(self):
        """Runnable here: a posix target that needs no root changes, network, or other host."""
        if self.name in NOT_CHEAP_NAMES or self.name.startswith(NOT_CHEAP_NAME_PREFIXES):
            return False
        if self.name.startswith(('setup_', 'prepare_')) or not any(
                a.startswith(('shippable/posix', 'shippable/generic')) for a in self.aliases):
            return False
        if any(self.has(a) for a in EXPENSIVE_ALIASES):
            return False
        return not any(a.startswith(EXPENSIVE_PREFIXES) for a in self.aliases)


def all_targets(targets_dir):
    return sorted(n for n in os.listdir(targets_dir)
                  if os.path.isdir(os.path.join(targets_dir, n)) and os.listdir(os.path.join(targets_dir, n)))


def inventory_text(python):
    # ansible-test writes each value with Python's repr.
    return ("[testgroup]\n"
            f"testhost ansible_connection='local' ansible_pipelining='yes' ansible_python_interpreter={python!r}\n")


def environment(tool_path, run_root, inventory, config, output_dir, target, opts):
    """ansible-test's environment for one target: a clean one plus its ANSIBLE_* settings.
    PATH: the injector directory (virtualenv.sh), the tool's commands, the oracle's Python."""
    env = {
        'LC_ALL': os.environ.get('BATON_TARGETS_LOCALE', 'C.UTF-8'),
        'PATH': os.pathsep.join([opts.injector, tool_path, opts.python_bin,
                                 os.environ.get('PATH', os.defpath)]),
        'PYTHONPATH': opts.python_path,
        # This virtualenv's cryptography warns about DSA whenever ansible-core starts, on
        # stderr, which targets that compare stderr with a recorded one take for a failure.
        # ansible-test's own virtualenvs pin a cryptography that does not.
        'PYTHONWARNINGS': 'ignore:DSA is deprecated',
        'ANSIBLE_TEST_PYTHON_VERSION': '%d.%d' % sys.version_info[:2],
        'ANSIBLE_TEST_PYTHON_INTERPRETER': opts.python,
        'HOME': os.environ.get('HOME', '/root'),
        'ANSIBLE_PYTHON_MODULE_RLIMIT_NOFILE': '1024',
        'ANSIBLE_FORCE_COLOR': 'false',
        'ANSIBLE_FORCE_HANDLERS': 'true',
        'ANSIBLE_HOST_PATTERN_MISMATCH': 'error',
        'ANSIBLE_INVENTORY': '/dev/null',
        'ANSIBLE_DEPRECATION_WARNINGS': 'false',
        'ANSIBLE_HOST_KEY_CHECKING': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'ANSIBLE_DISPLAY_TRACEBACK': 'never',
        'ANSIBLE_CONFIG': config,
        'ANSIBLE_LIBRARY': '/dev/null',
        'ANSIBLE_DEVEL_WARNING': 'false',
        'PAGER': '/bin/cat',
        'ANSIBLE_WORKER_SHUTDOWN_POLL_COUNT': '100',
        'ANSIBLE_WORKER_SHUTDOWN_POLL_DELAY': '0.1',
        'ANSIBLE_PYTHON_INTERPRETER': '/set/ansible_python_interpreter/in/inventory',
        'JUNIT_OUTPUT_DIR': os.path.join(run_root, 'junit'),
        'JUNIT_TASK_RELATIVE_PATH': run_root,
        'JUNIT_REPLACE_OUT_OF_TREE_PATH': 'out-of-tree:',
        'ANSIBLE_CALLBACKS_ENABLED': 'junit',
        'ANSIBLE_TEST_CI': 'local',
        'ANSIBLE_TEST_COVERAGE': '',
        'ANSIBLE_TEST_ANSIBLE_VERSION': ANSIBLE_CORE_VERSION,
        'OUTPUT_DIR': output_dir,
        'INVENTORY_PATH': os.path.abspath(inventory),
    }
    # The private copies of plugins ansible-test provides (test/support/integration/plugins).
    plugins = os.path.join(run_root, 'test', 'support', 'integration', 'plugins')
    for var, sub in (('ANSIBLE_LIBRARY', 'modules'), ('ANSIBLE_MODULE_UTILS', 'module_utils'),
                     ('ANSIBLE_FILTER_PLUGINS', 'filter'), ('ANSIBLE_LOOKUP_PLUGINS', 'lookup'),
                     ('ANSIBLE_ACTION_PLUGINS', 'action'), ('ANSIBLE_CALLBACK_PLUGINS', 'callback'),
                     ('ANSIBLE_CONNECTION_PLUGINS', 'connection'), ('ANSIBLE_TEST_PLUGINS', 'test'),
                     ('ANSIBLE_INVENTORY_PLUGINS', 'inventory'), ('ANSIBLE_VARS_PLUGINS', 'vars')):
        if os.path.isdir(os.path.join(plugins, sub)):
            env[var] = os.path.join(plugins, sub)
    if opts.locales:
        env['LOCPATH'] = opts.locales
    env.update(target.env_set())
    return env


# Locales runme.sh scripts export that ansible-test's containers have and this machine may not
# (tags/runme.sh sets LC_ALL=en_US.UTF-8; without it ansible-core stops with "could not
# initialize the preferred locale").
EXTRA_LOCALES = (('en_US', 'UTF-8'),)


def prepare_locales(log):
    """A private locale directory (LOCPATH) holding C.UTF-8 and the EXTRA_LOCALES, compiled
    once with localedef into the cache (nothing is installed on the machine). A locale that
    cannot be compiled is C.UTF-8 under its name, which is enough for Python to start.
    Returns None when not even C.UTF-8 is found."""
    c_utf8 = next((d for d in ('/usr/lib/locale/C.utf8', '/usr/lib/locale/C.UTF-8')
                   if os.path.isdir(d)), None)
    if c_utf8 is None:
        return None
    root = os.path.join(cache_dir(), 'locales')
    os.makedirs(root, exist_ok=True)
    for name in ('C.UTF-8', 'C.utf8'):
        link = os.path.join(root, name)
        if not os.path.lexists(link):
            os.symlink(c_utf8, link)
    for lang, charset in EXTRA_LOCALES:
        names = (f'{lang}.{charset}', f'{lang}.{charset.lower().replace("-", "")}')
        out = os.path.join(root, names[0])
        if not os.path.exists(os.path.join(out, 'LC_CTYPE')):
            built = subprocess.run(['localedef', '-i', lang, '-f', charset, out],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            if not os.path.exists(os.path.join(out, 'LC_CTYPE')):
                log(f'localedef {lang}.{charset} failed ({built}): using C.UTF-8 under its name')
                shutil.rmtree(out, ignore_errors=True)
                os.symlink(c_utf8, out)
        for alias in names[1:]:
            link = os.path.join(root, alias)
            if not os.path.lexists(link):
                os.symlink(names[0], link)
    return root


def prepare_injector_and_python_path(tree, opts):
    """What ansible-test puts before the commands on PATH and in PYTHONPATH: a directory with
    its `virtualenv.sh` (runme.sh scripts `source` it) and `python.py`, and one holding only the
    `ansible` package (with its dist-info). ansible-test's injector also wraps the ansible-*
    commands in its python.py, for code coverage; that would run baton's links with Python, so
    the commands stay the tool's own."""
    import ansible
    opts.injector = os.path.join(opts.work_dir, 'injector')
    os.makedirs(opts.injector)
    src = os.path.join(tree, 'lib', 'ansible_test', '_util', 'target', 'injector', 'virtualenv.sh')
    with open(src, encoding='utf-8') as f:
        script = f.read()
    with open(os.path.join(opts.injector, 'virtualenv.sh'), 'w', encoding='utf-8') as f:
        f.write(script)
    # `python.py SCRIPT ARGS`: the controller's Python runs a script (ansible-test's runs it
    # under code coverage).
    python_py = os.path.join(opts.injector, 'python.py')
    with open(python_py, 'w', encoding='utf-8') as f:
        f.write(f'#!/bin/sh\nexec {shlex.quote(opts.python)} "$@"\n')
    os.chmod(python_py, 0o755)
    opts.python_path = os.path.join(opts.work_dir, 'python')
    os.makedirs(opts.python_path)
    os.symlink(os.path.dirname(ansible.__file__), os.path.join(opts.python_path, 'ansible'))
    dist_info = os.path.join(opts.python_path, f'ansible_core-{ANSIBLE_CORE_VERSION}.dist-info')
    os.makedirs(dist_info)
    with open(os.path.join(dist_info, 'METADATA'), 'w', encoding='utf-8') as f:
        f.write(f'Metadata-Version: 2.1\nName: ansible-core\nVersion: {ANSIBLE_CORE_VERSION}\n')


RUNNING = set()
STOPPING = []


def stop_running(signum, _frame):
    """On SIGTERM/SIGINT: end the process groups of the runs in progress, then exit (the
    temporary copies are removed on the way out)."""
    STOPPING.append(signum)
    for proc in list(RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    raise SystemExit(128 + signum)


def run_command(cmd, cwd, env, timeout, log_file):
    """Runs cmd in its own process group, output (stdout and stderr, interleaved) to log_file;
    kills the whole group at the timeout. Gives the exit status, or None on a timeout."""
    if STOPPING:
        return None
    with open(log_file, 'ab') as out:
        out.write(('$ cd %s && %s\n' % (cwd, ' '.join(cmd))).encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING.add(proc)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return None
        finally:
            RUNNING.discard(proc)


def cut_script_steps(copy_targets, name):
    """Takes the command lines SCRIPT_CUTS names out of the copy of a target's runme.sh (a
    command continued over several lines with a backslash goes as a whole)."""
    if name not in SCRIPT_CUTS:
        return
    playbooks = SCRIPT_CUTS[name]
    script = os.path.join(copy_targets, name, 'runme.sh')
    with open(script, encoding='utf-8') as f:
        lines = f.read().split('\n')
    kept, command = [], []
    for line in lines:
        command.append(line)
        if line.endswith('\\'):
            continue
        text = ' '.join(command)
        if not any(re.search(r'\bansible-playbook\b.*\b' + re.escape(p) + r'\b', text) for p in playbooks):
            kept.extend(command)
        command = []
    kept.extend(command)
    os.remove(script)  # a symlink into the sdist tree must not be written through
    with open(script, 'w', encoding='utf-8') as f:
        f.write('\n'.join(kept))
    os.chmod(script, 0o755)


def run_target(tree, target, tool, opts):
    """One run of `target` (and its setup targets) with `tool` ('ansible' or 'baton').
    Gives {status, rc, seconds, log}."""
    targets_dir = os.path.join(tree, 'integration', 'targets')
    suffix = '-ansible' if target.has('no/temp_unicode') else UNICODE_SUFFIX
    run_root = tempfile.mkdtemp(prefix=f'{target.name}-{tool}-', suffix=suffix, dir=opts.work_dir)
    log_file = os.path.join(opts.logs_dir, f'{target.name}.{tool}.log')
    if os.path.exists(log_file):
        os.remove(log_file)
    started = time.monotonic()
    try:
        integration_dir = os.path.join(run_root, 'test', 'integration')
        copy_targets = os.path.join(integration_dir, 'targets')
        # The whole targets tree: a superset of the target and its dependencies that
        # ansible-test copies (setup_* roles, needs/target/*, symlinks into other targets).
        shutil.copytree(targets_dir, copy_targets, symlinks=True)
        cut_script_steps(copy_targets, target.name)
        support = os.path.join(tree, 'support', 'integration')
        if os.path.isdir(support):
            shutil.copytree(support, os.path.join(run_root, 'test', 'support', 'integration'), symlinks=True)
        inventory = os.path.join(integration_dir, 'inventory')
        with open(inventory, 'w', encoding='utf-8') as f:
            f.write(inventory_text(opts.python))
        config = os.path.join(integration_dir, 'integration.cfg')
        open(config, 'w').close()
        output_dir = os.path.join(run_root, 'output_dir')
        tool_path = opts.baton_links if tool == 'baton' else opts.ansible_bin
        deadline = started + opts.timeout
        for name in target.setup_targets() + [target.name]:
            step = Target(copy_targets, name)
            shutil.rmtree(output_dir, ignore_errors=True)
            os.makedirs(output_dir)
            env = environment(tool_path, run_root, inventory, config, output_dir, step, opts)
            if step.script:
                cwd = os.path.join(copy_targets, name)
                cmd = ['./runme.sh', '-v']
            else:
                cwd = integration_dir
                gather = not step.has('gather_facts/no')
                if step.has('gather_facts/yes'):
                    gather = True
                play = [{'gather_facts': gather, 'hosts': 'testhost', 'roles': [name],
                         'vars': {'output_dir': output_dir}, 'vars_files': []}]
                # ansible-test's name has a random part; a fixed one keeps the report stable.
                playbook = os.path.join(integration_dir, f'{name}-play.yml')
                with open(playbook, 'w', encoding='utf-8') as f:
                    f.write(json.dumps(play, indent=4, sort_keys=True))
                cmd = ['ansible-playbook', os.path.basename(playbook), '-i', 'inventory', '-v']
                env['ANSIBLE_ROLES_PATH'] = copy_targets
            env['ANSIBLE_PLAYBOOK_DIR'] = cwd
            if opts.keep:
                # To run a step again by hand: `. NAME.env.sh && cd "$STEP_DIR"`.
                with open(os.path.join(run_root, f'{name}.env.sh'), 'w', encoding='utf-8') as f:
                    for k, v in sorted(env.items()):
                        f.write(f'export {k}={shlex.quote(v)}\n')
                    f.write(f'export STEP_DIR={shlex.quote(cwd)}\n')
            remaining = deadline - time.monotonic()
            rc = run_command(cmd, cwd, env, max(remaining, 1), log_file) if remaining > 0 else None
            if rc is None:
                return {'status': 'timeout', 'rc': None, 'seconds': round(time.monotonic() - started, 1),
                        'step': name, 'log': log_file}
            if rc != 0:
                return {'status': 'fail', 'rc': rc, 'seconds': round(time.monotonic() - started, 1),
                        'step': name, 'log': log_file}
        return {'status': 'pass', 'rc': 0, 'seconds': round(time.monotonic() - started, 1), 'log': log_file}
    finally:
        if not opts.keep:
            shutil.rmtree(run_root, ignore_errors=True)


def tree_digest(targets_dir, names):
    """A digest of what decides an ansible-core run: the ansible-core version, the code of this
    harness that prepares and runs a target, and the files of the target and its setup targets."""
    h = hashlib.sha256(ANSIBLE_CORE_VERSION.encode())
    h.update(repr(sorted(SCRIPT_CUTS.items())).encode())
    for recipe in (run_target, run_command, environment, prepare_injector_and_python_path,
                   inventory_text, Target, cut_script_steps):
        h.update(inspect.getsource(recipe).encode())
    for name in names:
        for root, dirs, files in os.walk(os.path.join(targets_dir, name)):
            dirs.sort()
            for fname in sorted(files):
                path = os.path.join(root, fname)
                h.update(os.path.relpath(path, targets_dir).encode())
                if os.path.islink(path):
                    h.update(os.readlink(path).encode())
                else:
                    with open(path, 'rb') as f:
                        h.update(f.read())
    return h.hexdigest()[:20]


def run_ansible_cached(tree, target, opts):
    """ansible-core's run of a target, or its remembered pass: ansible-core's result does not
    change while the target, the harness and the version do not, and it dominates the cost
    (minutes against seconds). Only passes are remembered; a failure is run again each time."""
    targets_dir = os.path.join(tree, 'integration', 'targets')
    key = tree_digest(targets_dir, target.setup_targets() + [target.name])
    cached = os.path.join(cache_dir(), 'ansible-passes', f'{target.name}-{key}.json')
    cached_log = cached[:-len('.json')] + '.log'
    if opts.cache and os.path.exists(cached) and os.path.exists(cached_log):
        with open(cached, encoding='utf-8') as f:
            result = json.load(f)
        # Its log too: the baton run's report leaves out the errors ansible-core's run shows.
        result['log'] = os.path.join(opts.logs_dir, f'{target.name}.ansible.log')
        shutil.copyfile(cached_log, result['log'])
        result['cached'] = True
        return result
    result = run_target(tree, target, 'ansible', opts)
    if result['status'] == 'pass':
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        shutil.copyfile(result['log'], cached_log)
        with open(cached + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(result, f)
        os.replace(cached + '.tmp', cached)
    return result


def run_one(tree, name, opts):
    targets_dir = os.path.join(tree, 'integration', 'targets')
    target = Target(targets_dir, name)
    record = {'target': name, 'python_plugins': target.python_plugins()}
    if opts.tools in ('both', 'ansible'):
        record['ansible'] = run_ansible_cached(tree, target, opts)
    if opts.tools in ('both', 'baton'):
        record['baton'] = run_target(tree, target, 'baton', opts)
    return explain(record)


def load_list(path):
    names = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                names.append(line.split()[0])
    return names


def write_results(path, listed, results, opts):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump({'ansible_core': ANSIBLE_CORE_VERSION, 'listed': listed, 'jobs': opts.jobs,
                   'timeout': opts.timeout, 'results': results}, f, indent=2)


def previous_run_settings(path, opts):
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    return data.get('jobs', opts.jobs), data.get('timeout', opts.timeout)


def build_baton(log):
    log('building baton (cargo build --bin baton)')
    subprocess.run(['cargo', 'build', '--quiet', '--bin', 'baton'], cwd=REPO, check=True)
    target_dir = os.environ.get('CARGO_TARGET_DIR', os.path.join(REPO, 'target'))
    return os.path.join(target_dir, 'debug', 'baton')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('targets', nargs='*', help='target names (default: the listed executor targets)')
    p.add_argument('--all', action='store_true', help='the listed targets and every other cheap one')
    p.add_argument('--baton', help='the baton binary (default: cargo build, then target/debug/baton)')
    p.add_argument('--jobs', type=int, default=int(os.environ.get('BATON_TARGETS_JOBS', os.cpu_count() or 2)))
    p.add_argument('--timeout', type=int, default=int(os.environ.get('BATON_TARGETS_TIMEOUT', 420)),
                   help='seconds per target and tool')
    p.add_argument('--tools', choices=('both', 'ansible', 'baton'), default='both')
    p.add_argument('--results', default=os.path.join(REPO, 'target', 'ansible-targets', 'results.json'))
    p.add_argument('--logs', default=os.path.join(REPO, 'target', 'ansible-targets', 'logs'),
                   help='where the output of each run goes, as TARGET.TOOL.log')
    p.add_argument('--write-docs', action='store_true', help='write docs/COMPATIBILITY.md')
    p.add_argument('--keep', action='store_true', help='keep the temporary copies (for debugging)')
    p.add_argument('--note', default='', help='a sentence for the run line of docs/COMPATIBILITY.md')
    p.add_argument('--merge', action='store_true',
                   help='merge the results of these targets into the existing results file')
    p.add_argument('--report-only', action='store_true',
                   help='run nothing: explain the results file again from its logs (with --write-docs, '
                        'rewrite docs/COMPATIBILITY.md)')
    p.add_argument('--no-cache', dest='cache', action='store_false',
                   help='run ansible-core even where it passed before (its passes are cached in '
                        '~/.cache/baton/ansible-core-sdist/ansible-passes)')
    opts = p.parse_args()

    def log(msg):
        print(f'[targets] {msg}', file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, stop_running)
    signal.signal(signal.SIGINT, stop_running)
    listed = load_list(os.path.join(HERE, 'listed.txt'))
    if opts.report_only:
        # The report again, from the results and logs of the last run.
        with open(opts.results, encoding='utf-8') as f:
            results = [explain(r) for r in json.load(f)['results']]
        opts.jobs, opts.timeout = previous_run_settings(opts.results, opts)
        write_results(opts.results, listed, results, opts)
        if opts.write_docs:
            report.write_docs(os.path.join(REPO, 'docs', 'COMPATIBILITY.md'), listed, results,
                          ANSIBLE_CORE_VERSION, opts.jobs, opts.timeout, opts.note, cuts=SCRIPT_CUTS)
            log('wrote docs/COMPATIBILITY.md')
        return
    tree = fetch_sdist(log)
    targets_dir = os.path.join(tree, 'integration', 'targets')
    if opts.targets:
        names = opts.targets
    elif opts.all:
        names = listed + [n for n in all_targets(targets_dir)
                          if n not in listed and Target(targets_dir, n).cheap()]
    else:
        names = listed
    unknown = [n for n in names if not os.path.isdir(os.path.join(targets_dir, n))]
    if unknown:
        raise SystemExit(f'no such target in ansible-core {ANSIBLE_CORE_VERSION}: {", ".join(unknown)}')

    # The ansible-core oracle: the commands next to this Python (the .venv-test virtualenv).
    opts.python = sys.executable
    opts.python_bin = os.path.dirname(sys.executable)
    opts.ansible_bin = opts.python_bin
    if not os.path.exists(os.path.join(opts.ansible_bin, 'ansible-playbook')):
        raise SystemExit(f'no ansible-playbook next to {sys.executable}: run this with the Python of the '
                         f'ansible-core {ANSIBLE_CORE_VERSION} virtualenv (.venv-test/bin/python; '
                         'tests/run.sh creates it)')
    baton = os.path.abspath(opts.baton) if opts.baton else build_baton(log)
    out_root = os.path.dirname(os.path.abspath(opts.results))
    opts.logs_dir = os.path.abspath(opts.logs)
    os.makedirs(opts.logs_dir, exist_ok=True)
    opts.work_dir = tempfile.mkdtemp(prefix='baton-targets-')
    opts.baton_links = os.path.join(opts.work_dir, 'bin')
    os.makedirs(opts.baton_links)
    for name in CLI_NAMES:
        os.symlink(baton, os.path.join(opts.baton_links, name))
    prepare_injector_and_python_path(tree, opts)
    opts.locales = prepare_locales(log)

    log(f'{len(names)} targets, {opts.jobs} at a time, {opts.timeout} s each per tool; logs in {opts.logs_dir}')
    results = []
    started = time.monotonic()
    try:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
        try:
            futures = {pool.submit(run_one, tree, n, opts): n for n in names}
            for fut in concurrent.futures.as_completed(futures):
                rec = fut.result()
                results.append(rec)
                detail = rec.get('ansible_reason') or rec.get('divergence') or ''
                log(f'{rec["target"]}: ansible-core {verdict(rec, "ansible")}, baton {verdict(rec, "baton")}'
                    + (f' -- {detail}' if detail else ''))
                # What is done so far, for a long run that is stopped (see --report-only).
                write_results(opts.results + '.partial', listed, results, opts)
        finally:
            # On an interruption: no new target starts; the running ones were killed.
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if opts.keep:
            log(f'kept the copies in {opts.work_dir}')
        else:
            shutil.rmtree(opts.work_dir, ignore_errors=True)
    if opts.merge and os.path.exists(opts.results):
        # Runs of some targets again, into the results of a whole run.
        with open(opts.results, encoding='utf-8') as f:
            earlier = json.load(f)['results']
        fresh = {r['target'] for r in results}
        names = [r['target'] for r in earlier] + [n for n in names if n not in
                                                   {r['target'] for r in earlier}]
        results += [r for r in earlier if r['target'] not in fresh]
    order = {n: i for i, n in enumerate(names)}
    results.sort(key=lambda r: order[r['target']])
    os.makedirs(out_root, exist_ok=True)
    write_results(opts.results, listed, results, opts)
    if os.path.exists(opts.results + '.partial'):
        os.remove(opts.results + '.partial')
    log(f'done in {time.monotonic() - started:.0f} s; results in {opts.results}')
    if opts.write_docs:
        report.write_docs(os.path.join(REPO, 'docs', 'COMPATIBILITY.md'), listed, results,
                          ANSIBLE_CORE_VERSION, opts.jobs, opts.timeout, opts.note, cuts=SCRIPT_CUTS)
        log('wrote docs/COMPATIBILITY.md')


if __name__ == '__main__':
    main()
