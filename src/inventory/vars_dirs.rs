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
#[derive(Debug, Default, Clone)]
pub struct VarsDir {
    pub root: PathBuf,
    groups: HashMap<String, Vars>,
    hosts: HashMap<String, Vars>,
    /// The names looked up so far (found or not): groups and hosts added later by the run
    /// (`add_host`, `group_by`) are looked up when they appear ([`VarsDir::load_new`]).
    seen_groups: std::collections::HashSet<String>,
    seen_hosts: std::collections::HashSet<String>,
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
        vd.hosts = load_entities(dir, "host_vars", hosts.clone(), &mut warnings)?;
        vd.seen_groups = inv.groups.keys().cloned().collect();
        vd.seen_hosts = hosts.map(str::to_string).collect();
        vd.warnings = warnings;
        Ok(vd)
    }

    /// Whether `inv` has groups or hosts not looked up here yet.
    pub fn has_new(&self, inv: &Inventory) -> bool {
        inv.groups.keys().any(|g| !self.seen_groups.contains(g))
            || inv.hosts.keys().any(|h| !self.seen_hosts.contains(h))
    }

    /// Looks up the groups and hosts of `inv` that are new since the last look, as Ansible's
    /// vars plugin reads the files of a group `group_by` made when the group is first used.
    pub fn load_new(&mut self, inv: &Inventory) -> Result<(), Error> {
        let groups: Vec<String> = inv
            .groups
            .keys()
            .filter(|g| !self.seen_groups.contains(*g))
            .cloned()
            .collect();
        let hosts: Vec<String> = inv
            .hosts
            .keys()
            .filter(|h| !self.seen_hosts.contains(*h))
            .cloned()
            .collect();
        let mut warnings = Vec::new();
        let found = load_entities(
            &self.root,
            "group_vars",
            groups.iter().map(String::as_str),
            &mut warnings,
        )?;
        self.groups.extend(found);
        let found = load_entities(
            &self.root,
            "host_vars",
            hosts.iter().map(String::as_str),
            &mut warnings,
        )?;
        self.hosts.extend(found);
        self.seen_groups.extend(groups);
        self.seen_hosts.extend(hosts);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_added_during_the_run_gets_its_group_vars_files() {
        let dir = std::env::temp_dir().join(format!("baton-vars-dirs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("group_vars")).unwrap();
        std::fs::write(dir.join("group_vars/made_later.yml"), "flavour: late\n").unwrap();
        std::fs::write(dir.join("group_vars/all.yml"), "flavour: all\n").unwrap();
        let mut inv = Inventory::from_ini("hosts.ini", "h1\nh2\n").unwrap();
        inv.set_playbook_dir(Some(&dir)).unwrap();
        assert_eq!(inv.host_vars("h1")["flavour"].to_string(), "all");
        // group_by / add_host make the group, then its files are read.
        inv.add_group("made_later").unwrap();
        inv.add_host_in("h1", Some("made_later"), None).unwrap();
        inv.finish();
        inv.load_vars_of_new_names().unwrap();
        assert_eq!(inv.host_vars("h1")["flavour"].to_string(), "late");
        assert_eq!(inv.host_vars("h2")["flavour"].to_string(), "all");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
