//! The `python` facts of `setup` (`ansible_python`: the interpreter's path, version and
//! type), as ansible-core's python collector reports them, when the host has a Python; with
//! them the platform collector's `python_version` and, when the interpreter was discovered,
//! `discovered_interpreter_python`, as ansible-core's action adds it.
//!
//! baton needs no Python on the host, but playbooks read these facts (`{{
//! ansible_python.executable }}`): the fact script asks the interpreter the inventory names
//! (`ansible_python_interpreter`, else INTERPRETER_PYTHON), else the one ansible-core's
//! interpreter discovery picks (the first of INTERPRETER_PYTHON_FALLBACK that `command -v`
//! finds as a path), and reports nothing when there is none.

use super::shell_quote;
use super::sysutil;
use crate::value::{self, Value};

/// The Python program that prints what ansible-core's collector reports, as JSON. It costs the
/// host as little as a Python start can: `-S` (no `site`), and neither `ssl` nor `json`
/// imported (the two took most of the program's time): `has_sslcontext` is whether the
/// `_ssl` extension that `ssl` needs is there (Pythons without `importlib.machinery`, 2.x,
/// try the import), and the JSON is written by hand.
const PROGRAM: &str = concat!(
    "import sys\n",
    "try:\n",
    "    from importlib.machinery import PathFinder\n",
    "    ssl = '_ssl' in sys.builtin_module_names or PathFinder.find_spec('_ssl') is not None\n",
    "except ImportError:\n",
    "    try:\n",
    "        from ssl import create_default_context, SSLContext\n",
    "        ssl = True\n",
    "    except ImportError:\n",
    "        ssl = False\n",
    "def q(s):\n",
    "    if s is None:\n",
    "        return 'null'\n",
    "    return '\"' + ''.join(c if c not in '\"\\\\' and ' ' <= c else '\\\\u%04x' % ord(c) for c in s) + '\"'\n",
    "v = sys.version_info\n",
    "t = getattr(getattr(sys, 'implementation', None), 'name', None)\n",
    "print('{\"version\": {\"major\": %d, \"minor\": %d, \"micro\": %d, \"releaselevel\": %s, \"serial\": %d}, '\n",
    "      '\"version_info\": [%d, %d, %d, %s, %d], \"executable\": %s, \"has_sslcontext\": %s, \"type\": %s}'\n",
    "      % (v[0], v[1], v[2], q(v[3]), v[4], v[0], v[1], v[2], q(v[3]), v[4], q(sys.executable),\n",
    "         ssl and 'true' or 'false', q(t)))\n",
);

/// The part of the fact script that prints the `python` section. `interpreter` is the one
/// configured (the inventory's, else INTERPRETER_PYTHON unless `auto`); without one, the
/// section starts with `D:<path>`, the interpreter discovery found.
pub fn probe(interpreter: Option<&str>) -> String {
    let configured =
        interpreter.filter(|i| !i.is_empty() && !i.contains("{{") && !i.starts_with("auto"));
    let find = match configured {
        Some(i) => format!(
            "for _p in {} python3 python; do if command -v \"$_p\" >/dev/null 2>&1; then _py=$_p; break; fi; done\n",
            shell_quote(i)
        ),
        None => format!(
            "for _p in {}; do _f=$(command -v \"$_p\" 2>/dev/null) && case $_f in /*) _py=$_f; echo \"D:$_f\"; break;; esac; done\n",
            super::python::interpreter_fallback()
                .iter()
                .map(|p| shell_quote(p))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    format!(
        "{}\n_py=\n{find}[ -n \"$_py\" ] && \"$_py\" -S -c {} 2>/dev/null\n",
        sysutil::section("python"),
        shell_quote(PROGRAM),
    )
}

/// The interpreter setting that applies to a host's setup: `ansible_python_interpreter`,
/// else INTERPRETER_PYTHON from the environment, else the `discovered_interpreter_python` the
/// host already has (a discovery is done once). `None`: discover.
pub fn configured(vars: &Value) -> Option<String> {
    let var = |v: Value| (!v.is_undefined() && !v.is_none()).then(|| v.to_string());
    vars.get_attr("ansible_python_interpreter")
        .ok()
        .and_then(var)
        .or_else(|| std::env::var("ANSIBLE_PYTHON_INTERPRETER").ok())
        .filter(|i| !i.starts_with("auto"))
        .or_else(|| {
            let facts = vars.get_attr("ansible_facts").ok()?;
            var(facts.get_attr("discovered_interpreter_python").ok()?)
        })
}

/// The `python` fact, `python_version` and the discovered interpreter from the section.
pub fn facts(section: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut json_text = section;
    if let Some(rest) = section.trim_start().strip_prefix("D:") {
        let (path, after) = rest.split_once('\n').unwrap_or((rest, ""));
        out.push((
            "discovered_interpreter_python".to_string(),
            Value::from(path.trim()),
        ));
        json_text = after;
    }
    if let Some(python) = fact(json_text) {
        let v = python.get_attr("version").unwrap_or_default();
        let part = |k: &str| v.get_attr(k).map(|x| x.to_string()).unwrap_or_default();
        // platform.python_version(): major.minor.micro, and a pre-release's level and serial.
        let suffix = match part("releaselevel").as_str() {
            "alpha" => format!("a{}", part("serial")),
            "beta" => format!("b{}", part("serial")),
            "candidate" => format!("rc{}", part("serial")),
            _ => String::new(),
        };
        let version = format!(
            "{}.{}.{}{suffix}",
            part("major"),
            part("minor"),
            part("micro")
        );
        out.push(("python_version".to_string(), Value::from(version)));
        out.push(("python".to_string(), python));
    }
    out
}

/// The `python` fact from the section's text, if the host had a Python.
pub fn fact(section: &str) -> Option<Value> {
    let json: serde_json::Value = serde_json::from_str(section.trim()).ok()?;
    json.is_object().then(|| value::from_json(&json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_fact_comes_from_the_interpreter_the_inventory_names() {
        let script = probe(Some("/opt/py/bin/python"));
        let first = script.find("/opt/py/bin/python").unwrap();
        assert!(first < script.find("python3").unwrap());
        assert!(!script.contains("D:"));
        // Discovery: the fallback list in order, the found path reported.
        let script = probe(Some("auto_silent"));
        assert!(script.find("python3.13").unwrap() < script.find("/usr/bin/python3").unwrap());
        let f = facts(
            "D:/usr/bin/python3.11\n{\"version\": {\"major\": 3, \"minor\": 11, \"micro\": 2, \"releaselevel\": \"final\", \"serial\": 0}}\n",
        );
        assert_eq!(f[0].1.as_str(), Some("/usr/bin/python3.11"));
        assert_eq!(f[1].1.as_str(), Some("3.11.2"));
        // A template the inventory did not resolve is not run.
        assert!(!probe(Some("{{ ansible_playbook_python }}")).contains("{{"));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe(None))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let body = sysutil::sections(&text)
            .get("python")
            .cloned()
            .unwrap_or_default();
        let found = facts(&body);
        if let Some((_, f)) = found.iter().find(|(k, _)| k == "python") {
            let major = f.get_attr("version").unwrap().get_attr("major").unwrap();
            assert_eq!(major.as_i64(), Some(3));
            assert!(!f.get_attr("executable").unwrap().to_string().is_empty());
            // Discovered (no interpreter configured): the path is reported first.
            assert_eq!(found[0].0, "discovered_interpreter_python", "{body}");
        } else {
            // No Python that runs here (or a discovered one that does not start, as a pyenv
            // shim of an uninstalled version): no fact, and that is no error.
            let rest = body.trim().lines().filter(|l| !l.starts_with("D:")).count();
            assert_eq!(rest, 0, "{body}");
        }
        assert!(fact("not json").is_none());
    }
}
