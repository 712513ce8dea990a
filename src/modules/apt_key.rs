//! `apt_key`: keys in APT's keyring through `apt-key` and `gpg`, as ansible-core's apt_key
//! module does (lib/ansible/modules/apt_key.py): the key id comes from `id` or is read from the
//! key itself (`gpg --with-colons`), and the key is added (from `file`, `data`, `url` or a
//! `keyserver`) only when `apt-key adv --list-public-keys` does not show it.
//!
//! One round trip fetches the key (url), finds its id and lists the keyring; a second adds or
//! deletes it and lists again.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, kv, section, sections};
use super::{Args, MapResult, Module, ModuleCtx, ModuleResult, Param, Spec, shell_quote};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct AptKey;

static SPEC: Spec = Spec {
    names: &["apt_key"],
    params: &[&[
        Param::str("id"),
        Param::str("url"),
        Param::str("data"),
        Param::str("file"),
        Param::str("keyring"),
        Param::bool("validate_certs").default_bool(true),
        Param::str("keyserver"),
        Param::str("state")
            .choices(&["absent", "present"])
            .default_str("present"),
    ]],
    mutually_exclusive: &[&["data", "file", "keyserver", "url"]],
    ..Spec::BASE
};

impl Module for AptKey {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

/// parse_output_for_keys(): key ids of `pub`/`sub` lines that are not expired.
pub(crate) fn parse_keys(out: &str, short: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in out.split('\n') {
        if (line.starts_with("pub") || line.starts_with("sub")) && !line.contains("expired") {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let code = tokens
                .get(1)
                .and_then(|c| c.split_once('/'))
                .filter(|(_, r)| !r.contains('/'))
                .map(|(_, r)| r.to_string())
                .or_else(|| line.split(':').nth(4).map(String::from));
            if let Some(c) = code {
                found.push(c);
            }
        }
    }
    if short {
        found = found
            .into_iter()
            .map(|k| k[k.len().saturating_sub(8)..].to_string())
            .collect();
    }
    found
}

/// parse_key_id(): (short id, fingerprint part, full id), or `None` when invalid.
pub(crate) fn parse_key_id(id: &str) -> Option<(String, String, String)> {
    let t = id.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t)
        .replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = id.to_uppercase();
    if let Some(k) = key.strip_prefix("0X") {
        key = k.to_string();
    }
    let n = key.len();
    if n != 8 && n != 16 && n <= 16 {
        return None;
    }
    let short = key[n - 8..].to_string();
    let fp = if n > 16 {
        key[n - 16..].to_string()
    } else {
        key.clone()
    };
    Some((short, fp, key))
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let id = args.str("id")?;
    let url = args.str("url")?;
    let data = args.str("data")?;
    let file = args.str("file")?;
    let keyring = args.str("keyring")?;
    let validate_certs = args.bool("validate_certs")?.unwrap_or(true);
    let keyserver = args.str("keyserver")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let q = shell_quote;
    let apt_key = match &keyring {
        Some(k) => format!("apt-key --keyring {}", q(k)),
        None => "apt-key".to_string(),
    };
    let list_cmd = format!("{apt_key} adv --list-public-keys --keyid-format=long");

    // --- Round trip 1.
    let mut s = String::from(
        "command -v apt-key >/dev/null 2>&1 || { echo NOAPTKEY=1; exit 0; }\n\
         command -v gpg >/dev/null 2>&1 || { echo NOGPG=1; exit 0; }\n",
    );
    // Scratch files (keys, command output) live in a private directory (see hosttmp).
    s.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
    if id.is_none() {
        if keyserver.is_some() {
            return Ok(sysutil::failed(
                "Missing key_id, required with keyserver.",
                vec![],
            ));
        }
        if let Some(u) = &url {
            s.push_str(&format!(
                "curl -fsSL {k} -o \"$T/key\" {u} 2>/dev/null || wget -q {w} -O \"$T/key\" {u} || {{ echo FETCHFAIL=1; exit 0; }}\n",
                k = if validate_certs { "" } else { "-k" },
                w = if validate_certs { "" } else { "--no-check-certificate" },
                u = q(u)
            ));
        } else if let Some(d) = &data {
            s.push_str(&format!("printf '%s' {} > \"$T/key\"\n", q(d)));
        }
        let src = match &file {
            Some(f) => q(f),
            None => "\"$T/key\"".into(),
        };
        s.push_str(&format!(
            "{{ LANG=C LC_ALL=C gpg --with-colons --show-keys {src} || LANG=C LC_ALL=C gpg --with-colons {src}; }} >\"$T/o\" 2>\"$T/e\" </dev/null || {{ echo GPGFAIL=1; {so}; cat \"$T/o\"; {se}; cat \"$T/e\"; exit 0; }}\n\
             {sid}; cat \"$T/o\"; {back}\n",
            so = section("gout"),
            se = section("gerr"),
            sid = section("gpg"),
            back = section("h2"),
        ));
    }
    s.push_str(&format!(
        "{list_cmd} >\"$T/l\" 2>\"$T/le\"; echo \"LISTRC=$?\"; {}; cat \"$T/l\"; {}; cat \"$T/le\"\n",
        section("list"),
        section("listerr")
    ));
    let out = sysutil::run(ctx, &s).await?;
    let secs = sections(&out.stdout);
    let mut head = kv(&secs[""]);
    if let Some(h2) = secs.get("h2") {
        head.extend(kv(h2));
    }
    if head.contains_key("NOAPTKEY") {
        return Ok(sysutil::failed(
            "Failed to find required executable \"apt-key\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin. Apt-key has been deprecated. See the deb822_repository as an alternative.",
            vec![],
        ));
    }
    if head.contains_key("NOGPG") {
        // The module exits (successfully) with this message.
        return Ok(super::result([
            ("changed", Value::from(false)),
            (
                "msg",
                Value::from(
                    "Failed to find required executable \"gpg\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                ),
            ),
        ]));
    }
    if head.contains_key("FETCHFAIL") {
        return Ok(sysutil::failed(
            format!(
                "Error getting key id from url: {}",
                url.clone().unwrap_or_default()
            ),
            vec![],
        ));
    }
    if head.contains_key("GPGFAIL") {
        let what = if file.is_some() && data.is_none() && url.is_none() {
            file.clone().unwrap_or_default()
        } else {
            "inline data".into()
        };
        return Ok(sysutil::failed(
            format!("Unable to extract key from '{what}'"),
            vec![
                (
                    "stdout",
                    Value::from(secs.get("gout").cloned().unwrap_or_default()),
                ),
                (
                    "stderr",
                    Value::from(secs.get("gerr").cloned().unwrap_or_default()),
                ),
            ],
        ));
    }
    let key_id = match &id {
        Some(i) => Some(i.clone()),
        None => parse_keys(secs.get("gpg").map(String::as_str).unwrap_or(""), false)
            .into_iter()
            .next(),
    };
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    r.insert(
        "id".into(),
        key_id
            .as_deref()
            .map(Value::from)
            .unwrap_or(Value::from(())),
    );
    let Some((short, fp, full)) = key_id.as_deref().and_then(parse_key_id) else {
        let mut f = r.clone();
        f.insert("failed".into(), Value::from(true));
        f.insert("msg".into(), Value::from("Invalid key_id"));
        return Ok(f);
    };
    r.insert("short_id".into(), Value::from(short.as_str()));
    r.insert("fp".into(), Value::from(fp.as_str()));
    r.insert("key_id".into(), Value::from(full.as_str()));
    let short_format = full.len() == 8;
    if head.get("LISTRC").map(String::as_str) != Some("0") {
        return Ok(sysutil::failed(
            "Unable to list public keys",
            vec![
                ("cmd", Value::from(list_cmd.as_str())),
                (
                    "stdout",
                    Value::from(secs.get("list").cloned().unwrap_or_default()),
                ),
                (
                    "stderr",
                    Value::from(secs.get("listerr").cloned().unwrap_or_default()),
                ),
            ],
        ));
    }
    let keys = parse_keys(
        secs.get("list").map(String::as_str).unwrap_or(""),
        short_format,
    );
    r.insert(
        "before".into(),
        keys.iter().map(|k| Value::from(k.as_str())).collect(),
    );
    let present = if short_format {
        keys.contains(&short)
    } else {
        keys.contains(&fp)
    };
    let action = match state.as_str() {
        "present" if !present => {
            if let Some(f) = &file {
                Some((
                    format!("{apt_key} add {}", q(f)),
                    format!("Unable to add a key from file {f}"),
                ))
            } else if let Some(ks) = &keyserver {
                Some((
                    format!(
                        "i=0; while [ $i -lt 5 ]; do LANG=C LC_ALL=C {apt_key} adv --no-tty --keyserver {} --recv {} && break; i=$((i + 1)); done",
                        q(ks),
                        q(&full)
                    ),
                    format!("Error fetching key {full} from keyserver: {ks}"),
                ))
            } else if data.is_some() || url.is_some() {
                let src = match &data {
                    Some(d) => format!("printf '%s' {}", q(d)),
                    None => format!(
                        "{{ curl -fsSL {} {u} 2>/dev/null || wget -qO- {u}; }}",
                        if validate_certs { "" } else { "-k" },
                        u = q(url.as_deref().unwrap_or(""))
                    ),
                };
                Some((
                    format!("{src} | {apt_key} add -"),
                    "Unable to add a key from binary data".to_string(),
                ))
            } else {
                let mut f = sysutil::failed("No key to add ... how did i get here?!?!", vec![]);
                for (k, v) in &r {
                    f.entry(k.clone()).or_insert(v.clone());
                }
                return Ok(f);
            }
        }
        "absent" if keys.contains(&fp) => Some((
            format!("{apt_key} del {}", q(&short)),
            format!("Unable to remove a key with id {short}"),
        )),
        _ => None,
    };
    let Some((cmd, fail_msg)) = action else {
        return Ok(r);
    };
    r.insert("changed".into(), Value::from(true));
    if ctx.check_mode {
        return Ok(r);
    }
    // --- Round trip 2.
    let s = format!(
        "{tmp}({cmd}) >\"$T/o\" 2>\"$T/e\"; echo \"RC=$?\"\n\
         {list_cmd} >\"$T/l\" 2>/dev/null\n{}; cat \"$T/o\"; {}; cat \"$T/e\"; {}; cat \"$T/l\"\n",
        section("out"),
        section("err"),
        section("list"),
        tmp = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?,
    );
    let out = sysutil::run(ctx, &s).await?;
    let secs = sections(&out.stdout);
    let rc: i32 = kv(&secs[""])
        .get("RC")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    if rc != 0 {
        return Ok(sysutil::failed(
            fail_msg,
            vec![
                ("cmd", Value::from(cmd)),
                ("rc", Value::from(rc)),
                (
                    "stdout",
                    Value::from(secs.get("out").cloned().unwrap_or_default()),
                ),
                (
                    "stderr",
                    Value::from(secs.get("err").cloned().unwrap_or_default()),
                ),
            ],
        ));
    }
    let after = parse_keys(
        secs.get("list").map(String::as_str).unwrap_or(""),
        short_format,
    );
    r.insert(
        "after".into(),
        after.iter().map(|k| Value::from(k.as_str())).collect(),
    );
    let ok = if state == "present" {
        if short_format {
            after.contains(&short)
        } else {
            after.contains(&fp)
        }
    } else {
        !after.contains(&fp)
    };
    if !ok {
        let what = if state == "present" {
            "failed to add the key"
        } else {
            "the key was not removed"
        };
        let mut f = r.clone();
        f.insert("failed".into(), Value::from(true));
        f.insert(
            "msg".into(),
            Value::from(format!(
                "apt-key did not return an error, but {what} (check that the id is correct and *not* a subkey)"
            )),
        );
        return Ok(f);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_and_listings() {
        assert_eq!(
            parse_key_id("0x9FED2BCBDCD29CDF762678CBAED4B06F473041FA"),
            Some((
                "473041FA".into(),
                "AED4B06F473041FA".into(),
                "9FED2BCBDCD29CDF762678CBAED4B06F473041FA".into()
            ))
        );
        assert_eq!(parse_key_id("473041fa").unwrap().2, "473041FA");
        assert!(parse_key_id("12345").is_none());
        assert!(parse_key_id("nothex!!").is_none());
        let listing = "/etc/apt/trusted.gpg\n--------------------\npub   rsa4096/AED4B06F473041FA 2012-04-27 [SC]\n      9FED2BCBDCD29CDF762678CBAED4B06F473041FA\nuid                 [ unknown] Debian Archive\nsub   rsa2048/0123456789ABCDEF 2012-04-27 [E] [expired: 2020-01-01]\n";
        assert_eq!(parse_keys(listing, false), ["AED4B06F473041FA"]);
        assert_eq!(parse_keys(listing, true), ["473041FA"]);
        let colons = "pub:-:4096:1:AED4B06F473041FA:1335553717:::-:::scSC::::::23::0:\nfpr:::::::::9FED2BCBDCD29CDF762678CBAED4B06F473041FA:\n";
        assert_eq!(parse_keys(colons, false), ["AED4B06F473041FA"]);
    }
}
