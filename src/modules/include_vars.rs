//! `include_vars`: variables from the user's YAML or JSON files (a file, or a directory's
//! files), read on the controller.

use super::{
    Args, Facts, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};

pub struct IncludeVars;

static SPEC: Spec = Spec {
    names: &["include_vars"],
    free_form: FreeForm::Params,
    connection: false,
    facts: Facts::Files,
    params: &[&[
        Param::str("_raw_params"),
        Param::str("file"),
        Param::str("dir"),
        Param::str("name"),
        Param::str("files_matching"),
        Param::str("hash_behaviour"),
        Param::list("extensions"),
        Param::list("ignore_files"),
        Param::int("depth"),
    ]],
    ..Spec::BASE
};

impl Module for IncludeVars {
    fn spec(&self) -> &'static Spec {
        &SPEC
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
            Ok(Outcome {
                facts: Some(facts),
                ..Outcome::ok()
            }
            .with(
                "ansible_included_var_files",
                files
                    .iter()
                    .map(|f| Value::from(f.display().to_string()))
                    .collect(),
            )
            .with_warnings(warnings))
        })
    }
}
