//! `include_vars`: variables from the user's YAML or JSON files (a file, or a directory's
//! files walked in order), read on the controller, as ansible-core's include_vars action:
//! `depth`, `files_matching`, `ignore_files`, `extensions`, `ignore_unknown_extensions`,
//! `name` and `hash_behaviour`. Its failures are results with a `message`.

use super::{
    Args, Facts, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use std::path::{Path, PathBuf};

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
        Param::any("ignore_files"),
        Param::bool("ignore_unknown_extensions"),
        Param::int("depth"),
    ]],
    ..Spec::BASE
};

const DIR_ARGS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

/// What a directory is read with.
struct DirRules {
    depth: usize,
    matcher: Option<regex::Regex>,
    ignore: Vec<regex::Regex>,
    extensions: Vec<String>,
    ignore_unknown: bool,
    /// The role's own `vars/main.yml`, never read again.
    role_main: Option<PathBuf>,
}

impl DirRules {
    fn valid_ext(&self, name: &str) -> bool {
        // Python's os.path.splitext: a leading dot is no extension.
        let stem = name.trim_start_matches('.');
        let ext = match stem.rfind('.') {
            Some(i) => &stem[i + 1..],
            None => "",
        };
        self.extensions.iter().any(|e| e == ext)
    }
}

/// Reads a vars file: a mapping (an empty file is an empty one), else the message.
fn load_file(path: &Path, warnings: &mut Vec<String>) -> Result<Vars, String> {
    let source = crate::value::read_source(path).map_err(|e| e.one_line())?;
    let loaded =
        crate::yaml::load(&source, crate::yaml::Aliases::Shared).map_err(|e| e.one_line())?;
    warnings.extend(loaded.warnings);
    if loaded.node.is_null() {
        return Ok(Vars::new());
    }
    value::vars_from_node(&loaded.node)
        .ok_or_else(|| format!("{} must be stored as a dictionary/hash", path.display()))
}

/// The files of a directory tree, ansible-core's order: directories sorted by path (links
/// followed), each one's files sorted, not below `depth` (0: no limit).
fn walk(root: &Path, depth: usize) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 1usize)];
    while let Some((dir, level)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push((p, level + 1));
            } else {
                files.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        if depth == 0 || level <= depth {
            out.push((dir, files));
        }
    }
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out
}

/// Merges `new` into `old` key by key, nested mappings too (`hash_behaviour: merge`).
fn merge(old: &Value, new: &Value) -> Value {
    use minijinja::value::ValueKind;
    if old.kind() != ValueKind::Map || new.kind() != ValueKind::Map {
        return new.clone();
    }
    let Ok(old_keys) = old.try_iter() else {
        return new.clone();
    };
    let mut pairs: Vec<(Value, Value)> = old_keys
        .map(|k| (k.clone(), old.get_item(&k).unwrap_or_default()))
        .collect();
    for k in new.try_iter().into_iter().flatten() {
        let v = new.get_item(&k).unwrap_or_default();
        match pairs.iter_mut().find(|(pk, _)| *pk == k) {
            Some((_, pv)) => *pv = merge(pv, &v),
            None => pairs.push((k, v)),
        }
    }
    value::map(pairs)
}

impl Module for IncludeVars {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let given: Vec<String> = args.keys().map(str::to_string).collect();
            let dirs = given.iter().any(|k| DIR_ARGS.contains(&k.as_str()));
            let files_given = given.iter().any(|k| k == "file" || k == "_raw_params");
            if dirs && files_given {
                return Err(ModuleError::Failed(
                    "You are mixing file only and dir only arguments, these are incompatible"
                        .into(),
                ));
            }
            let dir = args.str("dir")?;
            let file = match args.str("file")? {
                Some(f) => Some(f),
                None if dir.is_none() => args
                    .str("_raw_params")?
                    .map(|f| f.trim_end_matches('\n').trim().to_string()),
                None => None,
            };
            let name = args.str("name")?;
            let hash_behaviour = args.str("hash_behaviour")?;
            let var = |k: &str| {
                ctx.vars
                    .get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map(|v| PathBuf::from(v.to_string()))
            };
            let (role_path, playbook_dir) = (var("role_path"), var("playbook_dir"));
            let mut warnings = Vec::new();
            let mut included: Vec<String> = Vec::new();
            let mut results = Vars::new();
            let mut failure: Option<String> = None;
            if let Some(d) = dir {
                let rules = DirRules {
                    depth: args.int("depth")?.unwrap_or(0).max(0) as usize,
                    matcher: match args.str("files_matching")? {
                        Some(m) => Some(regex::Regex::new(&m).map_err(|e| {
                            ModuleError::Failed(format!("Invalid regular expression: {m}: {e}"))
                        })?),
                        None => None,
                    },
                    ignore: match args.raw("ignore_files") {
                        None => Vec::new(),
                        Some(v) => {
                            let list: Vec<String> = match v.as_str() {
                                Some(s) => s.split_whitespace().map(str::to_string).collect(),
                                None if v.kind() == minijinja::value::ValueKind::Map => {
                                    return Err(ModuleError::Failed(format!("{v} must be a list")));
                                }
                                None => v
                                    .try_iter()
                                    .map(|i| i.map(|x| x.to_string()).collect())
                                    .unwrap_or_default(),
                            };
                            list.iter()
                                .map(|p| {
                                    regex::Regex::new(&format!("{p}$")).map_err(|_| {
                                        ModuleError::Failed(format!(
                                            "Invalid regular expression: {p}"
                                        ))
                                    })
                                })
                                .collect::<Result<_, _>>()?
                        }
                    },
                    extensions: match args.list("extensions")? {
                        Some(l) => l.iter().map(|e| e.to_string()).collect(),
                        None => vec!["yaml".into(), "yml".into(), "json".into()],
                    },
                    ignore_unknown: args.bool("ignore_unknown_extensions")?.unwrap_or(false),
                    role_main: role_path.as_ref().map(|r| r.join("vars").join("main.yml")),
                };
                // In a role: its vars/ directory; elsewhere: beside the playbook.
                let source = match &role_path {
                    Some(r) if d.split('/').next() == Some("vars") => {
                        let p = r.join(&d);
                        if p.exists() { p } else { PathBuf::from(&d) }
                    }
                    Some(r) => r.join("vars").join(&d),
                    None => playbook_dir.clone().unwrap_or_default().join(&d),
                };
                if !source.exists() {
                    failure = Some(format!("{} directory does not exist", source.display()));
                } else if !source.is_dir() {
                    failure = Some(format!("{} is not a directory", source.display()));
                } else {
                    'dirs: for (root, names) in walk(&source, rules.depth) {
                        for n in names {
                            let path = root.join(&n);
                            if rules.role_main.as_deref() == Some(path.as_path())
                                || rules.matcher.as_ref().is_some_and(|m| !m.is_match(&n))
                                || rules.ignore.iter().any(|r| r.is_match(&n))
                                || (rules.ignore_unknown && !rules.valid_ext(&n))
                            {
                                continue;
                            }
                            if !rules.valid_ext(&n) {
                                failure = Some(format!(
                                    "{} does not have a valid extension: {}",
                                    path.display(),
                                    rules.extensions.join(", ")
                                ));
                                break 'dirs;
                            }
                            match load_file(&path, &mut warnings) {
                                Ok(v) => {
                                    included.push(path.display().to_string());
                                    results.extend(v);
                                }
                                Err(m) => {
                                    failure = Some(m);
                                    break 'dirs;
                                }
                            }
                        }
                    }
                }
            } else {
                match file.filter(|f| !f.is_empty()) {
                    None => {
                        failure = Some(
                            "Could not find file on the Ansible Controller.\nIf you are using a \
                             module and expect the file to exist on the remote, see the \
                             remote_src option"
                                .into(),
                        );
                    }
                    Some(f) => {
                        // Ansible looks in the role's vars/ first, then beside the playbook.
                        let p = Path::new(&f);
                        let mut candidates = Vec::new();
                        if p.is_absolute() {
                            candidates.push(p.to_path_buf());
                        }
                        for base in [&role_path, &playbook_dir].into_iter().flatten() {
                            candidates.push(base.join("vars").join(p));
                            candidates.push(base.join(p));
                        }
                        match candidates.iter().find(|c| c.is_file()) {
                            None => failure = Some(format!("Could not find or access '{f}'")),
                            Some(path) => match load_file(path, &mut warnings) {
                                Ok(v) => {
                                    included.push(path.display().to_string());
                                    results.extend(v);
                                }
                                Err(m) => failure = Some(m),
                            },
                        }
                    }
                }
            }
            let mut results = match name {
                Some(n) => {
                    let mut v = Vars::new();
                    v.insert(n, value::from_vars(&results));
                    v
                }
                None => results,
            };
            let included = Value::from(
                included
                    .into_iter()
                    .map(Value::from)
                    .collect::<Vec<Value>>(),
            );
            if let Some(message) = failure {
                let mut outcome = Outcome::failed(message.clone())
                    .with("message", Value::from(message))
                    .with("ansible_included_var_files", included);
                outcome.facts = Some(Vars::new());
                return Ok(outcome.with_warnings(warnings));
            }
            // `hash_behaviour: merge`: mappings merge into the variables of the same name.
            if hash_behaviour.as_deref() == Some("merge") {
                for (k, v) in results.iter_mut() {
                    if let Ok(old) = ctx.vars.get_attr(k)
                        && !old.is_undefined()
                    {
                        *v = merge(&old, v);
                    }
                }
            }
            Ok(Outcome {
                facts: Some(results),
                ..Outcome::ok()
            }
            .with("ansible_included_var_files", included)
            .with_warnings(warnings))
        })
    }
}
