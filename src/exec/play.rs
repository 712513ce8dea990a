//! The play room: one play from its hosts to its last batch.
//!
//! Owns the play's hosts (the pattern, `--limit`, `order`), `vars_files` and `vars_prompt`,
//! the variable layers of the play, the `serial` batches loop (sizes from [`super::batches`],
//! the whole-batch stop between batches), and one batch's walk through the play on the hosts a
//! strategy gives it ([`Runner::run_batch_hosts`]): fact gathering (`gathering`, smart), the
//! sections (pre_tasks, roles + tasks, post_tasks) each followed by its handlers. Also the
//! run-wide passes over tasks: `--start-at-task` and `--step`.
//! The play's keywords are templated in [`super::keywords`].

use super::events::Event;
use super::handlers::flatten_handlers;
use super::strategy::PlayPlan;
use super::{BatchState, Ctx, Runner, failures, keywords, tags_select, unwind};
use crate::diagnostics::Error;
use crate::playbook::{Item, Keywords, Play, Playbook, Task};
use crate::value::{self, Value, Vars};
use crate::vars::Layers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The implicit "Gathering Facts" task.
pub(super) fn setup_task(play: &Play) -> Task {
    Task {
        name: Some("Gathering Facts".to_string()),
        // Ansible's gather_facts action (which marks the facts `_ansible_facts_gathered`).
        action: "gather_facts".to_string(),
        args: value::map(play.gather_args.clone()),
        span: play.span.clone(),
        kw: Keywords::default(),
        register: None,
        notify: Vec::new(),
        listen: Vec::new(),
        changed_when: Vec::new(),
        failed_when: Vec::new(),
        loop_: None,
        loop_control: Default::default(),
        until: Vec::new(),
        retries: None,
        delay: None,
        async_: None,
        poll: None,
        apply: None,
    }
}

/// What `vars_files` gave: the same files for every host, or each host's own.
enum VarsFiles {
    Shared(Vec<Arc<Vars>>),
    PerHost(HashMap<String, Vec<Arc<Vars>>>),
}

/// `order: shuffle`: a random order from the clock and the process, no crate needed.
pub(super) fn shuffle(hosts: &mut [String]) {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(std::process::id());
    for i in (1..hosts.len()).rev() {
        // xorshift64
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        hosts.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

impl Runner<'_> {
    pub(super) async fn run_playbook(&mut self, playbook: &Playbook) -> Result<(), Error> {
        self.show_load_warnings();
        self.reporter.event(&Event::PlaybookStart {
            path: &playbook.path,
            plays: playbook.plays.len(),
        });
        for play in &playbook.plays {
            if self.stopped {
                break;
            }
            self.run_play(play).await?;
        }
        Ok(())
    }

    /// `vars_files`, per host as ansible-core reads them: each entry a file (or a list of
    /// candidates, the first that exists), templated with the host's variables; an entry
    /// whose template names an undefined variable is passed over for that host. The same
    /// files for every host (the usual case) are one shared layer.
    fn load_vars_files(
        &self,
        play: &Play,
        layers: &Layers,
        hosts: &[String],
    ) -> Result<VarsFiles, Error> {
        if play.vars_files.is_empty() {
            return Ok(VarsFiles::Shared(Vec::new()));
        }
        let mut cache: HashMap<PathBuf, Arc<Vars>> = HashMap::new();
        let mut per_host: HashMap<String, Vec<Arc<Vars>>> = HashMap::new();
        let mut paths_seen: Option<Vec<PathBuf>> = None;
        let mut same = true;
        for host in hosts {
            let scope = self.store.scope(host, layers, Vars::new());
            let paths = self.vars_file_paths(play, &scope)?;
            let mut files = Vec::new();
            for path in &paths {
                if let Some(v) = cache.get(path) {
                    files.push(v.clone());
                    continue;
                }
                let mut warnings = Vec::new();
                let vars = Arc::new(crate::value::load_play_vars_file(path, &mut warnings)?);
                self.loader.warn(warnings);
                cache.insert(path.clone(), vars.clone());
                files.push(vars);
            }
            match &paths_seen {
                None => paths_seen = Some(paths),
                Some(p) => same &= *p == paths,
            }
            per_host.insert(host.clone(), files);
        }
        if same {
            let files = hosts
                .first()
                .and_then(|h| per_host.remove(h))
                .unwrap_or_default();
            return Ok(VarsFiles::Shared(files));
        }
        Ok(VarsFiles::PerHost(per_host))
    }

    /// The files of `vars_files` for one host (its `scope`).
    fn vars_file_paths(&self, play: &Play, scope: &Value) -> Result<Vec<PathBuf>, Error> {
        let mut out = Vec::new();
        for entry in &play.vars_files {
            let entry = match crate::template::render_value(entry, scope) {
                Ok(e) => e,
                // ansible-core skips an entry it cannot template for want of a variable.
                Err(e) if e.kind == crate::diagnostics::ErrorKind::Undefined => continue,
                Err(e) => {
                    return Err(e.at(play.spans.get("vars_files").unwrap_or(&play.span)));
                }
            };
            let candidates: Vec<String> = if entry.kind() == minijinja::value::ValueKind::Seq {
                entry
                    .try_iter()
                    .map(|i| i.map(|v| v.to_string()).collect())
                    .unwrap_or_default()
            } else {
                vec![entry.to_string()]
            };
            let found = candidates
                .iter()
                .map(|c| {
                    let p = PathBuf::from(c);
                    if p.is_absolute() {
                        p
                    } else {
                        self.loader.playbook_dir.join(p)
                    }
                })
                .find(|p| p.is_file());
            let Some(path) = found else {
                return Err(Error::syntax(
                    play.spans.get("vars_files").unwrap_or(&play.span),
                    format!("vars file {} was not found", candidates.join(", ")),
                ));
            };
            out.push(path);
        }
        Ok(out)
    }

    /// `vars_prompt`: asked through the reporter (which asks on a terminal); without an
    /// answer, the default, or the `-e` value.
    pub(super) fn prompt_vars(&mut self, play: &Play) -> Result<Vars, Error> {
        let mut out = Vars::new();
        for p in &play.vars_prompt {
            if self.store.extra.contains_key(&p.name) {
                continue;
            }
            let default = p
                .default
                .as_ref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default();
            let answer = std::sync::Mutex::new(None);
            self.reporter.event(&Event::Prompt {
                prompt: &format!("{}{default}: ", p.prompt),
                private: p.private,
                answer: &answer,
            });
            let answer = answer.into_inner().unwrap_or_else(|e| e.into_inner());
            match (answer, &p.default) {
                (Some(a), Some(d)) if a.is_empty() => {
                    out.insert(p.name.clone(), d.clone());
                }
                (Some(a), _) => {
                    out.insert(p.name.clone(), Value::from(a));
                }
                (None, Some(d)) => {
                    out.insert(p.name.clone(), d.clone());
                }
                (None, None) => {
                    return Err(Error::syntax(
                        &p.span,
                        format!(
                            "vars_prompt: '{}' has no default and there is no terminal to ask on; pass it with -e {}=VALUE",
                            p.name, p.name
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The play's name as its banner shows it: templated (ansible-core post-validates the
    /// play with the play's variables and the extra vars, no host's); as written if that fails.
    fn play_name(&self, play: &Play, layers: &Layers) -> String {
        if !crate::template::is_template(&play.name) {
            return play.name.clone();
        }
        let scope = self.store.play_scope(layers);
        crate::template::render_text(&play.name, &scope).unwrap_or_else(|_| play.name.clone())
    }

    pub(super) async fn run_play(&mut self, play: &Play) -> Result<(), Error> {
        unwind::fault("play", &play.name);
        self.role_ran.clear();
        // ansible-core's TaskQueueManager marks the hosts that failed in earlier plays failed
        // again, and the unreachable ones removed, before a play starts.
        self.removed = self.failed.union(&self.unreachable).cloned().collect();
        self.play_dir = Some(play.dir.clone());
        let play_vars = play.kw.vars.clone();
        let pattern = self
            .template_play_level(&play.hosts, std::slice::from_ref(&play_vars))
            .map_err(|e| e.at(&play.span))?
            .to_string();
        let selection = self
            .store
            .inventory()
            .get_hosts(&pattern, self.opts.limit.as_deref())
            .map_err(|e| e.at(play.spans.get("hosts").unwrap_or(&play.span)))?;
        for term in &selection.unmatched {
            self.reporter.event(&Event::Warning(&format!(
                "Could not match supplied host pattern, ignoring: {term}"
            )));
        }
        let mut hosts = selection.hosts;
        if let Some(shard) = &self.opts.shard {
            hosts.retain(|h| shard.contains(h));
        }
        // `ansible_play_hosts_all` keeps inventory order whatever `order:` says.
        let inventory_order = hosts.clone();
        if let Some(order) = &play.order {
            let order = self
                .template_play_level(order, std::slice::from_ref(&play_vars))?
                .to_string();
            match order.as_str() {
                "inventory" => {}
                "reverse_inventory" => hosts.reverse(),
                "sorted" => hosts.sort(),
                "reverse_sorted" => {
                    hosts.sort();
                    hosts.reverse();
                }
                "shuffle" => shuffle(&mut hosts),
                other => {
                    return Err(Error::syntax(
                        play.spans.get("order").unwrap_or(&play.span),
                        format!(
                            "'{other}' is not a valid order; use inventory, reverse_inventory, sorted, reverse_sorted or shuffle"
                        ),
                    ));
                }
            }
        }
        // Hosts that failed earlier keep their places in this play's batches but run nothing
        // (Ansible marks them failed in each batch's iterator).
        if hosts.is_empty() {
            let name = self.play_name(
                play,
                &Layers {
                    mid: vec![play_vars.clone()],
                    ..Layers::default()
                },
            );
            self.reporter.event(&Event::PlayStart {
                name: &name,
                strategy: "linear",
                check_mode: play
                    .kw
                    .check_mode
                    .as_ref()
                    .map_or(self.opts.check, |v| v.is_true()),
            });
            self.reporter.event(&Event::NoHosts);
            return Ok(());
        }
        // The variable layers of the play: role defaults below inventory; play vars, prompts,
        // vars_files and role vars above it.
        let mut mid = vec![play_vars.clone()];
        let prompted = self.prompt_vars(play)?;
        if !prompted.is_empty() {
            mid.push(Arc::new(prompted));
        }
        let so_far = Layers {
            low: vec![play.role_defaults.clone()],
            mid: mid.clone(),
            ..Layers::default()
        };
        let vars_files = self.load_vars_files(play, &so_far, &hosts);
        self.show_load_warnings();
        let mut per_host = None;
        match vars_files? {
            VarsFiles::Shared(files) => mid.extend(files),
            VarsFiles::PerHost(files) => per_host = Some((mid.len(), Arc::new(files))),
        }
        if !play.role_vars.is_empty() {
            mid.push(play.role_vars.clone());
        }
        let layers = Layers {
            low: vec![play.role_defaults.clone()],
            mid,
            high: Vec::new(),
            per_host,
        };
        let play_name = self.play_name(play, &layers);
        *self.play_roles.lock().unwrap_or_else(|e| e.into_inner()) = super::PlayRoles {
            play_name: play_name.clone(),
            roles: play.role_names.clone(),
            dependencies: play.dependency_role_names.clone(),
            ..Default::default()
        };
        let keywords::PlayKeywords {
            batch_sizes: sizes,
            max_fail_percentage,
            force_handlers,
            gather,
            strategy,
        } = self.play_keywords(play, &layers.mid, hosts.len())?;
        // The implicit fact gathering is one task for the whole play (one banner under free).
        let setup = Arc::new(setup_task(play));
        let base = Ctx {
            chain: vec![Arc::new(play.kw.clone())],
            layers,
            role: None,
            rescuable: false,
            tags: play.kw.tags.clone(),
            includes: Arc::default(),
            handler: false,
        };
        let mut handlers = Vec::new();
        flatten_handlers(&play.handlers, &base, &mut handlers);
        let handlers = Arc::new(handlers);
        let plan = PlayPlan {
            play,
            base,
            gather,
            setup,
        };

        let total = sizes.len();
        let mut offset = 0;
        // ansible-playbook's PlaybookExecutor: after each batch, if the hosts newly failed or
        // unreachable (counted as Ansible counts them, a host in both sets twice) are exactly
        // the batch, no later batch or play runs.
        let (mut prev_failed, mut prev_unreachable) = (self.failed.len(), self.unreachable.len());
        let mut break_play = false;
        for (i, size) in sizes.into_iter().enumerate() {
            let batch: Vec<String> = hosts[offset..offset + size].to_vec();
            offset += size;
            // ansible-playbook shows the play's banner again for every batch.
            self.reporter.event(&Event::PlayStart {
                name: &play_name,
                strategy: strategy.name(),
                check_mode: play
                    .kw
                    .check_mode
                    .as_ref()
                    .map_or(self.opts.check, |v| v.is_true()),
            });
            self.reporter.event(&Event::BatchStart {
                number: i + 1,
                total,
                hosts: &batch,
            });
            let mut state = BatchState::new(
                batch.clone(),
                inventory_order.clone(),
                max_fail_percentage,
                force_handlers,
                handlers.clone(),
            );
            strategy.run_batch(self, &plan, &mut state).await?;
            break_play |= state.break_play;
            if state.end_play {
                break;
            }
            let newly = (self.failed.len() + self.unreachable.len())
                .saturating_sub(prev_failed + prev_unreachable);
            if failures::batch_all_failed(newly, batch.len()) {
                break_play = true;
                break;
            }
            (prev_failed, prev_unreachable) = (self.failed.len(), self.unreachable.len());
        }
        if break_play {
            self.stopped = true;
        }
        Ok(())
    }

    /// One batch's play on the given hosts: facts, the sections with their handlers.
    pub(super) async fn run_batch_hosts(
        &mut self,
        plan: &PlayPlan<'_>,
        state: &mut BatchState,
        active: Vec<String>,
    ) -> Result<(), Error> {
        let PlayPlan {
            play,
            base,
            gather,
            setup,
        } = plan;
        let mut active = active;
        if active.is_empty() {
            return Ok(());
        }
        if *gather
            && tags_select(
                &["always".to_string()],
                &self.opts.tags,
                &self.opts.skip_tags,
            )
        {
            // gathering=smart: hosts whose facts are known (this run, or the cache) skip it.
            let smart = self.opts.gathering == "smart";
            let need: Vec<String> = active
                .iter()
                .filter(|h| {
                    !smart
                        || !crate::modules::fact_cache::FactCache::gathered(&self.store.facts_of(h))
                })
                .cloned()
                .collect();
            if !need.is_empty() {
                // ansible-core's setup block has `run_once: false`: gathering with run_once
                // would copy one host's facts to the others.
                let mut gather_ctx = base.clone();
                gather_ctx.chain.push(Arc::new(Keywords {
                    run_once: Some(Value::from(false)),
                    ..Keywords::default()
                }));
                let done = self
                    .run_task(state, setup, &gather_ctx, need.clone(), false)
                    .await?;
                active.retain(|h| !need.contains(h) || done.contains(h));
            }
        }
        active = self.run_sections(play, base, state, active).await?;
        // Unreachable hosts that `meta: clear_host_errors` brought back take up the play where
        // they left it, after the others reach its end, as ansible-core's lockstep does.
        while !state.revived.is_empty() && !state.stopping() {
            let revived = std::mem::take(&mut state.revived);
            let mut by_marker: Vec<(Option<u64>, Vec<String>)> = Vec::new();
            for h in revived {
                let marker = self.unreachable_at.get(&h).copied();
                match by_marker.iter_mut().find(|(m, _)| *m == marker) {
                    Some((_, hosts)) => hosts.push(h),
                    None => by_marker.push((marker, vec![h])),
                }
            }
            for (marker, hosts) in by_marker {
                self.resume_after = marker;
                let back = self.run_sections(play, base, state, hosts).await;
                self.resume_after = None;
                active.extend(back?);
            }
        }
        if state.break_play && state.force_handlers {
            let _ = self.flush_handlers(state, active).await?;
        }
        Ok(())
    }

    /// The play's sections for `active`: pre_tasks, roles and tasks, post_tasks, each followed
    /// by its implicit handler flush. Gives the hosts still going.
    async fn run_sections(
        &mut self,
        play: &crate::playbook::Play,
        base: &Ctx,
        state: &mut BatchState,
        mut active: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let sections: [(&[Item], &[Item]); 3] = [
            (&play.pre_tasks, &[]),
            (&play.roles, &play.tasks),
            (&play.post_tasks, &[]),
        ];
        for (first, second) in sections {
            if state.stopping() {
                break;
            }
            active = self.run_items(state, first, base.clone(), active).await?;
            if !state.stopping() {
                active = self.run_items(state, second, base.clone(), active).await?;
            }
            // The section's implicit `meta: flush_handlers` is tagged `always`, like Ansible's.
            if self.implicit_meta() {
                if self.opts.debug {
                    self.debug_implicit_flush(state, &active);
                }
                active = self.flush_handlers(state, active).await?;
            }
        }
        Ok(active)
    }

    /// `--start-at-task`: the task's name, or `role : name`, equals the wanted name or matches
    /// it as a glob.
    pub(super) fn is_start_task(&self, task: &Task, ctx: &Ctx) -> bool {
        let Some(want) = &self.opts.start_at_task else {
            return true;
        };
        let Some(name) = &task.name else {
            return false;
        };
        let full = match &ctx.role {
            Some(r) => format!("{} : {name}", r.name),
            None => name.clone(),
        };
        let glob = regex::Regex::new(&crate::inventory::pattern::fnmatch_translate(want)).ok();
        [name, &full]
            .iter()
            .any(|n| *n == want || glob.as_ref().is_some_and(|g| g.is_match(n)))
    }

    /// `--step`: "Perform task: NAME (N)o/(y)es/(c)ontinue:", as ansible-playbook asks; the
    /// reporter asks, the answer comes back here. No answer (end of input) is "no".
    pub(super) fn ask_step(&mut self, task: &Task) -> Result<bool, Error> {
        let answer = std::sync::Mutex::new(None);
        self.reporter.event(&Event::StepPrompt {
            name: &task.display_name(),
            answer: &answer,
        });
        let line = answer
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_default();
        Ok(match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => true,
            "c" | "continue" => {
                self.step_off = true;
                true
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {

    use crate::exec::testkit;

    #[test]
    fn serial_cuts_the_hosts_into_batches_in_the_plays_order() {
        let book = r#"
- hosts: all
  gather_facts: false
  serial: [1, 2]
  order: reverse_inventory
  tasks:
    - debug: msg=x
"#;
        let ran = testkit::play(book, 5);
        let batches: Vec<&String> = ran
            .lines
            .iter()
            .filter(|l| l.starts_with("batch "))
            .collect();
        assert_eq!(batches, ["batch h5", "batch h4,h3", "batch h2,h1"]);
    }

    #[test]
    fn vars_files_and_play_keywords_are_templated_with_play_vars() {
        let book = r#"
- hosts: "{{ target }}"
  gather_facts: false
  vars:
    target: h2
    file: vars.yml
  vars_files:
    - "{{ file }}"
  tasks:
    - name: check
      fail: msg=wrong
      when: from_file != 42
"#;
        let ran = testkit::play_with(
            book,
            &[("vars.yml", "from_file: 42\n")],
            2,
            testkit::options(),
        );
        assert_eq!(ran.hosts("check", "skipped"), ["h2"]);
    }

    #[test]
    fn start_at_task_passes_over_the_tasks_before_it() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      debug: msg=1
    - name: second
      debug: msg=2
"#;
        let opts = super::super::Options {
            start_at_task: Some("sec*".into()),
            ..testkit::options()
        };
        let ran = testkit::play_with(book, &[], 1, opts);
        assert!(!ran.ran("first"));
        assert!(ran.ran("second"));
    }

    #[test]
    fn a_play_with_no_hosts_says_so() {
        let ran = testkit::play("- hosts: nothere\n  tasks:\n    - debug: msg=x\n", 1);
        assert!(
            ran.lines
                .iter()
                .any(|l| l.starts_with("warning Could not match"))
        );
        assert_eq!(ran.outcome.exit_code, 0);
    }
}
