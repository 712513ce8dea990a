//! The role a `baton template` template belongs to: found from the template's own path
//! (`.../ROLE/templates/FILE`) or named with `--role NAME` (looked for as a play looks for it:
//! `roles/` beside the playbook directory, `roles_path`, `ANSIBLE_ROLES_PATH`), and read with the
//! playbook's own role loader ([`crate::playbook::role`]), meta dependencies included.
//!
//! What it gives is what a template task of the role would see: the defaults of the role and its
//! dependencies (below the inventory) and their vars (above the inventory and facts), and which
//! file each came from, so that a message about an undefined variable can say where to define it.

use crate::diagnostics::{Error, ErrorKind, Pos, Source, Span};
use crate::playbook::Loader;
use crate::playbook::role::{self, LoadedRole, RoleFiles};
use crate::value::Vars;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One role's `defaults/` or `vars/` file and what it defines.
#[derive(Debug, Clone)]
pub struct VarsFile {
    /// The file, as shown to the user (relative to the current directory when inside it).
    pub shown: String,
    pub vars: Arc<Vars>,
}

/// The role of a template, read from disk.
#[derive(Debug, Clone)]
pub struct TemplateRole {
    /// The role's name (its directory's name): `role_name`.
    pub name: String,
    /// The role's directory: `role_path`.
    pub path: PathBuf,
    /// Defaults of the dependencies, then of the role, merged in that order.
    pub defaults: Arc<Vars>,
    /// Vars of the dependencies, then of the role, merged in that order.
    pub vars: Arc<Vars>,
    /// The defaults files, the one whose value wins first (the role's own, then its
    /// dependencies').
    pub defaults_files: Vec<VarsFile>,
    /// The vars files, the one whose value wins first.
    pub vars_files: Vec<VarsFile>,
    /// Where the role's own defaults live (or would): `roles/R/defaults/main.yml`.
    pub own_defaults: String,
}

/// A loader for roles as a play in `playbook_dir` finds them, with ansible.cfg's `roles_path`
/// (which `ANSIBLE_ROLES_PATH` overrides), as `baton play` sets it up.
pub fn loader(playbook_dir: &Path, config: &crate::config::Config) -> Loader {
    let mut loader = Loader::for_playbook(&playbook_dir.join("playbook.yml"));
    if !config.roles_path.is_empty() && std::env::var_os("ANSIBLE_ROLES_PATH").is_none() {
        loader.roles_path = config.roles_path.clone();
    }
    loader
}

/// The role directory a template file lives in: the nearest `R/templates/` above it whose `R`
/// looks like a role (it has tasks, defaults, vars, meta or handlers).
pub fn owning_role(template: &Path) -> Option<PathBuf> {
    let full = std::fs::canonicalize(template).ok()?;
    full.ancestors()
        .skip(1)
        .filter(|a| a.file_name().is_some_and(|n| n == "templates"))
        .filter_map(Path::parent)
        .find(|r| {
            ["tasks", "defaults", "vars", "meta", "handlers"]
                .iter()
                .any(|d| r.join(d).is_dir())
        })
        .map(Path::to_path_buf)
}

/// The directory of the role called `name` (`--role`), or an error listing where it was looked
/// for.
pub fn find(name: &str, loader: &Loader) -> Result<PathBuf, Error> {
    if let Some((_, path)) = role::find_role(name, loader, None) {
        return Ok(path);
    }
    let mut searched = vec![loader.playbook_dir.join("roles")];
    searched.extend(loader.roles_path.iter().cloned());
    searched.push(loader.playbook_dir.clone());
    let searched: Vec<String> = searched.iter().map(|p| shown(p)).collect();
    Err(Error::new(
        ErrorKind::NotFound,
        format!("the role '{name}' was not found in {}", searched.join(":")),
    )
    .with_help(
        "run baton where the role's roles/ directory is, pass --playbook-dir, or add its \
         parent directory to roles_path (ansible.cfg) or ANSIBLE_ROLES_PATH",
    ))
}

/// The template file `src` of a role: `templates/SRC`, else `SRC` in the role's directory, as
/// the template module looks inside a role.
pub fn template_in(role_dir: &Path, src: &Path) -> Result<PathBuf, Error> {
    let candidates = [role_dir.join("templates").join(src), role_dir.join(src)];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|p| shown(p)).collect();
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "the template '{}' is not in the role: tried {}",
            src.display(),
            tried.join(", ")
        ),
    ))
}

/// Reads the role at `dir` and its dependencies with the playbook's role loader.
pub fn load(dir: &Path, loader: &Loader) -> Result<TemplateRole, Error> {
    let short = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    // By its short name when that finds this very role (so messages name it as a play would),
    // else by its path.
    let same = |p: &Path| std::fs::canonicalize(p).ok() == std::fs::canonicalize(dir).ok();
    let name = match role::find_role(&short, loader, None) {
        Some((_, found)) if same(&found) => short.clone(),
        _ => dir.display().to_string(),
    };
    let origin = Source::new("<command line>", format!("role {name}"));
    let span = Span::point(origin, Pos { line: 1, col: 1 });
    let loaded = role::load_role(
        &name,
        &span,
        Vars::new(),
        Default::default(),
        &RoleFiles::default(),
        loader,
        0,
    )?;
    let (mut defaults, mut vars) = (Vars::new(), Vars::new());
    loaded.merge_vars_into(&mut defaults, &mut vars);
    let (mut defaults_files, mut vars_files) = (Vec::new(), Vec::new());
    collect_files(&loaded, &mut defaults_files, &mut vars_files);
    // The one that wins first.
    defaults_files.reverse();
    vars_files.reverse();
    let own_defaults = role::role_file(dir, "defaults", None)
        .unwrap_or_else(|| dir.join("defaults").join("main.yml"));
    Ok(TemplateRole {
        name: short,
        path: dir.to_path_buf(),
        defaults: Arc::new(defaults),
        vars: Arc::new(vars),
        defaults_files,
        vars_files,
        own_defaults: shown(&own_defaults),
    })
}

/// The files of a role's dependencies, then of the role, in the order they are merged (a later
/// one wins).
fn collect_files(role: &LoadedRole, defaults: &mut Vec<VarsFile>, vars: &mut Vec<VarsFile>) {
    for dep in &role.dependencies {
        collect_files(dep, defaults, vars);
    }
    let dir = &role.ctx.path;
    for (sub, from, out) in [
        ("defaults", &role.ctx.defaults, &mut *defaults),
        ("vars", &role.ctx.vars, &mut *vars),
    ] {
        if let Some(file) = role::role_file(dir, sub, None).filter(|_| !from.is_empty()) {
            out.push(VarsFile {
                shown: shown(&file),
                vars: from.clone(),
            });
        }
    }
}

/// A path as the user would write it: relative to the current directory when inside it.
pub fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match cwd.as_deref().and_then(|c| full.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_of_a_template_is_the_nearest_role_above_its_templates_dir() {
        let root = std::env::temp_dir().join(format!("baton-tplrole-{}", std::process::id()));
        let web = root.join("roles/web");
        std::fs::create_dir_all(web.join("templates/etc/nginx")).unwrap();
        std::fs::create_dir_all(web.join("defaults")).unwrap();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        for f in ["templates/etc/nginx/site.j2", "templates/top.j2"] {
            std::fs::write(web.join(f), "x").unwrap();
        }
        std::fs::write(root.join("templates/plain.j2"), "x").unwrap();
        let web = std::fs::canonicalize(&web).unwrap();
        let found = owning_role(&root.join("roles/web/templates/etc/nginx/site.j2"));
        assert_eq!(found.as_deref(), Some(web.as_path()));
        let found = owning_role(&root.join("roles/web/templates/top.j2"));
        assert_eq!(found.as_deref(), Some(web.as_path()));
        // A templates/ directory whose parent is no role, and a missing file: no role.
        assert_eq!(owning_role(&root.join("templates/plain.j2")), None);
        assert_eq!(owning_role(&root.join("roles/web/templates/nope.j2")), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
