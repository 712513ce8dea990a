"""How a run of ansible-core's integration targets is reported (tests/ansible_targets/).

This file owns reading the logs harness.py leaves: why ansible-core failed a target (it is then
not applicable here), baton's first divergence (its first error that ansible-core's run of the
same target does not show, or where the target's script stopped), and docs/COMPATIBILITY.md.
It runs nothing.
"""

import datetime
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

ANSI = re.compile(r'\x1b\[[0-9;]*[mK]')
ERROR_LINE = re.compile(r'^(fatal: |failed: |ERROR!|\[ERROR\]|error: |Traceback |.*internal error|'
                        r'.*Timeout \(|ERROR: |.*No such file or directory|.*: command not found)')
TRACE = re.compile(r'^\++ ')
TOOL_COMMAND = re.compile(r'(ansible|ansible-playbook|ansible-inventory|ansible-vault) ')
BANNER = re.compile(r'^(TASK|RUNNING HANDLER|PLAY) \[(.*)\]')


def read_log(path):
    try:
        with open(path, 'rb') as f:
            return ANSI.sub('', f.read().decode('utf-8', 'replace')).splitlines()
    except OSError:
        return []


def error_events(lines):
    """(banner, line, command, index) for each error line; the key that compares two runs is
    the banner and the line up to its JSON body."""
    out, banner, command = [], '', ''
    for index, line in enumerate(lines):
        if TRACE.match(line) or line.startswith('$ cd '):
            traced = TRACE.sub('', line.split(' && ', 1)[-1])
            # `out="$(ansible-playbook ...)"`: bash traces the command, then the assignment
            # with the output in it; that output is the command's.
            if not (re.match(r"^\w+='", traced) and TOOL_COMMAND.match(command)):
                command, banner = traced, ''
            continue
        m = BANNER.match(line)
        if m:
            banner = f'{m.group(1)} [{m.group(2)}]'
            continue
        if ERROR_LINE.match(line) and '...ignoring' not in line:
            out.append((banner, line, command, index))
    return out


def trim(text, n=220):
    text = ' '.join(text.split())
    return text if len(text) <= n else text[:n - 1] + '\u2026'


def first_divergence(result, other):
    """What went wrong in `result`'s log, ignoring errors the other tool's run shows too (the
    targets provoke failures on purpose): the command it was in, the task, the error line. When
    the run failed at another task later (the first divergence was survivable), that one too."""
    lines = read_log(result['log'])
    seen = set()
    if other:
        seen = {event_key(e) for e in error_events(read_log(other['log']))}
    events = [e for e in error_events(lines) if event_key(e) not in seen]
    if events:
        where = trim(describe_event(events[0]), 200)
        last = events[-1]
        if (last[2], last[0]) != (events[0][2], events[0][0]):
            where += ' \u2192 last: ' + trim(describe_event(last), 160)
    else:
        where = script_stop(lines)
    if result['status'] == 'timeout':
        where = f'timed out; last: {where}'
    return trim(where, 380)


def event_key(event):
    """What makes two tools' errors the same error: the task, and the line up to its body or
    item (`failed: [h] (item=x) => {...}`); a `[ERROR]: Task failed: ...` line by its task only
    (the wording after it is each tool's own)."""
    line = re.split(r' =>| \(item=', event[1], maxsplit=1)[0].strip()
    if line.startswith('[ERROR]: Task failed'):
        line = '[ERROR]: Task failed'
    return event[0], line


def describe_event(event):
    banner, line, command, _ = event
    return (f'`{trim(command, 90)}`: ' if command else '') + (f'{banner}: ' if banner else '') + line


def script_stop(lines):
    """Where a script stopped without an error of its own (a grep, a count failed): after
    which ansible command, and its last commands (bash -x traces them)."""
    commands = [TRACE.sub('', l) for l in lines if TRACE.match(l)]
    # Not the assignments of captured output (`out='...`): the commands that made it.
    commands = [c for c in commands if not re.match(r"^\w+='", c)]
    tools = [c for c in commands if TOOL_COMMAND.match(c)]
    if commands:
        return (f'after `{trim(tools[-1], 90)}`: ' if tools else '') + \
            'script stopped at: ' + '; '.join(f'`{trim(c, 70)}`' for c in commands[-2:])
    tail = [l for l in lines if l.strip()][-1:]
    return tail[0] if tail else 'no output'


def failure_reason(result):
    """Why a run failed when there is nothing to compare it with (ansible-core's own failure
    here): its last error, or where its script stopped when that came after the last error."""
    lines = read_log(result['log'])
    events = error_events(lines)
    traces = [i for i, l in enumerate(lines) if TRACE.match(l)]
    # A script's own `exit N` comes before its cleanup trap's commands: stop there.
    exits = [i for i in traces if re.match(r'^\++ exit [1-9]', lines[i])]
    if exits:
        lines = lines[:exits[-1] + 1]
        traces = [i for i in traces if i <= exits[-1]]
    # The last error is the reason unless an ansible command ran after it (the script went on:
    # that error was expected); a cleanup trap's commands after it do not count.
    later_tools = [i for i in traces if TOOL_COMMAND.match(TRACE.sub('', lines[i]))
                   and events and i > events[-1][3]]
    if events and not later_tools:
        where = describe_event(events[-1])
    else:
        where = script_stop(lines)
        if events:
            where += '; last error: ' + describe_event(events[-1])
    if result['status'] == 'timeout':
        where = f'timed out; last: {where}'
    return trim(where)


def explain(record):
    """Adds to a record why ansible-core failed (not applicable) or where baton diverged."""
    a, b = record.get('ansible'), record.get('baton')
    record.pop('ansible_reason', None)
    record.pop('divergence', None)
    if a and a['status'] != 'pass':
        record['ansible_reason'] = failure_reason(a)
    if b and b['status'] != 'pass':
        record['divergence'] = first_divergence(b, a if a and a['status'] == 'pass' else None)
    return record


def verdict(rec, tool):
    r = rec.get(tool)
    return r['status'] if r else 'not run'


def md_cell(text):
    return (text or '').replace('|', '\\|').replace('\n', ' ')


def write_docs(path, listed, results, version, jobs, timeout, note='', cuts=None):
    """docs/COMPATIBILITY.md: the listed targets, then the others, from a run's results."""
    by_name = {r['target']: r for r in results}

    def rows(names):
        out = ['| target | ansible-core | baton | own Python plugins (issue 20) | first divergence (baton\'s '
               'first failure not in ansible-core\'s run) |', '|---|---|---|---|---|']
        for n in names:
            r = by_name.get(n)
            if not r:
                continue
            a, b = verdict(r, 'ansible'), verdict(r, 'baton')
            if a != 'pass':
                note = 'not applicable here: ansible-core fails: ' + r.get('ansible_reason', '')
                b_cell = b if b == 'pass' else f'({b})'
            else:
                note = r.get('divergence', '') if b != 'pass' else ''
                b_cell = b
            plugins = ', '.join(f'`{p}/`' for p in r.get('python_plugins', []))
            out.append(f'| {n} | {a} | {b_cell} | {plugins} | {md_cell(note)} |')
        return out

    def summary(names):
        rs = [by_name[n] for n in names if n in by_name]
        applicable = [r for r in rs if verdict(r, 'ansible') == 'pass']
        passing = [r for r in applicable if verdict(r, 'baton') == 'pass']
        return (f'{len(passing)} of {len(applicable)} targets that pass under ansible-core pass under baton '
                f'({len(rs) - len(applicable)} not applicable here).')

    others = sorted(n for n in by_name if n not in listed)
    known = load_known_failures()
    lines = [
        '# Compatibility with ansible-core\'s own integration tests',
        '',
        'Generated by `tests/ansible_targets/harness.py`; regenerate with (from the repository root):',
        '',
        '```',
        '.venv-test/bin/python tests/ansible_targets/harness.py --all --write-docs',
        '```',
        '',
        f'Each target of ansible-core {version}\'s test/integration/targets (from its sdist on '
        'PyPI) runs as `ansible-test integration` runs it on the controller (a `testhost` inventory with '
        'the local connection, ansible-test\'s environment, `./runme.sh -v`, or a generated play for a role '
        'target), once with ansible-core\'s commands on PATH and once with baton answering to '
        '`ansible-playbook`, `ansible`, `ansible-inventory` and `ansible-vault`. A target that fails under '
        'ansible-core on this machine is not applicable; the reason is ansible-core\'s last error, or '
        'where its script stopped. '
        'Modules baton does not have natively run as the real Python modules of the controller\'s '
        'ansible-core (issue 20); Python plugins from a target\'s own folder (action, filter, lookup, '
        'callback plugins) do not run under baton yet (issue 20; the column names those folders). '
        'The commands baton does not provide (ansible-config, ansible-doc, ansible-galaxy, ansible-console, '
        'ansible-pull, ansible-test) are ansible-core\'s in both runs. '
        'Differences from ansible-test: no code coverage wrappers, and this virtualenv\'s cryptography '
        'warning about DSA is silenced (it would pollute the stderr some targets compare). '
        'The full output of every run is in target/ansible-targets/logs/ after a run.',
        '',
        f'Run of {datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}, '
        f'{jobs} at a time, {timeout} s per target and tool.' + (f' {note}' if note else ''),
        '',
    ]
    for title, names in load_sections():
        lines += [f'## {title}', '',
                  'CI runs these (`cargo test --features oracle --test ansible_targets`) and fails when one '
                  'that passes under ansible-core fails under baton, unless it is in '
                  'tests/ansible_targets/known_failures.txt.', '',
                  summary(names), ''] + rows(names) + ['']
    lines.pop()

    if known:
        lines += ['', 'Known failures (tests/ansible_targets/known_failures.txt):', '']
        lines += [f'- {n}: {reason}' for n, reason in sorted(known.items())]
    if cuts:
        lines += ['', 'Steps taken out of a target\'s runme.sh, under both tools (`SCRIPT_CUTS` in '
                  'harness.py); the rest of the target runs:', '']
        lines += [f'- {t}: `{p}`: {why}' for t, steps in sorted(cuts.items()) for p, why in steps.items()]
    if others:
        lines += ['', '## Other targets', '',
                  'The other posix targets that are cheap to run here: no root changes to this machine '
                  '(`destructive`, `needs/root`), no second host (`needs/ssh`), no network services, '
                  'containers or other platforms. Not checked by CI.', '',
                  summary(others), ''] + rows(others)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def load_sections():
    """listed.txt's sections: a `## Title` line starts one; the names under it are its targets."""
    sections = []
    with open(os.path.join(HERE, 'listed.txt'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('## '):
                sections.append((line[3:].strip(), []))
                continue
            name = line.split('#', 1)[0].strip()
            if name:
                if not sections:
                    sections.append(('Listed targets', []))
                sections[-1][1].append(name.split()[0])
    return sections


def load_known_failures():
    out = {}
    with open(os.path.join(HERE, 'known_failures.txt'), encoding='utf-8') as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith('#'):
                name, _, reason = line.strip().partition(' ')
                out[name] = reason.strip()
    return out
