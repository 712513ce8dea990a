//! `baton template SRC -i INVENTORY --host HOST [-e ...]`: renders a template file with one
//! host's variables and prints it, so an operator can see what a template task would write
//! (say, the nginx upstream generated from an inventory group) without touching a server.
//!
//! The variables are the ones a play would give the host before any task runs: inventory
//! variables (group and host vars, `group_vars/` and `host_vars/` beside the inventory, and
//! beside `--playbook-dir` when given), `-e` extra vars, the magic variables (`groups`,
//! `hostvars`, `group_names`, `inventory_hostname`) and the template module's own
//! (`template_path`, `ansible_managed`, ...). Facts are known only if a fact cache holds them
//! (ansible.cfg `fact_caching = jsonfile`). An error names the template's file, line and column.

use crate::diagnostics::{Error, ErrorKind, Source};
use crate::inventory::Inventory;
use crate::output::warn_stderr;
use crate::value::{Value, Vars};
use crate::vars::{Layers, VarStore};
use crate::vault::Masker;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// The template file to render.
    pub src: PathBuf,
    /// Inventory source: a file, a directory or a comma-separated host list. May be repeated.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// The host whose variables the template sees.
    #[arg(long = "host")]
    pub host: String,
    /// Extra variables: key=value pairs, JSON/YAML, or @file. May be repeated.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// The playbook directory: its group_vars/ and host_vars/ count, as for a playbook there.
    #[arg(long = "playbook-dir")]
    pub playbook_dir: Option<PathBuf>,
    #[command(flatten)]
    pub vault: crate::cli::vault::VaultPasswordArgs,
}

/// Renders the template to stdout; the exit status.
pub fn run(args: TemplateArgs, masker: &Arc<Masker>) -> Result<i32, Error> {
    let config = crate::config::Config::load()?;
    for w in &config.warnings {
        warn_stderr(masker, w);
    }
    let keyring = args
        .vault
        .keyring_for_play(&mut |w| warn_stderr(masker, &w))?;
    crate::vault::install(keyring.with_masker(masker.clone()));
    let sources = if !args.inventory.is_empty() {
        args.inventory.clone()
    } else if !config.inventory.is_empty() {
        config.inventory.clone()
    } else {
        vec!["/etc/ansible/hosts".to_string()]
    };
    let inventory = Inventory::load_with_policy(
        &sources,
        args.playbook_dir.as_deref(),
        &crate::inventory::sources::UnparsedPolicy::from_config(&config),
    )?;
    if !inventory.hosts.contains_key(&args.host) {
        let mut known: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
        known.truncate(10);
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("the host '{}' is not in the inventory", args.host),
        )
        .with_help(format!(
            "name a host of {}: {}{}",
            sources.join(", "),
            known.join(", "),
            if inventory.hosts.len() > known.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    let bytes = crate::vault::read_maybe_encrypted(&args.src)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::Syntax,
            format!("the template {} is not UTF-8 text", args.src.display()),
        )
    })?;
    let source = Source::new(args.src.display().to_string(), text);
    let extra = crate::cli::parse_extra_vars(&args.extra_vars)?;
    let hosts: Vec<String> = inventory.hosts.keys().cloned().collect();
    let store = VarStore::new(Arc::new(inventory), extra);
    // Facts an earlier run cached (baton's or ansible-playbook's), for every host: templates
    // read other hosts' facts through hostvars.
    if let Some(cache) = crate::modules::fact_cache::FactCache::from_config(&config) {
        for h in &hosts {
            if let Some(facts) = cache.load(h) {
                store.set_facts(h, facts);
            }
        }
    }
    let playbook_dir = match &args.playbook_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    store.set_global(
        "playbook_dir",
        Value::from(playbook_dir.display().to_string()),
    );
    store.set_global("ansible_check_mode", Value::from(false));
    let mut magic = Vars::new();
    let all: Value = hosts.iter().map(|h| Value::from(h.as_str())).collect();
    magic.insert("ansible_play_hosts_all".into(), all);
    magic.insert(
        "ansible_search_path".into(),
        Value::from(vec![Value::from(playbook_dir.display().to_string())]),
    );
    let scope = store.scope(&args.host, &Layers::default(), magic);
    let scope = crate::template::Overlay::value(template_vars(&args, &scope), scope);
    let warnings = crate::template::Warnings::new();
    let rendered = warnings.collect(|| crate::template::render_file(&source, &scope));
    for w in warnings.take() {
        warn_stderr(masker, &w);
    }
    print!("{}", rendered?);
    Ok(0)
}

/// The template module's own variables.
fn template_vars(args: &TemplateArgs, scope: &Value) -> indexmap::IndexMap<String, Value> {
    let full = std::fs::canonicalize(&args.src).unwrap_or_else(|_| args.src.clone());
    let controller = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let mut v = indexmap::IndexMap::new();
    v.insert("template_host".to_string(), Value::from(controller));
    v.insert(
        "template_path".to_string(),
        Value::from(args.src.display().to_string()),
    );
    v.insert(
        "template_fullpath".to_string(),
        Value::from(full.display().to_string()),
    );
    v.insert(
        "template_src".to_string(),
        Value::from(args.src.display().to_string()),
    );
    v.insert(
        "template_uid".to_string(),
        Value::from(std::env::var("USER").unwrap_or_else(|_| "root".into())),
    );
    if scope
        .get_attr("ansible_managed")
        .map_or(true, |m| m.is_undefined())
    {
        v.insert(
            "ansible_managed".to_string(),
            Value::from("Ansible managed"),
        );
    }
    v
}
