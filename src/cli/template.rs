//! `baton template SRC -i INVENTORY --host HOST [-e ...]` (or `--role NAME SRC`): renders a
//! template file with one host's variables and prints it, so an operator can see what a
//! template task would write (say, the nginx upstream generated from an inventory group)
//! without touching a server.
//!
//! The variables are the ones a template task would see: inventory variables (group and host
//! vars, `group_vars/` and `host_vars/` beside the inventory, and beside `--playbook-dir` when
//! given), `-e` extra vars, the magic variables (`groups`, `hostvars`, `group_names`,
//! `inventory_hostname`) and the template module's own (`template_path`, `ansible_managed`, ...).
//! A template inside a role (`ROLE/templates/FILE`, or `--role ROLE FILE`) also sees the role's
//! and its dependencies' defaults and vars, in Ansible's precedence ([`role`]). Facts come from
//! the fact cache, from `--gather` or from `-e` ([`facts`]). An error names the template's file,
//! line and column; an undefined variable is named with where to define it ([`undefined`]).

mod facts;
mod role;
mod undefined;

use crate::cli::RunFlags;
use crate::diagnostics::{Error, ErrorKind, Source};
use crate::inventory::Inventory;
use crate::output::warn_stderr;
use crate::value::{Value, Vars};
use crate::vars::{Layers, VarStore};
use crate::vault::Masker;
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// The template file to render; with --role, its name in the role's templates/.
    pub src: PathBuf,
    /// The host whose variables the template sees.
    #[arg(long = "host")]
    pub host: String,
    /// Render a template of this role (found in roles/ beside the playbook directory, in
    /// roles_path or ANSIBLE_ROLES_PATH), with the role's defaults and vars.
    #[arg(long = "role", value_name = "NAME")]
    pub role: Option<String>,
    /// Gather facts first, as `baton play` does (one round trip over SSH to each host): of
    /// --host, or of the hosts of PATTERN (--gather=PATTERN, e.g. --gather=app:lb1).
    #[arg(
        long = "gather",
        value_name = "PATTERN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub gather: Option<String>,
    /// The playbook directory: its group_vars/, host_vars/ and roles/ count, as for a
    /// playbook there (default: the current directory).
    #[arg(long = "playbook-dir")]
    pub playbook_dir: Option<PathBuf>,
    /// Inventory, extra vars, vault and the connection settings --gather uses.
    #[command(flatten)]
    pub flags: RunFlags,
}

/// Renders the template to stdout; the exit status.
pub fn run(args: TemplateArgs, masker: &Arc<Masker>) -> Result<i32, Error> {
    let config = crate::config::Config::load()?;
    super::configure_templating(&config);
    for w in &config.warnings {
        warn_stderr(masker, w);
    }
    let keyring = args
        .flags
        .vault
        .keyring_for_play(&mut |w| warn_stderr(masker, &w))?;
    crate::vault::install(keyring.with_masker(masker.clone()));
    let sources = match args.flags.inventory_sources(&config) {
        s if s.is_empty() => vec!["/etc/ansible/hosts".to_string()],
        s => s,
    };
    let inventory = Arc::new(Inventory::load_with_policy(
        &sources,
        args.playbook_dir.as_deref(),
        &crate::inventory::sources::UnparsedPolicy::from_config(&config),
    )?);
    for w in &inventory.warnings {
        warn_stderr(masker, w);
    }
    check_host(&inventory, &args.host, &sources)?;
    let playbook_dir = match &args.playbook_dir {
        Some(d) => std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()),
        None => std::env::current_dir().unwrap_or_default(),
    };

    // The template, and the role it belongs to.
    let loader = role::loader(&playbook_dir, &config);
    let (path, role_dir) = match &args.role {
        Some(name) => {
            let dir = role::find(name, &loader)?;
            (role::template_in(&dir, &args.src)?, Some(dir))
        }
        None => (args.src.clone(), role::owning_role(&args.src)),
    };
    let bytes = crate::vault::read_maybe_encrypted(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::Syntax,
            format!("the template {} is not UTF-8 text", path.display()),
        )
    })?;
    let source = Source::new(role::shown(&path), text);
    let the_role = role_dir.map(|d| role::load(&d, &loader)).transpose()?;
    for w in loader.take_warnings() {
        warn_stderr(masker, &w);
    }

    let extra = crate::cli::parse_extra_vars(&args.flags.extra_vars)?;
    let hosts: Vec<String> = inventory.hosts.keys().cloned().collect();
    // Facts an earlier run cached (baton's or ansible-playbook's), for every host: templates
    // read other hosts' facts through hostvars. Then those gathered now.
    let cache = crate::modules::fact_cache::FactCache::from_config(&config).map(Arc::new);
    let mut known = facts::cached(cache.as_deref(), &hosts);
    if let Some(pattern) = &args.gather {
        let pattern = if pattern.is_empty() {
            args.host.as_str()
        } else {
            pattern.as_str()
        };
        let gather = facts::Gather {
            pattern,
            flags: &args.flags,
            config: &config,
            cache: cache.clone(),
            playbook_dir: &playbook_dir,
            masker,
        };
        known.extend(facts::gather(&gather, inventory.clone(), extra.clone())?);
    }
    let store = VarStore::new(inventory.clone(), extra.clone());
    for (h, f) in known {
        store.set_facts(&h, f);
    }
    store.set_global(
        "playbook_dir",
        Value::from(playbook_dir.display().to_string()),
    );
    store.set_global("ansible_check_mode", Value::from(args.flags.check));

    let mut magic = Vars::new();
    let all: Value = hosts.iter().map(|h| Value::from(h.as_str())).collect();
    magic.insert("ansible_play_hosts_all".into(), all);
    let mut search = Vec::new();
    let mut layers = Layers::default();
    if let Some(r) = &the_role {
        // As for a task of the role: defaults below the inventory, vars above it and the facts.
        layers.low.push(r.defaults.clone());
        layers.mid.push(r.vars.clone());
        search.push(Value::from(r.path.display().to_string()));
        magic.insert("role_name".into(), Value::from(r.name.as_str()));
        magic.insert(
            "role_path".into(),
            Value::from(r.path.display().to_string()),
        );
    }
    search.push(Value::from(playbook_dir.display().to_string()));
    magic.insert("ansible_search_path".into(), Value::from(search));
    let scope = store.scope(&args.host, &layers, magic);
    let scope = crate::template::Overlay::value(template_vars(&path, &args.src, &scope), scope);
    let warnings = crate::template::Warnings::new();
    let rendered = warnings.collect(|| crate::template::render_file(&source, &scope));
    for w in warnings.take() {
        warn_stderr(masker, &w);
    }
    let rendered = rendered.map_err(|e| {
        let known = undefined::Known {
            host: &args.host,
            groups: inventory.group_names(&args.host),
            role: the_role.as_ref(),
            extra: &extra,
            inventory: store.inventory_vars(&args.host),
            facts: store.facts_of(&args.host),
            scope: &scope,
        };
        undefined::explain(e, &source, &known)
    })?;
    print!("{rendered}");
    Ok(0)
}

/// An error unless `host` is in the inventory.
fn check_host(inventory: &Inventory, host: &str, sources: &[String]) -> Result<(), Error> {
    if inventory.hosts.contains_key(host) {
        return Ok(());
    }
    let mut known: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
    known.truncate(10);
    Err(Error::new(
        ErrorKind::NotFound,
        format!("the host '{host}' is not in the inventory"),
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
    )))
}

/// The template module's own variables, for the template at `path` (asked for as `src`).
fn template_vars(path: &Path, src: &Path, scope: &Value) -> indexmap::IndexMap<String, Value> {
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let controller = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let mut v = indexmap::IndexMap::new();
    v.insert("template_host".to_string(), Value::from(controller));
    v.insert(
        "template_path".to_string(),
        Value::from(path.display().to_string()),
    );
    v.insert(
        "template_fullpath".to_string(),
        Value::from(full.display().to_string()),
    );
    v.insert(
        "template_src".to_string(),
        Value::from(src.display().to_string()),
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
