//! `--list-hosts`, `--list-tasks` and `--list-tags`: a playbook described without running it, in
//! ansible-playbook's layout.

use crate::exec::tags_select;
use crate::inventory::Inventory;
use crate::playbook::{Item, Playbook};
use std::fmt::Write;

/// What to list, and the selections that apply.
pub struct Listing<'a> {
    pub inventory: &'a Inventory,
    pub limit: Option<&'a str>,
    pub tags: &'a [String],
    pub skip_tags: &'a [String],
    /// The extra vars: templated tags are templated with them and the play's vars.
    pub extra: &'a crate::value::Vars,
}

fn tag_list(tags: &[String]) -> String {
    let mut t: Vec<&String> = tags.iter().collect();
    t.sort();
    t.dedup();
    format!(
        "[{}]",
        t.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    )
}

/// Every task of a list with its inherited tags, as `(name, tags)`.
fn walk(items: &[Item], role: Option<&str>, tags: &[String], out: &mut Vec<(String, Vec<String>)>) {
    for item in items {
        match item {
            Item::Task(t) => {
                let mut all = tags.to_vec();
                all.extend(t.kw.tags.iter().cloned());
                let name = t.display_name();
                let name = match role {
                    Some(r) => format!("{r} : {name}"),
                    None => name,
                };
                out.push((name, all));
            }
            Item::Block(b) => {
                let mut all = tags.to_vec();
                all.extend(b.kw.tags.iter().cloned());
                let role = b.role.as_ref().map(|r| r.name.as_str()).or(role);
                for part in [&b.block, &b.rescue, &b.always] {
                    walk(part, role, &all, out);
                }
            }
        }
    }
}

impl Listing<'_> {
    fn hosts(&self, pattern: &str) -> Vec<String> {
        let (mut hosts, _) = self.inventory.select(pattern);
        if let Some(limit) = self.limit {
            let (allowed, _) = self.inventory.select(limit);
            hosts.retain(|h| allowed.contains(h));
        }
        hosts
    }

    fn header(out: &mut String, i: usize, play: &crate::playbook::Play) {
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: {}\n",
            i + 1,
            play.hosts,
            play.name,
            tag_list(&play.kw.tags)
        );
    }

    fn tasks_of(&self, play: &crate::playbook::Play) -> Vec<(String, Vec<String>)> {
        let mut all = Vec::new();
        for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            walk(section, None, &play.kw.tags, &mut all);
        }
        // ansible-playbook templates tags with the play's variables (no host's).
        let store = crate::vars::VarStore::new(std::sync::Arc::default(), self.extra.clone());
        let layers = crate::vars::Layers {
            low: vec![play.role_defaults.clone()],
            mid: vec![play.kw.vars.clone(), play.role_vars.clone()],
            ..Default::default()
        };
        let scope = store.play_scope(&layers);
        all.into_iter()
            .map(|(name, tags)| (name, crate::exec::expand_tags(&tags, || scope.clone())))
            .filter(|(_, tags)| tags_select(tags, self.tags, self.skip_tags))
            .collect()
    }

    /// `--list-hosts`, `--list-tasks` and `--list-tags`, any of them together, as
    /// ansible-playbook lists them: each play's header, its hosts, its tasks, then the tags of
    /// its tasks.
    pub fn list(&self, book: &Playbook, hosts: bool, tasks: bool, tags: bool) -> String {
        let mut out = format!("\nplaybook: {}\n", book.path.display());
        for (i, play) in book.plays.iter().enumerate() {
            Self::header(&mut out, i, play);
            if hosts {
                let hosts = self.hosts(&play.hosts.to_string());
                let _ = writeln!(out, "    pattern: ['{}']", play.hosts);
                let _ = writeln!(out, "    hosts ({}):", hosts.len());
                for h in hosts {
                    let _ = writeln!(out, "      {h}");
                }
            }
            if !(tasks || tags) {
                continue;
            }
            let listed = self.tasks_of(play);
            if tasks {
                let _ = writeln!(out, "    tasks:");
                for (name, tags) in &listed {
                    let _ = writeln!(out, "      {name}\tTAGS: {}", tag_list(tags));
                }
            }
            if tags {
                let mut all: Vec<String> = play.kw.tags.clone();
                all.extend(listed.into_iter().flat_map(|(_, t)| t));
                let _ = writeln!(out, "      TASK TAGS: {}", tag_list(&all));
            }
        }
        out
    }
}
