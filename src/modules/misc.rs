//! Small modules: `set_fact`, `fail`, `assert` (controller only) and `ping` (a round trip to the
//! host and back).

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};

pub struct SetFact;
pub struct Fail;
pub struct Assert;
pub struct Ping;
pub struct IncludeVars;

impl Module for IncludeVars {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let file = match args.str("_raw_params")? {
                Some(f) => Some(f),
                None => args.str("file")?,
            };
            let dir = args.str("dir")?;
            let name = args.str("name")?;
            let files_matching = args.str("files_matching")?;
            let _ = args.str("hash_behaviour")?;
            let _ = args.list("extensions")?;
            let _ = args.list("ignore_files")?;
            let _ = args.int("depth")?;
            args.finish()?;
            let var = |k: &str| {
                ctx.vars
                    .get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined())
                    .map(|v| std::path::PathBuf::from(v.to_string()))
            };
            let (role_path, playbook_dir) = (var("role_path"), var("playbook_dir"));
            // Ansible looks in the role's vars/ first, then beside the playbook.
            let find = |name: &str| -> Option<std::path::PathBuf> {
                let p = std::path::Path::new(name);
                if p.is_absolute() {
                    return p.exists().then(|| p.to_path_buf());
                }
                let mut c = Vec::new();
                if let Some(r) = &role_path {
                    c.push(r.join("vars").join(p));
                    c.push(r.join(p));
                }
                if let Some(d) = &playbook_dir {
                    c.push(d.join("vars").join(p));
                    c.push(d.join(p));
                }
                c.into_iter().find(|x| x.exists())
            };
            let mut files = Vec::new();
            match (file, dir) {
                (Some(f), None) => files.push(find(&f).ok_or_else(|| {
                    ModuleError::Failed(format!("Could not find or access '{f}'"))
                })?),
                (None, Some(d)) => {
                    let path = find(&d).ok_or_else(|| {
                        ModuleError::Failed(format!("{d} directory does not exist"))
                    })?;
                    let pattern = files_matching
                        .as_deref()
                        .map(regex::Regex::new)
                        .transpose()
                        .map_err(|e| ModuleError::Failed(format!("files_matching: {e}")))?;
                    let mut entries: Vec<_> = std::fs::read_dir(&path)
                        .map_err(|e| ModuleError::Failed(format!("{}: {e}", path.display())))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.is_file()
                                && matches!(
                                    p.extension().and_then(|e| e.to_str()),
                                    Some("yml" | "yaml" | "json")
                                )
                                && pattern.as_ref().is_none_or(|r| {
                                    r.is_match(&p.file_name().unwrap_or_default().to_string_lossy())
                                })
                        })
                        .collect();
                    entries.sort();
                    files.extend(entries);
                }
                (Some(_), Some(_)) => {
                    return Err(ModuleError::Failed(
                        "parameters are mutually exclusive: file, dir".into(),
                    ));
                }
                (None, None) => {
                    return Err(ModuleError::Failed(
                        "one of the following is required: file, dir".into(),
                    ));
                }
            }
            let mut facts = Vars::new();
            // Returned as the result's warnings, the way a module reports them.
            let mut warnings = Vec::new();
            for f in &files {
                let vars = crate::value::load_vars_file(f, &mut warnings)
                    .map_err(|e| ModuleError::Failed(e.one_line()))?;
                facts.extend(vars);
            }
            let facts = match name {
                Some(n) => {
                    let mut v = Vars::new();
                    v.insert(n, value::from_vars(&facts));
                    v
                }
                None => facts,
            };
            let mut r = Vars::new();
            r.insert("ansible_facts".into(), value::from_vars(&facts));
            r.insert(
                "ansible_included_var_files".into(),
                files
                    .iter()
                    .map(|f| Value::from(f.display().to_string()))
                    .collect(),
            );
            r.insert("changed".into(), Value::from(false));
            if !warnings.is_empty() {
                r.insert(
                    "warnings".into(),
                    warnings.into_iter().map(Value::from).collect(),
                );
            }
            Ok(r)
        })
    }
}

impl Module for SetFact {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let mut facts = args.into_values();
            facts.shift_remove("cacheable");
            if facts.is_empty() {
                return Err(ModuleError::Failed(
                    "No key/value pairs provided, at least one is required for this action to succeed".into(),
                ));
            }
            let mut r = Vars::new();
            r.insert("ansible_facts".into(), value::from_vars(&facts));
            r.insert("changed".into(), Value::from(false));
            Ok(r)
        })
    }
}

impl Module for Fail {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let msg = args
                .raw("msg")
                .unwrap_or_else(|| Value::from("Failed as requested from task"));
            args.finish()?;
            Ok(super::result([
                ("failed", Value::from(true)),
                ("changed", Value::from(false)),
                ("msg", msg),
            ]))
        })
    }
}

impl Module for Assert {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            // Ansible's _check_type_list_strict: a string is one condition, never split on
            // commas (`that: x in ['a', 'b']`).
            let that = match args.raw("that") {
                Some(v) if v.kind() == minijinja::value::ValueKind::String => vec![v],
                Some(v) => {
                    let mut again = Args::new("assert", Vars::from([("that".into(), v)]));
                    again.list("that")?.unwrap_or_default()
                }
                None => {
                    return Err(ModuleError::Failed(
                        "missing required arguments: that".into(),
                    ));
                }
            };
            let fail_msg = args.raw("fail_msg").or_else(|| args.raw("msg"));
            let success_msg = args.raw("success_msg");
            let quiet = args.bool("quiet")?.unwrap_or(false);
            args.finish()?;
            for cond in &that {
                let ok = crate::template::eval_condition(cond, &ctx.vars)
                    .map_err(|e| ModuleError::Failed(e.message))?;
                if !ok {
                    let mut r = Vars::new();
                    r.insert("assertion".into(), cond.clone());
                    r.insert("changed".into(), Value::from(false));
                    r.insert("evaluated_to".into(), Value::from(false));
                    r.insert("failed".into(), Value::from(true));
                    r.insert(
                        "msg".into(),
                        fail_msg.unwrap_or_else(|| Value::from("Assertion failed")),
                    );
                    if !quiet {
                        r.insert("_ansible_verbose_always".into(), Value::from(true));
                    }
                    return Ok(r);
                }
            }
            let mut r = Vars::new();
            r.insert("changed".into(), Value::from(false));
            if !quiet {
                r.insert(
                    "msg".into(),
                    success_msg.unwrap_or_else(|| Value::from("All assertions passed")),
                );
                r.insert("_ansible_verbose_always".into(), Value::from(true));
            }
            Ok(r)
        })
    }
}

impl Module for Ping {
    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let data = args.str("data")?.unwrap_or_else(|| "pong".to_string());
            args.finish()?;
            if data == "crash" {
                return Err(ModuleError::Failed("boom".into()));
            }
            let out = ctx.exec("echo pong", None).await?;
            if out.rc != Some(0) {
                return Err(ModuleError::Failed(format!(
                    "the host could not run a shell command: {}",
                    super::text(&out.stderr).trim()
                )));
            }
            Ok(super::result([
                ("changed", Value::from(false)),
                ("ping", Value::from(data)),
            ]))
        })
    }
}
