//! `getent` (ansible.builtin.getent): a database of the host's name service (passwd, group,
//! hosts, services...) as the fact `getent_<database>`: each entry's first field maps to its
//! other fields (a list of such lists when the first field repeats), as ansible-core's module
//! builds it from the `getent` command's output.

use super::{Args, Facts, Module, ModuleCtx, ModuleResult, Outcome, Param, Spec, shell_quote};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct Getent;

static SPEC: Spec = Spec {
    names: &["getent"],
    facts: Facts::Host,
    params: &[&[
        Param::str("database").required(),
        Param::str("key"),
        Param::str("service"),
        Param::str("split"),
        Param::bool("fail_key").default_bool(true),
    ]],
    ..Spec::BASE
};

/// What the host prints when it has no `getent` (then its PATH).
const NO_GETENT: &str = "__baton_no_getent__";

impl Module for Getent {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let database = args.required_str("database")?;
            let key = args.str("key")?;
            let service = args.str("service")?;
            let split = args.str("split")?;
            let fail_key = args.bool("fail_key")?.unwrap_or(true);
            let mut cmd = format!("getent {}", shell_quote(&database));
            if let Some(k) = &key {
                cmd.push_str(&format!(" {}", shell_quote(k)));
            }
            if let Some(s) = &service {
                cmd.push_str(&format!(" -s {}", shell_quote(s)));
            }
            let out = ctx
                .exec(
                    &format!(
                        "command -v getent >/dev/null 2>&1 || {{ printf '{NO_GETENT}%s' \"$PATH\"; exit 0; }}\nexec {cmd}"
                    ),
                    None,
                )
                .await?;
            let stdout = super::text(&out.stdout);
            if let Some(path) = stdout.strip_prefix(NO_GETENT) {
                return Ok(Outcome::failed(format!(
                    "Failed to find required executable \"getent\" in paths: {path}"
                )));
            }
            // The colon-separated databases split on ':' unless told otherwise.
            let split = split.or_else(|| {
                matches!(database.as_str(), "passwd" | "shadow" | "group" | "gshadow")
                    .then(|| ":".to_string())
            });
            let fact = format!("getent_{database}");
            let facts = |entries: Vars| {
                let mut f = Vars::new();
                f.insert(fact.clone(), crate::value::from_vars(&entries));
                f
            };
            let msg = match out.rc {
                Some(0) => {
                    return Ok(Outcome {
                        facts: Some(facts(entries(&stdout, split.as_deref()))),
                        ..Outcome::ok()
                    });
                }
                Some(1) => "Missing arguments, or database unknown.",
                Some(2) => {
                    let msg = "One or more supplied key could not be found in the database.";
                    if !fail_key {
                        let mut missing = Vars::new();
                        missing.insert(key.unwrap_or_default(), Value::from(()));
                        return Ok(Outcome {
                            facts: Some(facts(missing)),
                            msg: Some(Value::from(msg)),
                            ..Outcome::ok()
                        });
                    }
                    msg
                }
                Some(3) => "Enumeration not supported on this database.",
                _ => "Unexpected failure!",
            };
            Ok(Outcome::failed(msg))
        })
    }
}

/// The module's table: the first field of each line maps to the rest; a first field seen
/// again turns its value into the list of every entry's rest. Without `split`, fields are
/// separated by runs of whitespace (Python's `str.split()`).
fn entries(out: &str, split: Option<&str>) -> Vars {
    let mut table = Vars::new();
    let mut seen: indexmap::IndexMap<String, usize> = indexmap::IndexMap::new();
    for line in out.lines() {
        let record: Vec<&str> = match split {
            Some(sep) if !sep.is_empty() => line.split(sep).collect(),
            _ => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = record.split_first() else {
            continue;
        };
        let rest = Value::from(rest.iter().map(|f| Value::from(*f)).collect::<Vec<_>>());
        let count = seen.entry(first.to_string()).or_insert(0);
        *count += 1;
        match *count {
            1 => {
                table.insert(first.to_string(), rest);
            }
            2 => {
                let earlier = table.get(*first).cloned().unwrap_or_default();
                table.insert(first.to_string(), Value::from(vec![earlier, rest]));
            }
            _ => {
                let mut all: Vec<Value> = table
                    .get(*first)
                    .and_then(|v| v.try_iter().ok())
                    .map(|i| i.collect())
                    .unwrap_or_default();
                all.push(rest);
                table.insert(first.to_string(), Value::from(all));
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_and_repeat_as_the_module_builds_them() {
        let t = entries(
            "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:/usr/sbin/nologin\n",
            Some(":"),
        );
        assert_eq!(
            crate::value::to_json(&t["bin"]),
            serde_json::json!(["x", "2", "2", "", "/bin", "/usr/sbin/nologin"])
        );
        let t = entries(
            "127.0.0.1       localhost\n::1  localhost ip6-localhost\n127.0.0.1 other\n",
            None,
        );
        assert_eq!(
            crate::value::to_json(&t["127.0.0.1"]),
            serde_json::json!([["localhost"], ["other"]])
        );
        assert_eq!(
            crate::value::to_json(&t["::1"]),
            serde_json::json!(["localhost", "ip6-localhost"])
        );
    }
}
