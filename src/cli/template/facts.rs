//! Facts for `baton template`, from the places a run would have them: the `jsonfile` fact cache
//! an earlier run wrote (ansible.cfg `fact_caching`, `ANSIBLE_CACHE_PLUGIN`; the executor's own
//! reader), or gathered now with `--gather`: a one-play run (`gather_facts: true`, no tasks) of
//! the same executor `baton play` uses, so connection settings, become and the setup module are
//! the same; one round trip to each host. Facts given with `-e` need nothing here: extra vars win.

use crate::cli::RunFlags;
use crate::diagnostics::{Error, ErrorKind, Source};
use crate::exec::{self, events};
use crate::inventory::Inventory;
use crate::modules::fact_cache::{FactCache, namespace_facts};
use crate::value::{Value, Vars};
use crate::vault::Masker;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The cached facts of each of `hosts` that has some.
pub fn cached(cache: Option<&FactCache>, hosts: &[String]) -> HashMap<String, Vars> {
    let Some(cache) = cache else {
        return HashMap::new();
    };
    hosts
        .iter()
        .filter_map(|h| cache.load(h).map(|f| (h.clone(), f)))
        .collect()
}

/// What gathering needs from the command line.
pub struct Gather<'a> {
    /// The hosts to gather from (a host pattern).
    pub pattern: &'a str,
    pub flags: &'a RunFlags,
    pub config: &'a crate::config::Config,
    pub cache: Option<Arc<FactCache>>,
    pub playbook_dir: &'a Path,
    pub masker: &'a Arc<Masker>,
}

/// Gathers the facts of the hosts of `g.pattern` (namespaced, as `ansible_facts` holds them).
/// A host that cannot be reached or whose gathering fails is an error naming it.
pub fn gather(
    g: &Gather,
    inventory: Arc<Inventory>,
    extra: Vars,
) -> Result<HashMap<String, Vars>, Error> {
    let (selected, _) = inventory.select(g.pattern);
    if selected.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--gather: no host of the inventory matches '{}'", g.pattern),
        ));
    }
    let quoted = serde_json::Value::String(g.pattern.to_string()).to_string();
    let text = format!(
        "[{{name: \"Gathering facts for baton template\", hosts: {quoted}, gather_facts: true, tasks: []}}]\n"
    );
    let loader = super::role::loader(g.playbook_dir, g.config);
    let plays = crate::playbook::load::parse_plays(&Source::new("<--gather>", text), &loader)?;
    let book = crate::playbook::Playbook {
        path: g.playbook_dir.join("<--gather>"),
        dir: loader.playbook_dir.clone(),
        plays,
        loader: Arc::new(loader),
    };
    let opts = exec::Options {
        // --gather means now, whatever `gathering = smart` would skip.
        gathering: "implicit".into(),
        fact_cache: g.cache.clone(),
        ..g.flags.options(g.config)?
    };
    let mut reporter = Collect {
        facts: HashMap::new(),
        failures: Vec::new(),
        masker: g.masker.clone(),
    };
    let runtime = crate::cli::runtime()?;
    runtime.block_on(exec::run(&book, inventory, extra, opts, &mut reporter))?;
    if let Some((host, msg)) = reporter.failures.first() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("--gather: cannot gather the facts of {host}: {msg}"),
        )
        .with_help("check that the host answers (baton run HOST -i INVENTORY -m ping), or leave --gather out and take facts from a fact cache or -e"));
    }
    Ok(reporter.facts)
}

/// Keeps what the gathering run reports: each host's facts, failures, and warnings (shown).
struct Collect {
    facts: HashMap<String, Vars>,
    failures: Vec<(String, String)>,
    masker: Arc<Masker>,
}

impl events::Reporter for Collect {
    fn event(&mut self, event: &events::Event<'_>) {
        match event {
            events::Event::HostResult {
                result,
                item: false,
            } => match result.status {
                events::Status::Ok | events::Status::Changed => {
                    let facts = result
                        .result
                        .get("ansible_facts")
                        .map(vars_of)
                        .unwrap_or_default();
                    let mut facts = namespace_facts(&facts);
                    facts.insert("_ansible_facts_gathered".into(), Value::from(true));
                    self.facts.insert(result.host.clone(), facts);
                }
                events::Status::Failed | events::Status::Unreachable => {
                    let msg = result
                        .result
                        .get("msg")
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "it failed".into());
                    self.failures.push((result.host.clone(), msg));
                }
                events::Status::Skipped => {}
            },
            events::Event::Warning(w) => crate::output::warn_stderr(&self.masker, w),
            _ => {}
        }
    }
}

/// A mapping value as variables.
fn vars_of(v: &Value) -> Vars {
    v.try_iter()
        .map(|keys| {
            keys.filter_map(|k| {
                let name = k.as_str()?.to_string();
                Some((name, v.get_item(&k).unwrap_or_default()))
            })
            .collect()
        })
        .unwrap_or_default()
}
