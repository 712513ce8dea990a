//! `group_vars/` and `host_vars/`: variable files next to an inventory or a playbook.
//!
//! This is Ansible's `host_group_vars` plugin. For a group or host named N it reads the first of
//! `N`, `N.yml`, `N.yaml`, `N.json` that exists in `group_vars/` (or `host_vars/`); when that is
//! a directory, every file below it (sorted, recursively, skipping hidden files, backups `~` and
//! extensions other than those three). Each file is JSON or YAML; an empty (falsy) file is
//! ignored, anything else must be a mapping. Files of one entity are merged in order, later keys
//! replacing earlier ones. Only names that exist in the inventory are looked up, so a file for a
//! group that no longer exists is never read, as in Ansible.

use super::{Inventory, LOCALHOST, yaml};
use crate::diagnostics::Error;
use crate::value::{self, Vars};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// The variable files of one directory, loaded for the inventory's groups and hosts.
#[derive(Debug, Default)]
pub struct VarsDir {
    pub root: PathBuf,
    groups: HashMap<String, Vars>,
    hosts: HashMap<String, Vars>,
    /// What Ansible would warn about (a `group_vars` that is a file).
    pub warnings: Vec<String>,
}

impl VarsDir {
    /// Reads `dir/group_vars` and `dir/host_vars` for every group and host of `inv` (and the
    /// names of the implicit localhost).
    pub fn load(dir: &Path, inv: &Inventory) -> Result<VarsDir, Error> {
        let mut vd = VarsDir {
            root: dir.to_path_buf(),
            ..VarsDir::default()
        };
        let groups = inv.groups.keys().map(String::as_str);
        let mut warnings = Vec::new();
        vd.groups = load_entities(dir, "group_vars", groups, &mut warnings)?;
        let hosts = inv.hosts.keys().map(String::as_str).chain(
            LOCALHOST
                .iter()
                .copied()
                .filter(|h| !inv.hosts.contains_key(*h)),
        );
        vd.hosts = load_entities(dir, "host_vars", hosts, &mut warnings)?;
        vd.warnings = warnings;
        Ok(vd)
    }

    pub fn group(&self, name: &str) -> Option<&Vars> {
        self.groups.get(name)
    }

    pub fn host(&self, name: &str) -> Option<&Vars> {
        self.hosts.get(name)
    }
}

fn load_entities<'a>(
    dir: &Path,
    sub: &str,
    names: impl Iterator<Item = &'a str>,
    warnings: &mut Vec<String>,
) -> Result<HashMap<String, Vars>, Error> {
    let mut out = HashMap::new();
    let opath = dir.join(sub);
    let entries: Vec<String> = match std::fs::read_dir(&opath) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(_) => {
            if opath.exists() {
                warnings.push(format!(
                    "Found {sub} that is not a directory, skipping: {}",
                    opath.display()
                ));
            }
            return Ok(out);
        }
    };
    if entries.is_empty() {
        return Ok(out);
    }
    // Index the listing by name without extension, so that each group or host costs one
    // lookup: stem -> the extensions present (as indexes into EXTENSIONS).
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for e in &entries {
        for (i, ext) in EXTENSIONS.iter().enumerate() {
            if let Some(stem) = e.strip_suffix(ext) {
                index.entry(stem).or_default().push(i);
            }
        }
    }
    for name in names {
        // Ansible skips names that are absolute paths ('chroot' style host names).
        if name.starts_with('/') {
            continue;
        }
        // Plain names are looked up in the listing; odd ones ('a/b', '..') on the file system.
        let plain = !name.contains('/') && name != "." && name != "..";
        let exts: Vec<usize> = if plain {
            match index.get(name) {
                Some(found) => found.clone(),
                None => continue,
            }
        } else {
            (0..EXTENSIONS.len()).collect()
        };
        let files = find_vars_files(&opath, name, exts);
        if files.is_empty() {
            continue;
        }
        let mut vars = Vars::new();
        for f in files {
            if let Some(v) = load_vars_file(&f, warnings)? {
                vars.extend(v);
            }
        }
        out.insert(name.to_string(), vars);
    }
    Ok(out)
}

/// The files for one entity: the first of `N`, `N.yml`, `N.yaml`, `N.json` that exists (of
/// the candidate extensions given); a directory stands for the files below it.
fn find_vars_files(opath: &Path, name: &str, mut exts: Vec<usize>) -> Vec<PathBuf> {
    exts.sort_unstable();
    for i in exts {
        let path = opath.join(format!("{name}{}", EXTENSIONS[i]));
        if path.is_dir() {
            let mut found = Vec::new();
            dir_vars_files(&path, &mut found);
            return found;
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

fn dir_vars_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<OsString> = rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
    names.sort();
    for n in names {
        let s = n.to_string_lossy();
        if s.starts_with('.') || s.ends_with('~') {
            continue;
        }
        let ext = super::sources::extension(&s);
        let full = dir.join(&n);
        if full.is_dir() && ext.is_empty() {
            dir_vars_files(&full, found);
        } else if full.is_file() && EXTENSIONS.contains(&ext) {
            found.push(full);
        }
    }
}

/// One vars file: `None` when it is empty (Ansible ignores falsy files), its variables when it
/// is a mapping, an error pointing into it otherwise. Its aliases stay shared; duplicate keys
/// are added to `warnings`.
pub fn load_vars_file(path: &Path, warnings: &mut Vec<String>) -> Result<Option<Vars>, Error> {
    let source = crate::value::read_source(path)?;
    let node = yaml::load_data(&source, crate::yaml::Aliases::Shared, warnings)?;
    if !yaml::truthy(&node) {
        return Ok(None);
    }
    match value::vars_from_node(&node) {
        Some(v) => Ok(Some(v)),
        None => Err(node
            .error(format!(
                "the variables file {} must be a mapping of variable names to values, but it is {}",
                path.display(),
                node.type_name()
            ))
            .with_help("write it as `name: value` lines")),
    }
}
