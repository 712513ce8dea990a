//! The controller side of the Python fallback: a small Python program baton embeds
//! ([`PROGRAM`]) and runs with the controller's Python, which imports the controller's
//! ansible-core and asks it, in its own words, what a module name means and what its payload is.
//!
//! Why ansible-core itself: where a module is found (the playbook's and roles' `library/`,
//! ANSIBLE_LIBRARY and `library` in ansible.cfg, collections paths, the `ansible_collections`
//! package, redirects and deprecations in a collection's runtime.yml) and which module_utils a
//! module needs (recursively, with collection module_utils and relative imports) is ansible's
//! plugin loader and module_common; baton calls them rather than copying them, so a module
//! gets exactly the files it gets under ansible-playbook.
//!
//! Two requests, both one JSON document on the program's standard input and one on its
//! standard output:
//! - `resolve`: for every name, found or not, its FQCN, path, style (`new`, `old`,
//!   `want_json`, `binary`, `jsonargs`, `powershell`) and any action plugin of that name; and
//!   the settings of the controller's ansible configuration a module's arguments carry;
//! - `build`: for each module, the zip payload of a new-style one (base64), its name inside the
//!   zip and its serialization profile, or for the other styles the module's own bytes and its
//!   shebang; or why it could not be built.

use crate::ansible_py::parse_answer;
pub use crate::ansible_py::{HelperError, controller_python, run_blocking};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};

/// The helper program: reads a request on stdin, prints the answer on stdout.
pub const PROGRAM: &str = r#"
import sys, json, os, io, base64, re, datetime, zipfile

def answer(doc):
    sys.stdout.write(json.dumps(doc))
    sys.stdout.flush()
    sys.exit(0)

req = json.load(sys.stdin)
try:
    import ansible
    from ansible import constants as C
    from ansible.plugins.loader import init_plugin_loader, add_all_plugin_dirs, module_loader, action_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig
except Exception as e:
    answer({"error": "no-ansible", "detail": "%s: %s" % (type(e).__name__, e), "python": sys.executable})

init_plugin_loader()
if req.get("playbook_dir"):
    AnsibleCollectionConfig.playbook_paths = [req["playbook_dir"]]
for d in req.get("plugin_dirs", []):
    add_all_plugin_dirs(d)

from ansible.executor import module_common as mc

def style_of(b):
    if mc._is_binary(b):
        return "binary"
    if mc.REPLACER in b or mc.NEW_STYLE_PYTHON_MODULE_RE.search(b):
        return "new"
    if mc.REPLACER_WINDOWS in b or re.search(b'#Requires -(Module|Version)', b, re.IGNORECASE) \
            or re.search(b'#AnsibleRequires -(OSVersion|PowerShell|CSharpUtil|Wrapper)', b, re.IGNORECASE):
        return "powershell"
    if mc.REPLACER_JSONARGS in b:
        return "jsonargs"
    if b'WANT_JSON' in b:
        return "want_json"
    return "old"

def resolve(name):
    ctx = module_loader.find_plugin_with_context(name)
    if not ctx.resolved or not ctx.plugin_resolved_path:
        act = action_loader.find_plugin_with_context(name)
        action = None
        if act.resolved and act.plugin_resolved_path:
            action = {"name": act.resolved_fqcn or act.plugin_resolved_name, "path": act.plugin_resolved_path}
        return {"name": name, "found": False, "reason": ctx.exit_reason or "", "action_plugin": action}
    path = ctx.plugin_resolved_path
    with open(path, "rb") as f:
        b = f.read()
    act = action_loader.find_plugin_with_context(name)
    action = None
    if act.resolved and act.plugin_resolved_path and act.plugin_resolved_name not in ("normal", "ansible.builtin.normal", "ansible.legacy.normal"):
        action = {"name": act.resolved_fqcn or act.plugin_resolved_name, "path": act.plugin_resolved_path}
    return {"name": name, "found": True, "fqcn": ctx.resolved_fqcn or ctx.plugin_resolved_name,
            "path": path, "style": style_of(b), "action_plugin": action}

def settings():
    from ansible.module_utils._internal import _traceback
    cfg = C.config.get_config_value
    return {
        "version": ansible.__version__ if hasattr(ansible, "__version__") else __import__("ansible.release").release.__version__,
        "debug": bool(C.DEFAULT_DEBUG),
        "no_target_syslog": bool(cfg("DEFAULT_NO_TARGET_SYSLOG")),
        "syslog_facility": C.DEFAULT_SYSLOG_FACILITY,
        "selinux_special_fs": list(C.DEFAULT_SELINUX_SPECIAL_FS),
        "keep_remote_files": bool(C.DEFAULT_KEEP_REMOTE_FILES),
        "target_log_info": cfg("TARGET_LOG_INFO"),
        "shell_executable": C.DEFAULT_EXECUTABLE,
        "tracebacks_for": _traceback.traceback_for(),
        "interpreter_fallback": list(cfg("INTERPRETER_PYTHON_FALLBACK")),
        "interpreter_python": cfg("INTERPRETER_PYTHON"),
    }

def build(name, path):
    with open(path, "rb") as f:
        b = f.read()
    style = style_of(b)
    if style != "new":
        interp, args = mc._extract_interpreter(b)
        return {"style": style, "data": base64.b64encode(b).decode(), "interpreter": interp, "interpreter_args": args}
    b = b.replace(mc.REPLACER, b'from ansible.module_utils.basic import *')
    try:
        fqn = mc._get_ansible_module_fqn(path)
    except ValueError:
        fqn = "ansible.legacy.%s" % name
    from ansible._internal._ansiballz import _builder
    from ansible._internal._datatag._tags import Origin
    date_time = datetime.datetime.now(datetime.timezone.utc)
    compression = getattr(zipfile, C.config.get_config_value("DEFAULT_MODULE_COMPRESSION"), zipfile.ZIP_STORED)
    out = io.BytesIO()
    zf = zipfile.ZipFile(out, mode="w", compression=compression)
    em = _builder.ExtensionManager.create(task_vars={})
    meta = mc.recursive_finder(name, fqn, Origin(path=path).tag(b), zf, date_time, em)
    mc._add_module_to_zip(zf, date_time, fqn, b, path, em)
    zf.close()
    return {"style": style, "data": base64.b64encode(out.getvalue()).decode(), "fqn": fqn,
            "profile": meta.serialization_profile}

try:
    if req["op"] == "resolve":
        answer({"modules": [resolve(n) for n in req["names"]], "settings": settings()})
    elif req["op"] == "build":
        out = []
        for m in req["modules"]:
            try:
                out.append({"name": m["name"], "payload": build(m["name"], m["path"])})
            except Exception as e:
                out.append({"name": m["name"], "error": "%s: %s" % (type(e).__name__, e)})
        answer({"payloads": out})
    else:
        answer({"error": "bad-request", "detail": req["op"]})
except Exception as e:
    answer({"error": "failed", "detail": "%s: %s" % (type(e).__name__, e)})
"#;

/// What the controller's ansible-core said about a request: the answer's JSON document.
pub async fn ask(python: &Path, request: &Json) -> Result<Json, HelperError> {
    use tokio::io::AsyncWriteExt;
    let mut child =
        tokio::process::Command::from(crate::ansible_py::program_command(python, PROGRAM))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| crate::ansible_py::not_started(python, &e))?;
    let body = serde_json::to_vec(request).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| crate::ansible_py::failed(&e))?;
    parse_answer(python, &out.stdout, &out.stderr)
}

/// [`ask`] from a thread that is not async (loading a playbook happens before the run).
pub fn ask_blocking(python: &Path, request: &Json) -> Result<Json, HelperError> {
    run_blocking(python, PROGRAM, request)
}

/// The `resolve` request for these names.
pub fn resolve_request(names: &[String], playbook_dir: &Path, plugin_dirs: &[PathBuf]) -> Json {
    json!({
        "op": "resolve",
        "names": names,
        "playbook_dir": playbook_dir,
        "plugin_dirs": plugin_dirs,
    })
}

/// The `build` request for modules, as (name, path) pairs: one payload or error each.
pub fn build_request(
    modules: &[(String, String)],
    playbook_dir: &Path,
    plugin_dirs: &[PathBuf],
) -> Json {
    let modules: Vec<Json> = modules
        .iter()
        .map(|(name, path)| json!({"name": name, "path": path}))
        .collect();
    json!({
        "op": "build",
        "modules": modules,
        "playbook_dir": playbook_dir,
        "plugin_dirs": plugin_dirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_without_ansible_says_how_to_install_it() {
        let e = HelperError::NoAnsible {
            python: "/usr/bin/python3".into(),
            detail: "ModuleNotFoundError: No module named 'ansible'".into(),
        };
        let m = e.message("tempfile");
        assert!(m.contains("pip install ansible-core"), "{m}");
        assert!(m.contains("/usr/bin/python3"), "{m}");
        let r = parse_answer(
            Path::new("py"),
            br#"{"error": "no-ansible", "python": "/x/py", "detail": "nope"}"#,
            b"",
        );
        assert!(matches!(r, Err(HelperError::NoAnsible { .. })));
        let r = parse_answer(Path::new("py"), b"", b"Traceback\nSyntaxError: bad\n");
        assert_eq!(
            r,
            Err(HelperError::Failed(
                "the controller's Python (py) gave no answer: SyntaxError: bad".into()
            ))
        );
    }

    #[test]
    fn the_python_next_to_ansible_playbook_is_the_controllers() {
        let dir = std::env::temp_dir().join(format!("baton-pyhelper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ap = dir.join("ansible-playbook");
        std::fs::write(&ap, "#!/usr/bin/env python3\n").unwrap();
        assert_eq!(crate::ansible_py::shebang_python(&ap), None);
        let py = dir.join("python3");
        std::fs::write(&py, "").unwrap();
        std::fs::write(&ap, format!("#!{}\nimport x\n", py.display())).unwrap();
        assert_eq!(crate::ansible_py::shebang_python(&ap), Some(py));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
