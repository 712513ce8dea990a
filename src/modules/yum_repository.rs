//! `yum_repository`: a section of a `.repo` file in /etc/yum.repos.d, written as ansible-core's
//! module writes it (lib/ansible/modules/yum_repository.py): the file is read and rewritten
//! the way Python's `configparser.RawConfigParser` reads and writes INI files, the section's
//! keys sorted, booleans as `0`/`1`, lists joined (URLs one per line, packages by spaces).
//! `changed` and the diff compare the module's sorted dump of the file before and after.
//!
//! Only a file is written, so this works (and is tested) on any host, Debian included.

use super::fileutil::{self, Attrs};
use super::sysutil;
use super::transfer::{PutOptions, Source};
use super::{
    Args, Kind, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use indexmap::IndexMap;

pub struct YumRepository;

static SPEC: Spec = Spec {
    names: &["yum_repository"],
    diff: true,
    params: &[
        &[
            Param::str("name").required(),
            Param::str("state")
                .choices(&["present", "absent"])
                .default_str("present"),
            Param::str("description"),
            Param::str("file"),
            Param::str("reposdir").default_str("/etc/yum.repos.d"),
        ],
        REPO_PARAMS,
        fileutil::ATTRS,
    ],
    ..Spec::BASE
};

impl Module for YumRepository {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

/// An INI file as `RawConfigParser` holds it: sections in order, keys lowercased, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ini {
    pub sections: IndexMap<String, IndexMap<String, String>>,
}

impl Ini {
    /// `RawConfigParser.read_string` (default options: `=` and `:` delimiters, full-line `#`/`;`
    /// comments, indented continuation lines, keys lowercased).
    pub(crate) fn parse(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        let mut section: Option<String> = None;
        let mut key: Option<String> = None;
        let mut key_indent = 0usize;
        for (lineno, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let stripped = line.trim_start();
            let indent = line.len() - stripped.len();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                // An empty line inside a value is kept (empty_lines_in_values).
                if let (Some(s), Some(k)) = (&section, &key)
                    && let Some(v) = ini.sections.get_mut(s).and_then(|m| m.get_mut(k))
                {
                    v.push('\n');
                }
                continue;
            }
            if let (Some(s), Some(k)) = (&section, &key)
                && indent > key_indent
            {
                let v = ini.sections.get_mut(s).and_then(|m| m.get_mut(k)).unwrap();
                v.push('\n');
                v.push_str(stripped);
                continue;
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|l| l.split_once(']')) {
                let name = name.0.to_string();
                if ini.sections.contains_key(&name) {
                    return Err(format!(
                        "While reading from '<string>' [line {:2}]: section '{name}' already exists",
                        lineno + 1
                    ));
                }
                ini.sections.insert(name.clone(), IndexMap::new());
                section = Some(name);
                key = None;
                continue;
            }
            let Some(s) = &section else {
                return Err(format!(
                    "File contains no section headers.\nfile: '<string>', line: {}\n{:?}",
                    lineno + 1,
                    raw
                ));
            };
            let pos = stripped.find(['=', ':']);
            let (k, v) = match pos {
                Some(i) => (stripped[..i].trim(), stripped[i + 1..].trim()),
                None => (stripped.trim(), ""),
            };
            let k = k.to_lowercase();
            let m = ini.sections.get_mut(s).unwrap();
            m.insert(k.clone(), v.to_string());
            key = Some(k);
            key_indent = indent;
        }
        // Trailing empty lines of values are dropped.
        for m in ini.sections.values_mut() {
            for v in m.values_mut() {
                while v.ends_with('\n') {
                    v.pop();
                }
            }
        }
        Ok(ini)
    }

    /// `RawConfigParser.write`: `key = value`, continuation lines indented with a tab.
    pub(crate) fn write(&self) -> String {
        let mut s = String::new();
        for (name, items) in &self.sections {
            s.push_str(&format!("[{name}]\n"));
            for (k, v) in items {
                s.push_str(&format!("{k} = {}\n", v.replace('\n', "\n\t")));
            }
            s.push('\n');
        }
        s
    }

    /// The module's `dump()`: sections and keys sorted, `key = value`.
    pub(crate) fn dump(&self) -> String {
        let mut names: Vec<&String> = self.sections.keys().collect();
        names.sort();
        let mut s = String::new();
        for name in names {
            s.push_str(&format!("[{name}]\n"));
            let mut items: Vec<(&String, &String)> = self.sections[name].iter().collect();
            items.sort();
            for (k, v) in items {
                s.push_str(&format!("{k} = {v}\n"));
            }
            s.push('\n');
        }
        s
    }
}

/// Parameters written into the section: booleans as `1`/`0`, lists joined by newlines
/// ([`NEWLINE_LISTS`]) or spaces, text as given.
const REPO_PARAMS: &[Param] = &[
    Param::bool("async"),
    Param::str("bandwidth"),
    Param::list("baseurl"),
    Param::str("cost"),
    Param::bool("countme"),
    Param::str("deltarpm_metadata_percentage"),
    Param::str("deltarpm_percentage"),
    Param::bool("enabled"),
    Param::bool("enablegroups"),
    Param::list("exclude").aliases(&["excludepkgs"]),
    Param::str("failovermethod").choices(&["roundrobin", "priority"]),
    Param::str("gpgcakey"),
    Param::bool("gpgcheck"),
    Param::list("gpgkey"),
    Param::bool("module_hotfixes"),
    Param::str("http_caching").choices(&["all", "packages", "none"]),
    Param::str("include"),
    Param::list("includepkgs"),
    Param::str("ip_resolve").choices(&["4", "6", "IPv4", "IPv6", "whatever"]),
    Param::bool("keepalive"),
    Param::str("keepcache").choices(&["0", "1"]),
    Param::str("metadata_expire"),
    Param::str("metadata_expire_filter").choices(&[
        "never",
        "read-only:past",
        "read-only:present",
        "read-only:future",
    ]),
    Param::str("metalink"),
    Param::str("mirrorlist"),
    Param::str("mirrorlist_expire"),
    Param::str("password").no_log(),
    Param::str("priority"),
    Param::bool("protect"),
    Param::str("proxy"),
    Param::str("proxy_password").no_log(),
    Param::str("proxy_username"),
    Param::bool("repo_gpgcheck"),
    Param::str("retries"),
    Param::bool("skip_if_unavailable"),
    Param::str("sslcacert").aliases(&["ca_cert"]),
    Param::bool("ssl_check_cert_permissions"),
    Param::str("sslclientcert").aliases(&["client_cert"]),
    Param::str("sslclientkey").aliases(&["client_key"]),
    Param::bool("sslverify").aliases(&["validate_certs"]),
    Param::str("throttle"),
    Param::str("timeout"),
    Param::str("ui_repoid_vars"),
    Param::str("username"),
];

/// The list parameters written one item a line; the others are joined by spaces.
const NEWLINE_LISTS: &[&str] = &["baseurl", "gpgkey"];

/// Reads the parameters: (repo id, state, file name, repos dir, the section's items).
#[allow(clippy::type_complexity)]
fn read_params(
    args: &mut Args,
) -> Result<
    (
        String,
        String,
        Option<String>,
        String,
        Vec<(String, String)>,
    ),
    ModuleError,
> {
    let name = args.required_str("name")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let description = args.str("description")?;
    let file = args.str("file")?;
    let reposdir = args
        .str("reposdir")?
        .unwrap_or_else(|| "/etc/yum.repos.d".into());
    let mut items: Vec<(String, String)> = Vec::new();
    for p in REPO_PARAMS {
        let key = p.name;
        let v = match p.kind {
            Kind::Bool => args
                .bool(key)?
                .map(|b| if b { "1" } else { "0" }.to_string()),
            Kind::List => {
                let sep = if NEWLINE_LISTS.contains(&key) {
                    "\n"
                } else {
                    " "
                };
                args.list(key)?.map(|l| sysutil::strings(&l).join(sep))
            }
            _ => args.str(key)?,
        };
        if let Some(v) = v {
            items.push((key.to_string(), v));
        }
    }
    if let Some(d) = &description {
        items.push(("name".into(), d.clone()));
    }
    if state == "present" {
        let has = |k: &str| items.iter().any(|(n, _)| n == k);
        if !has("baseurl") && !has("mirrorlist") && !has("metalink") {
            return Err(ModuleError::Failed(
                "state is present but any of the following are missing: baseurl, mirrorlist, metalink"
                    .into(),
            ));
        }
        if description.is_none() {
            return Err(ModuleError::Failed(
                "state is present but all of the following are missing: description".into(),
            ));
        }
    }
    items.sort();
    Ok((name, state, file, reposdir, items))
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let (name, state, file, reposdir, items) = read_params(&mut args)?;
    let attrs = Attrs::from_args(&mut args)?;
    let dest = format!(
        "{}/{}.repo",
        reposdir.trim_end_matches('/'),
        file.unwrap_or_else(|| name.clone())
    );
    let dir_check = sysutil::run(
        ctx,
        &format!("[ -d {} ] || echo NODIR", shell_quote(&reposdir)),
    )
    .await?;
    if dir_check.stdout.contains("NODIR") {
        return Ok(sysutil::failed(
            format!("Repo directory '{reposdir}' does not exist."),
            vec![],
        ));
    }
    let target = fileutil::read_target(ctx, &dest, &attrs).await?;
    let mut ini = if target.exists {
        Ini::parse(&target.content).map_err(ModuleError::Failed)?
    } else {
        Ini::default()
    };
    let before = ini.dump();
    ini.sections.shift_remove(&name);
    if state == "present" {
        ini.sections
            .insert(name.clone(), items.into_iter().collect::<IndexMap<_, _>>());
    }
    let after = ini.dump();
    let mut changed = before != after;
    if ini.sections.is_empty() {
        // save() removes a file left without sections.
        if changed && !ctx.check_mode {
            let rm = sysutil::run(ctx, &format!("rm -f -- {}", shell_quote(&dest))).await?;
            if rm.rc != 0 {
                return Ok(sysutil::failed(
                    format!("Cannot remove empty repo file {dest}."),
                    vec![("details", Value::from(rm.stderr.trim()))],
                ));
            }
        }
    } else if target.exists || (changed && !ctx.check_mode) {
        // The content (when changed) and the file attributes, as set_fs_attributes_if_different.
        let content = if changed {
            ini.write()
        } else {
            target.content.clone()
        };
        let opts = PutOptions {
            mode: attrs.put_mode(),
            owner: attrs.owner.clone(),
            group: attrs.group.clone(),
            check_mode: ctx.check_mode,
            ..PutOptions::default()
        };
        let out = ctx
            .put_file(Source::Bytes(content.into_bytes()), &dest, &opts)
            .await?;
        changed |= out.changed;
    }
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(changed));
    r.insert("repo".into(), Value::from(name.as_str()));
    r.insert("state".into(), Value::from(state.as_str()));
    r.insert(
        "diff".into(),
        crate::value::map([
            ("before_header", Value::from(dest.as_str())),
            ("before", Value::from(before)),
            ("after_header", Value::from(dest.as_str())),
            ("after", Value::from(after)),
        ]),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configparser_round_trip() {
        let text = "# comment\n[epel]\nName = EPEL\nbaseurl = http://a/\n  http://b/\nenabled=1\n\n[other]\nx: y\n";
        let ini = Ini::parse(text).unwrap();
        assert_eq!(ini.sections["epel"]["name"], "EPEL");
        assert_eq!(ini.sections["epel"]["baseurl"], "http://a/\nhttp://b/");
        assert_eq!(
            ini.write(),
            "[epel]\nname = EPEL\nbaseurl = http://a/\n\thttp://b/\nenabled = 1\n\n[other]\nx = y\n\n"
        );
        assert_eq!(
            ini.dump(),
            "[epel]\nbaseurl = http://a/\nhttp://b/\nenabled = 1\nname = EPEL\n\n[other]\nx = y\n\n"
        );
        assert!(Ini::parse("[a]\n[a]\n").is_err());
        assert!(Ini::parse("x = 1\n").is_err());
    }
}
