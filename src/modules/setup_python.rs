//! The `python` facts of `setup` (`ansible_python`: the interpreter's path, version and
//! type), as ansible-core's python collector reports them, when the host has a Python.
//!
//! baton needs no Python on the host, but playbooks read these facts (`{{
//! ansible_python.executable }}`): the fact script asks the interpreter the inventory names
//! (`ansible_python_interpreter`), else the first `python3` or `python` on the PATH, and
//! reports nothing when there is none.

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

/// The part of the fact script that prints the `python` section.
pub fn probe(interpreter: Option<&str>) -> String {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(i) = interpreter.filter(|i| !i.is_empty() && !i.contains("{{")) {
        candidates.push(shell_quote(i));
    }
    candidates.extend(["python3".to_string(), "python".to_string()]);
    format!(
        "{}\nfor _p in {}; do if command -v \"$_p\" >/dev/null 2>&1; then \"$_p\" -S -c {} 2>/dev/null && break; fi; done\n",
        sysutil::section("python"),
        candidates.join(" "),
        shell_quote(PROGRAM),
    )
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
        if let Some(f) = fact(&body) {
            let major = f.get_attr("version").unwrap().get_attr("major").unwrap();
            assert_eq!(major.as_i64(), Some(3));
            assert!(!f.get_attr("executable").unwrap().to_string().is_empty());
        } else {
            // No Python here: nothing is reported, and that is no error.
            assert!(body.trim().is_empty(), "{body}");
        }
        assert!(fact("not json").is_none());
    }
}
