//! The persistent Python interpreter of a host: one per host, user and interpreter path,
//! started at the first new-style module that needs it and kept for the rest of the run, which
//! runs every later new-style module of that host and user with no interpreter start-up.
//!
//! It is a long-lived process on the host's connection ([`Connection::spawn`]: modules never
//! see the transport), `PYTHON -c SERVER`, which reads one request per line on its standard
//! input (the payload's path in the host's private directory, the module's name, the task's
//! environment, the module's arguments: never on a command line) and answers each with a frame
//! on its standard output: `BATON-PY RC OUTLEN ERRLEN`, then the module's stdout and stderr.
//!
//! Isolation is a fork per module, as a fresh `python` per task would give: the server forks a
//! child for each request, which points its standard output and error at pipes of its own,
//! sets the task's environment and runs ansible's AnsiballZ loader on the payload, then exits.
//! So `sys.exit`/`exit_json`, module-level state, a changed directory, environment or umask,
//! threads, and a crash (an exception, `os._exit`, a signal) all stay the child's: the result
//! is read exactly like a per-task run's (the child's exit status, 128+N for signal N with the
//! shell's line for it, `Segmentation fault`, on stderr, and its output), so a crash gives ansible's MODULE FAILURE, and the server goes on to the next
//! request. What the fork saves is start-up: the server imports `ansible.module_utils.basic`
//! and the AnsiballZ loader once (from the first payload) and every child starts with them
//! loaded. Payloads are built from the same ansible-core, but one may carry a module_utils of
//! its own under the same name (a playbook's `module_utils/`): a payload whose copies of the
//! preloaded files differ (by the zip's CRCs) runs in a child that drops every preloaded
//! `ansible` module first and imports its own, as a fresh interpreter would.
//!
//! `become`: the interpreter runs as the user the task becomes (`sudo -u USER` starts it), one
//! per (host, become method and user), like the per-task command would. A become that needs
//! a password is not kept running (the sudo dialogue belongs to one command, and a long-lived
//! root process started by a password should not outlive its task): such tasks, tasks with a
//! time limit (`timeout:`, which kills the task's process group) and a host whose interpreter
//! cannot be started (no Python, a transport that keeps no process) run one interpreter per
//! task, as before; so does a task whose `environment` sets Python's own variables (`PYTHONPATH`:
//! they must be there when the interpreter starts). `BATON_PY_PERSISTENT=0` turns it off (for
//! comparisons).

use crate::connection::{ExecOutput, ExecRequest, Process};
use crate::modules::{ModuleCtx, ModuleError, shell_quote};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The server's program (constant: it goes on the host's command line).
const SERVER: &str = r#"import os, sys, json, select, signal, atexit
try:
    os.getcwd()
except OSError:
    try:
        os.chdir(os.path.expanduser('~'))
    except OSError:
        os.chdir('/')
rin = os.fdopen(os.dup(0), 'rb')
wout = os.dup(1)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
base = [p for p in sys.path if p not in ('', '.')]
sys.argv = ['-c']
pre = {'zip': None, 'crc': {}}
fits = {}

def crcs(z):
    import zipfile
    with zipfile.ZipFile(z) as f:
        return dict((i.filename, i.CRC) for i in f.infolist())

def preload(z):
    sys.path[:] = [z] + base
    try:
        from ansible.module_utils import basic
        from ansible.module_utils._internal._ansiballz import _loader
        have = crcs(z)
    except BaseException:
        purge()
        return False
    head = z + os.sep
    for m in list(sys.modules.values()):
        f = getattr(m, '__file__', None) or ''
        if f.startswith(head):
            pre['crc'][f[len(head):]] = have.get(f[len(head):])
    pre['zip'] = z
    return True

def fit(z):
    if pre['zip'] is None:
        return preload(z)
    if z not in fits:
        try:
            have = crcs(z)
            fits[z] = all(have.get(a, c) == c for a, c in pre['crc'].items())
        except BaseException:
            fits[z] = False
    return fits[z]

def purge():
    for n in list(sys.modules):
        if n == 'ansible' or n.startswith('ansible.') or n.startswith('ansible_collections'):
            del sys.modules[n]

def repath(z):
    old, new = pre['zip'] + os.sep, z + os.sep
    for m in list(sys.modules.values()):
        p = getattr(m, '__path__', None)
        if p is None:
            continue
        try:
            have = list(p)
        except BaseException:
            continue
        add = [new + e[len(old):] for e in have if isinstance(e, str) and e.startswith(old)]
        if add:
            try:
                m.__path__ = add + have
            except BaseException:
                pass

def child(req, ok, out_w, err_w):
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.close(out_w)
    os.close(err_w)
    rin.close()
    os.close(wout)
    code = 0
    try:
        os.environ.update(req.get('env') or {})
        z = req['zip']
        if not ok:
            purge()
        elif z != pre['zip']:
            repath(z)
        sys.path[:] = [z] + base
        from ansible.module_utils._internal._ansiballz import _loader
        _loader.run_module(json_params=req['args'].encode('utf-8', 'surrogateescape'),
                           profile=req['profile'], module_fqn=req['fqn'],
                           modlib_path=z, extensions={})
    except SystemExit as e:
        code = e.code
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        try:
            sys.stderr.write('%s\n' % (code,))
        except BaseException:
            pass
        code = 1
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass
    os._exit(code & 0xff)

def send(b):
    while b:
        b = b[os.write(wout, b):]

def run(req):
    ok = fit(req['zip'])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        child(req, ok, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    got = {out_r: [], err_r: []}
    live = [out_r, err_r]
    status = None
    while live:
        r = select.select(live, [], [], 0.5)[0]
        if not r:
            if status is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
            if status is not None:
                break
            continue
        for fd in r:
            b = os.read(fd, 65536)
            if b:
                got[fd].append(b)
            else:
                live.remove(fd)
    if status is None:
        status = os.waitpid(pid, 0)[1]
    while live:
        r = select.select(live, [], [], 0)[0]
        if not r:
            break
        for fd in r:
            b = os.read(fd, 65536)
            if b:
                got[fd].append(b)
            else:
                live.remove(fd)
    os.close(out_r)
    os.close(err_r)
    out, err = b''.join(got[out_r]), b''.join(got[err_r])
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        rc = 128 + sig
        if sig not in (signal.SIGINT, signal.SIGPIPE):
            err += ('%s\n' % (signal.strsignal(sig) or 'Signal %d' % sig)).encode()
    else:
        rc = os.WEXITSTATUS(status)
    send(b'BATON-PY %d %d %d\n' % (rc, len(out), len(err)) + out + err)

send(b'BATON-PY-READY\n')
while True:
    line = rin.readline()
    if not line:
        break
    try:
        req = json.loads(line.decode('utf-8', 'surrogateescape'))
    except ValueError as e:
        msg = ('baton: a request the interpreter could not read: %s' % e).encode()
        send(b'BATON-PY 1 0 %d\n' % len(msg) + msg)
        continue
    run(req)
"#;

/// How long the check that the connection still works may take after an interpreter ended.
const LOST_CHECK: Duration = Duration::from_secs(10);

/// How long a new interpreter may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The persistent interpreters of one host and user, by interpreter path.
#[derive(Default)]
pub(super) struct Interps {
    by_python: Mutex<HashMap<String, Arc<tokio::sync::Mutex<State>>>>,
}

enum State {
    NotStarted,
    Running(Interp),
    /// It could not be started: this host and user run one interpreter per task.
    Unusable,
}

/// A running server and what it printed that was not read yet.
struct Interp {
    process: Process,
    buf: Vec<u8>,
}

impl Interps {
    /// Stops every interpreter (closing its input ends it).
    pub(super) fn close(&self) {
        super::lock(&self.by_python).clear();
    }

    /// Runs a new-style module's payload (`zip`, on the host) in the persistent interpreter
    /// of `python` (started first if need be). `None` when it cannot run there (see the module
    /// doc): the caller runs it with an interpreter of its own.
    pub(super) async fn run(
        &self,
        ctx: &ModuleCtx,
        python: &str,
        request: &Request<'_>,
    ) -> Option<Result<ExecOutput, ModuleError>> {
        let conn = ctx.conn.as_ref()?;
        // An environment naming Python's own variables (PYTHONPATH, PYTHONIOENCODING...) must
        // be there when the interpreter starts: such a task gets an interpreter of its own.
        if !enabled()
            || ctx.timeout.is_some()
            || (ctx.become_.is_some() && conn.become_password().is_some())
            || ctx.environment.iter().any(|(k, _)| k.starts_with("PYTHON"))
        {
            return None;
        }
        let cell = super::lock(&self.by_python)
            .entry(python.to_string())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(State::NotStarted)))
            .clone();
        // Busy with another task of this host (async, free strategy): that one runs alone.
        let mut state = cell.try_lock().ok()?;
        // One that ended while idle (killed on the host) is started again.
        if let State::Running(i) = &*state
            && i.process.output.is_closed()
        {
            *state = State::NotStarted;
        }
        if matches!(*state, State::NotStarted) {
            *state = match start(ctx, python).await {
                Some(i) => State::Running(i),
                None => State::Unusable,
            };
        }
        let State::Running(interp) = &mut *state else {
            return None;
        };
        let mut line = serde_json::to_vec(&serde_json::json!({
            "zip": request.zip,
            "fqn": request.fqn,
            "profile": request.profile,
            "args": String::from_utf8_lossy(request.args),
            "env": ctx.environment.iter().cloned().collect::<HashMap<_, _>>(),
        }))
        .unwrap_or_default();
        line.push(b'\n');
        match interp.call(line).await {
            Ok(out) => Some(Ok(out)),
            Err(why) => {
                *state = State::NotStarted;
                // A lost connection is the host being unreachable, as for any other command.
                if let Err(e) = conn.exec("true", None, Some(LOST_CHECK)).await {
                    return Some(Err(e.into()));
                }
                Some(Err(ModuleError::Failed(format!(
                    "the Python interpreter running the module on the host ended: {why}"
                ))))
            }
        }
    }
}

/// What one module run asks of the interpreter.
pub(super) struct Request<'a> {
    /// The payload's path on the host.
    pub zip: &'a str,
    pub fqn: &'a str,
    pub profile: &'a str,
    /// The module's arguments document (JSON).
    pub args: &'a [u8],
}

fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BATON_PY_PERSISTENT").map_or(true, |v| v != "0"))
}

/// Starts the server and waits for it to say it is ready; `None` when it does not (no such
/// interpreter on the host, a transport that keeps no process, ...).
async fn start(ctx: &ModuleCtx, python: &str) -> Option<Interp> {
    let conn = ctx.conn.as_ref()?;
    let cmd = format!(
        "exec {} -c {} 2>&1",
        super::remote::command_words(python),
        shell_quote(SERVER)
    );
    let process = conn
        .spawn(ExecRequest {
            become_: ctx.become_.clone(),
            ..ExecRequest::new(&cmd)
        })
        .await
        .map_err(|e| tracing::debug!("no persistent interpreter on {}: {e}", ctx.host))
        .ok()?;
    let mut interp = Interp {
        process,
        buf: Vec::new(),
    };
    match tokio::time::timeout(START_TIMEOUT, interp.line()).await {
        Ok(Some(l)) if l == "BATON-PY-READY" => Some(interp),
        other => {
            tracing::debug!(
                "no persistent interpreter on {}: it said {:?}",
                ctx.host,
                other.ok().flatten()
            );
            None
        }
    }
}

impl Interp {
    /// Sends one request and reads its answer.
    async fn call(&mut self, line: Vec<u8>) -> Result<ExecOutput, String> {
        self.process
            .input
            .send(line)
            .await
            .map_err(|_| "its input is closed".to_string())?;
        let head = self
            .line()
            .await
            .ok_or_else(|| "it stopped before answering".to_string())?;
        let words: Vec<&str> = head.split(' ').collect();
        let [tag, rc, out, err] = words[..] else {
            return Err(format!("it answered {head:?}"));
        };
        let (Ok(rc), Ok(out), Ok(err)) = (rc.parse(), out.parse(), err.parse()) else {
            return Err(format!("it answered {head:?}"));
        };
        if tag != "BATON-PY" {
            return Err(format!("it answered {head:?}"));
        }
        let stdout = self
            .take(out)
            .await
            .ok_or_else(|| "it stopped while answering".to_string())?;
        let stderr = self
            .take(err)
            .await
            .ok_or_else(|| "it stopped while answering".to_string())?;
        Ok(ExecOutput {
            rc: Some(rc),
            stdout,
            stderr,
        })
    }

    /// The next line of output (without its newline); `None` when the output ended first.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let rest = self.buf.split_off(nl + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            self.buf.extend(self.process.output.recv().await?);
        }
    }

    /// The next `n` bytes of output; `None` when the output ended first.
    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            self.buf.extend(self.process.output.recv().await?);
        }
        let rest = self.buf.split_off(n);
        Some(std::mem::replace(&mut self.buf, rest))
    }
}
