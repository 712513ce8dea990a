//! `authorized_key` (ansible.posix.authorized_key): SSH public keys in a user's
//! `authorized_keys`, parsed, merged and written back as that module does (keys identified by
//! their base64 part, options and comments normalized, `exclusive` dropping the others; the
//! result echoes every parameter plus `keyfile`).
//!
//! One round trip reads the user, the file and a `file://` or `http(s)://` key source on the
//! host; a second creates `~/.ssh` (0700) and writes the file (0600, owned by the user)
//! atomically, only when it changes and not in check mode.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, kv, section, sections};
use super::{Args, MapResult, Module, ModuleCtx, ModuleResult, Param, Spec, shell_quote};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use std::collections::BTreeMap;

pub struct AuthorizedKey;

static SPEC: Spec = Spec {
    names: &["authorized_key", "ansible.posix.authorized_key"],
    diff: true,
    params: &[&[
        Param::str("user").required(),
        Param::str("key").required(),
        Param::str("path"),
        Param::bool("manage_dir").default_bool(true),
        Param::str("state")
            .choices(&["absent", "present"])
            .default_str("present"),
        Param::str("key_options"),
        Param::bool("exclusive").default_bool(false),
        Param::str("comment"),
        Param::bool("validate_certs").default_bool(true),
        Param::bool("follow").default_bool(false),
    ]],
    ..Spec::BASE
};

impl Module for AuthorizedKey {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// Key options in order; a name may repeat.
type Options = Vec<(String, Option<String>)>;

/// One line of the file: the key (or a skipped line kept as it is).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    /// The base64 part, or the whole line for a skipped one.
    pub hash: String,
    /// The key type, or `None` for a skipped line.
    pub key_type: Option<String>,
    pub options: Options,
    pub comment: String,
    pub rank: usize,
}

impl Key {
    /// The first four fields compared as the module compares its tuples (options as a dict
    /// of lists).
    fn same(&self, other: &Key) -> bool {
        fn group(o: &Options) -> BTreeMap<&str, Vec<&Option<String>>> {
            let mut m: BTreeMap<&str, Vec<&Option<String>>> = BTreeMap::new();
            for (k, v) in o {
                m.entry(k.as_str()).or_default().push(v);
            }
            m
        }
        self.hash == other.hash
            && self.key_type == other.key_type
            && group(&self.options) == group(&other.options)
            && self.comment == other.comment
    }
}

/// parseoptions(): comma-separated, quotes protect commas.
pub(crate) fn parse_options(options: &str) -> Options {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut parts = Vec::new();
    for c in options.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, ',') => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), Some(v.to_string()))),
            None => out.push((p, None)),
        }
    }
    out
}

/// parsekey(): `None` when no known key type is found.
pub(crate) fn parse_key(raw: &str, rank: usize) -> Option<Key> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first() == Some(&"#") {
        return Some(Key {
            hash: raw,
            key_type: None,
            options: Vec::new(),
            comment: String::new(),
            rank,
        });
    }
    let i = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let options = if i > 0 {
        parse_options(&parts[..i].join(" "))
    } else {
        Vec::new()
    };
    let hash = parts.get(i + 1)?.to_string();
    Some(Key {
        hash,
        key_type: Some(parts[i].to_string()),
        options,
        comment: parts.get(i + 2..).map(|c| c.join(" ")).unwrap_or_default(),
        rank,
    })
}

/// parsekeys(): every line, by key (unparsable lines kept under their own text).
pub(crate) fn parse_keys(content: &str) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    for (rank, line) in split_keep_ends(content).into_iter().enumerate() {
        let k = parse_key(line, rank).unwrap_or(Key {
            hash: line.to_string(),
            key_type: None,
            options: Vec::new(),
            comment: String::new(),
            rank,
        });
        match keys.iter_mut().find(|x| x.hash == k.hash) {
            Some(x) => *x = k,
            None => keys.push(k),
        }
    }
    keys
}

fn split_keep_ends(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '\n' {
            out.push(&s[start..=i]);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// serialize(): by rank; a key line is `options type key comment`.
pub(crate) fn serialize(keys: &[Key]) -> String {
    let mut sorted: Vec<&Key> = keys.iter().collect();
    sorted.sort_by_key(|k| k.rank);
    let mut s = String::new();
    for k in sorted {
        match &k.key_type {
            None => s.push_str(&k.hash),
            Some(t) => {
                let opts = if k.options.is_empty() {
                    String::new()
                } else {
                    let o: Vec<String> = k
                        .options
                        .iter()
                        .map(|(n, v)| match v {
                            Some(v) => format!("{n}={v}"),
                            None => n.clone(),
                        })
                        .collect();
                    format!("{} ", o.join(","))
                };
                s.push_str(&format!("{opts}{t} {} {}\n", k.hash, k.comment));
            }
        }
    }
    s
}

/// enforce_state() on the file's content: the new content when it must be written.
pub(crate) fn enforce(
    existing: &str,
    key: &str,
    state: &str,
    key_options: Option<&str>,
    comment: Option<&str>,
    exclusive: bool,
) -> Result<Option<String>, String> {
    let new_keys: Vec<&str> = key
        .lines()
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .collect();
    let mut keys = parse_keys(existing);
    let max_rank = keys.len();
    let mut to_exist: Vec<String> = Vec::new();
    let mut write = false;
    for (rank, nk) in new_keys.iter().enumerate() {
        let Some(mut parsed) = parse_key(nk, rank) else {
            return Err(format!("invalid key specified: {nk}"));
        };
        if let Some(o) = key_options {
            parsed.options = parse_options(o);
        }
        if let Some(c) = comment {
            parsed.comment = c.to_string();
        }
        let mut matched = false;
        let mut non_matching = false;
        if let Some(old) = keys.iter().find(|k| k.hash == parsed.hash) {
            if !parsed.same(old) && state == "present" {
                non_matching = true;
            } else {
                matched = true;
            }
        }
        if state == "present" {
            to_exist.push(parsed.hash.clone());
            if non_matching {
                keys.retain(|k| k.hash != parsed.hash);
                write = true;
            }
            if !matched {
                parsed.rank += max_rank;
                keys.push(parsed);
                write = true;
            }
        } else if matched {
            keys.retain(|k| k.hash != parsed.hash);
            write = true;
        }
    }
    if state == "present" && exclusive {
        let before = keys.len();
        keys.retain(|k| to_exist.contains(&k.hash));
        write |= keys.len() != before;
    }
    Ok(write.then(|| serialize(&keys)))
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let user = args.required_str("user")?;
    let key = args.required_str("key")?;
    let path = args.str("path")?;
    let manage_dir = args.bool("manage_dir")?.unwrap_or(true);
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let key_options = args.str("key_options")?;
    let exclusive = args.bool("exclusive")?.unwrap_or(false);
    let comment = args.str("comment")?;
    let validate_certs = args.bool("validate_certs")?.unwrap_or(true);
    let follow = args.bool("follow")?.unwrap_or(false);

    // --- Round trip 1: the key source, the user, the file.
    let q = shell_quote;
    let mut s = format!("U={}; P={}\n", q(&user), q(path.as_deref().unwrap_or("")));
    if key.starts_with("http") {
        s.push_str(&format!(
            "if command -v curl >/dev/null 2>&1; then k=$(curl -fsSL {insecure} {url} 2>/dev/null) || echo KEYFETCHFAIL=1; \
             else k=$(wget -qO- {url} 2>/dev/null) || echo KEYFETCHFAIL=1; fi\n\
             {sec}; printf '%s' \"$k\"; {back}\n",
            insecure = if validate_certs { "" } else { "-k" },
            url = q(&key),
            sec = section("keysrc"),
            back = section("h2"),
        ));
    } else if key.starts_with("file") {
        let kp = key
            .strip_prefix("file://")
            .or_else(|| key.strip_prefix("file:"))
            .unwrap_or(&key);
        let kp = kp.split(['?', '#']).next().unwrap_or(kp);
        s.push_str(&format!(
            "kp={}\nif [ ! -e \"$kp\" ]; then echo KEYMISSING=1; elif [ ! -f \"$kp\" ]; then echo KEYDIR=1; \
             else {}; cat \"$kp\"; {}; fi\n",
            q(kp),
            section("keysrc"),
            section("h2"),
        ));
    }
    s.push_str(
        "e=$(getent passwd \"$U\") && printf 'PW=%s\\n' \"$e\"\n\
         if [ -n \"$P\" ]; then f=$P; else f=$(printf '%s' \"$e\" | cut -d: -f6)/.ssh/authorized_keys; fi\n",
    );
    if follow {
        s.push_str("f=$(realpath -m -- \"$f\")\n");
    }
    s.push_str(&format!(
        "printf 'KF=%s\\n' \"$f\"\nif [ -f \"$f\" ]; then {}; cat \"$f\"; fi\n",
        section("content")
    ));
    let out = sysutil::run(ctx, &s).await?;
    let secs = sections(&out.stdout);
    let mut head = kv(&secs[""]);
    if let Some(h2) = secs.get("h2") {
        head.extend(kv(h2));
    }
    let key = if key.starts_with("http") {
        if head.contains_key("KEYFETCHFAIL") {
            return Ok(sysutil::failed(
                format!("Error getting key from: {key}"),
                vec![],
            ));
        }
        secs.get("keysrc").cloned().unwrap_or_default()
    } else if key.starts_with("file") {
        let kp = key.trim_start_matches("file://").to_string();
        if head.contains_key("KEYMISSING") {
            return Ok(sysutil::failed(
                format!("Path to a key file not found: {kp}"),
                vec![],
            ));
        }
        if head.contains_key("KEYDIR") {
            return Ok(sysutil::failed(
                format!("Path to a key is a directory and must be a file: {kp}"),
                vec![],
            ));
        }
        secs.get("keysrc").cloned().unwrap_or_default()
    } else {
        key
    };
    let pw = head.get("PW").cloned();
    if pw.is_none() && !(ctx.check_mode && path.is_some()) {
        let msg = if ctx.check_mode {
            "Either user must exist or you must provide full path to key file in check mode"
                .to_string()
        } else {
            format!("Failed to lookup user {user}: \"getpwnam(): name not found: '{user}'\"")
        };
        return Ok(sysutil::failed(msg, vec![]));
    }
    // In check mode with a path, the module does not resolve anything (no follow either).
    let keyfile = if ctx.check_mode && path.is_some() {
        path.clone().unwrap_or_default()
    } else {
        head.get("KF").cloned().unwrap_or_default()
    };
    let existing = secs.get("content").cloned().unwrap_or_default();
    let new_content = match enforce(
        &existing,
        &key,
        &state,
        key_options.as_deref(),
        comment.as_deref(),
        exclusive,
    ) {
        Ok(c) => c,
        Err(m) => return Ok(sysutil::failed(m, vec![])),
    };

    let opt = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::from(()));
    let mut r = Vars::new();
    r.insert("user".into(), Value::from(user.as_str()));
    r.insert("key".into(), Value::from(key.as_str()));
    r.insert("path".into(), opt(&path));
    r.insert("manage_dir".into(), Value::from(manage_dir));
    r.insert("state".into(), Value::from(state.as_str()));
    r.insert("key_options".into(), opt(&key_options));
    r.insert("exclusive".into(), Value::from(exclusive));
    r.insert("comment".into(), opt(&comment));
    r.insert("validate_certs".into(), Value::from(validate_certs));
    r.insert("follow".into(), Value::from(follow));
    r.insert("keyfile".into(), Value::from(keyfile.as_str()));
    let Some(content) = new_content else {
        r.insert("changed".into(), Value::from(false));
        return Ok(r);
    };
    // keyfile(write=True): the same path, resolved again (follow applies to writing).
    let filename = keyfile.clone();
    if ctx.diff {
        r.insert(
            "diff".into(),
            value::map([
                ("before_header", Value::from(keyfile.as_str())),
                ("after_header", Value::from(filename.as_str())),
                ("before", Value::from(existing.as_str())),
                ("after", Value::from(content.as_str())),
            ]),
        );
    }
    r.insert("changed".into(), Value::from(true));
    if ctx.check_mode {
        return Ok(r);
    }
    // --- Round trip 2: the directory, the file, its owner and mode; then the content.
    let pwf: Vec<String> = pw
        .unwrap_or_default()
        .split(':')
        .map(String::from)
        .collect();
    let (uid, gid) = (
        pwf.get(2).cloned().unwrap_or_default(),
        pwf.get(3).cloned().unwrap_or_default(),
    );
    let sshdir = match &path {
        Some(p) => p
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or(".".into()),
        None => format!("{}/.ssh", pwf.get(5).cloned().unwrap_or_default()),
    };
    let mut w = format!("f={f}; d={d}\n", f = q(&filename), d = q(&sshdir));
    if manage_dir {
        w.push_str(&format!(
            "if [ ! -e \"$d\" ]; then mkdir -m 0700 \"$d\" || {{ echo \"FAIL=Failed to create directory $d\"; exit 0; }}; fi\n\
             chown {uid}:{gid} \"$d\"; chmod 0700 \"$d\"\n"
        ));
    }
    w.push_str(&format!(
        "if [ ! -e \"$f\" ]; then mkdir -p \"$(dirname \"$f\")\"; : > \"$f\"; fi\n\
         chown {uid}:{gid} \"$f\" 2>/dev/null; chmod 0600 \"$f\" 2>/dev/null\n\
         case $f in /*) af=$f ;; *) af=$PWD/$f ;; esac\n\
         kd=${{af%/*}}; kd=${{kd:-/}}; here=$PWD\n\
         {private}\
         printf '%s' {content} > k && chown --reference=\"$af\" k && chmod --reference=\"$af\" k && mv -T -- k \"$af\" || echo \"FAIL=Failed to write to file $f\"\n\
         K_done; trap - EXIT; cd -- \"$here\" 2>/dev/null || cd /\n",
        content = q(&content),
        // The new content is written in a private directory beside the file (the user owns
        // that directory and could otherwise swap a temporary file under root) and renamed
        // over it.
        private = hosttmp::private_dir("K", Place::Beside("\"$kd\""), Cleanup::OnExit)?,
    ));
    let out = sysutil::run(ctx, &w).await?;
    if let Some(m) = kv(&out.stdout).get("FAIL") {
        return Ok(sysutil::failed(m.clone(), vec![]));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOne alice@laptop";
    const K2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQFake bob";

    #[test]
    fn keys_are_added_once() {
        let c = enforce("", K1, "present", None, None, false)
            .unwrap()
            .unwrap();
        assert_eq!(c, format!("{K1}\n"));
        assert_eq!(enforce(&c, K1, "present", None, None, false).unwrap(), None);
        let c2 = enforce(
            &c,
            K2,
            "present",
            Some("no-pty,from=\"10.0.0.1\""),
            None,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c2, format!("{K1}\nno-pty,from=\"10.0.0.1\" {K2}\n"));
        let only = enforce(
            &c2,
            K2,
            "present",
            Some("no-pty,from=\"10.0.0.1\""),
            None,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(only, format!("no-pty,from=\"10.0.0.1\" {K2}\n"));
        assert_eq!(
            enforce(&only, K2, "absent", None, None, false)
                .unwrap()
                .unwrap(),
            ""
        );
    }

    #[test]
    fn comments_and_odd_lines_survive() {
        let existing = "# my keys\nnot a key\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOne\n";
        let c = enforce(existing, K2, "present", None, None, false)
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            format!(
                "# my keys\nnot a key\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOne \n{K2}\n"
            )
        );
        assert!(enforce("", "garbage", "present", None, None, false).is_err());
    }
}
