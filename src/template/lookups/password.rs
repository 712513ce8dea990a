//! The `password` lookup: a random password stored in a file on the controller, created once
//! (mode 0600 in a 0700 directory) and read back on later runs, optionally hashed with
//! crypt(3). A file of its own because it is the one lookup that writes, and the one that must
//! never put its secret in an error message.

use super::{Ctx, LResult, LookupError, expand_home, str_terms};
use crate::template::crypt;
use crate::template::filters::py_str;
use crate::template::pyrandom::{PyRandom, Seed};
use crate::value::Value;
use minijinja::value::Kwargs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Serialises password lookups in this process: two hosts asking for the same new password
/// file at once must get the same password, not race to write two.
static PASSWORD_LOCK: Mutex<()> = Mutex::new(());

/// Python's `string` module constants, which `chars=` may name.
fn char_set(name: &str) -> Option<&'static str> {
    Some(match name {
        "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
        "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "digits" => "0123456789",
        "hexdigits" => "0123456789abcdefABCDEF",
        "octdigits" => "01234567",
        "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "printable" => {
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\r\x0b\x0c"
        }
        "whitespace" => " \t\n\r\x0b\x0c",
        _ => return None,
    })
}

/// Splits `k=v k2='v 2'` the way Ansible's parse_kv does for the simple cases.
fn parse_kv(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut token = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    chars.next();
                }
                Some(_) => {
                    token.push(c);
                    chars.next();
                }
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    chars.next();
                }
                None if c.is_whitespace() => break,
                None => {
                    token.push(c);
                    chars.next();
                }
            }
        }
        match token.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => out.push(("_raw_params".to_string(), token)),
        }
    }
    out
}

pub(super) fn password(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    let kw_str = |name: &str| -> LResult<Option<String>> {
        Ok(kwargs.get::<Option<Value>>(name)?.map(|v| py_str(&v)))
    };
    let (k_length, k_chars, k_encrypt, k_seed, k_ident) = (
        kw_str("length")?,
        kw_str("chars")?,
        kw_str("encrypt")?,
        kw_str("seed")?,
        kw_str("ident")?,
    );
    for term in str_terms(terms)? {
        let (relpath, params) = match term.split_once(' ') {
            Some((p, rest)) => (p.to_string(), parse_kv(rest)),
            None => (term.clone(), Vec::new()),
        };
        let mut length = k_length.clone();
        let mut chars = k_chars.clone();
        let mut encrypt = k_encrypt.clone();
        let mut seed = k_seed.clone();
        let mut ident = k_ident.clone();
        for (k, v) in params {
            match k.as_str() {
                "length" => length = Some(v),
                "chars" => chars = Some(v),
                "encrypt" => encrypt = Some(v),
                "seed" => seed = Some(v),
                "ident" => ident = Some(v),
                "_raw_params" => {
                    return Err(LookupError(
                        "Unrecognized value after key=value parameters given to password lookup"
                            .into(),
                    ));
                }
                other => {
                    return Err(LookupError(format!(
                        "Unrecognized parameter(s) given to password lookup: {other}"
                    )));
                }
            }
        }
        let length: usize = match length {
            Some(l) => l
                .trim()
                .parse()
                .map_err(|_| LookupError(format!("the length must be an integer, not '{l}'")))?,
            None => 20,
        };
        let chars: String = {
            let specs: Vec<String> = match chars {
                Some(c) => {
                    let mut specs = Vec::new();
                    if c.contains(",,") {
                        specs.push(",".to_string());
                    }
                    specs.extend(
                        c.replace(",,", ",")
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from),
                    );
                    specs
                }
                None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
            };
            specs
                .iter()
                .map(|s| char_set(s).map(str::to_string).unwrap_or_else(|| s.clone()))
                .collect::<String>()
                .replace(['"', '\''], "")
        };
        if chars.is_empty() {
            return Err(LookupError(
                "the password lookup needs at least one character to choose from".into(),
            ));
        }
        let path = if relpath.starts_with('/') {
            PathBuf::from(&relpath)
        } else if relpath.starts_with('~') {
            PathBuf::from(expand_home(&relpath))
        } else {
            ctx.basedir().join(&relpath)
        };
        let devnull = path == Path::new("/dev/null");
        let scheme = match encrypt.as_deref() {
            None | Some("") => None,
            Some(e) => Some(crypt::Scheme::from_name(e).ok_or_else(|| {
                LookupError(format!("unsupported encrypt algorithm '{e}' (baton supports md5_crypt, sha256_crypt, sha512_crypt)"))
            })?),
        };

        let _guard = PASSWORD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let content = if devnull {
            None
        } else {
            match std::fs::read(&path) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim_end().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(LookupError(format!(
                        "cannot read the password file {}: {e}",
                        path.display()
                    )));
                }
            }
        };
        let mut changed = false;
        let (plaintext, mut salt, stored_ident) = match content {
            Some(c) => {
                let (p, s, i) = parse_content(&c);
                (p, s, i)
            }
            None => {
                changed = true;
                (
                    random_password(length, &chars, seed.as_deref())?,
                    None,
                    None,
                )
            }
        };
        if scheme.is_some() && salt.is_none() {
            changed = true;
            salt = Some(crypt::random_salt(
                scheme.map(|s| s.salt_size()).unwrap_or(8),
            )?);
        }
        if let (Some(stored), Some(wanted)) = (&stored_ident, &ident)
            && stored != wanted
        {
            return Err(LookupError(format!(
                "The ident parameter provided ({wanted}) does not match the stored one ({stored})."
            )));
        }
        let ident = stored_ident.or(ident);
        if changed && !devnull {
            let mut text = plaintext.clone();
            if let Some(s) = &salt {
                text.push_str(&format!(" salt={s}"));
                if let Some(i) = &ident {
                    text.push_str(&format!(" ident={i}"));
                }
            }
            text.push('\n');
            write_secret(&path, &text)?;
        }
        drop(_guard);
        match scheme {
            Some(s) => out.push(Value::from(
                crypt::crypt(
                    s,
                    plaintext.as_bytes(),
                    salt.as_deref().unwrap_or(""),
                    s.ansible_rounds(),
                )
                .map_err(LookupError)?,
            )),
            None => out.push(Value::from(plaintext)),
        }
    }
    Ok(out)
}

/// Password, salt and ident from a password file's line (`pw salt=... ident=...`).
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    match content.rfind(" salt=") {
        None => (content.to_string(), None, None),
        Some(i) => {
            let password = content[..i].to_string();
            let rem = &content[i + " salt=".len()..];
            match rem.rfind(" ident=") {
                Some(j) => (
                    password,
                    Some(rem[..j].to_string()),
                    Some(rem[j + " ident=".len()..].to_string()),
                ),
                None => (password, (!rem.is_empty()).then(|| rem.to_string()), None),
            }
        }
    }
}

fn random_password(length: usize, chars: &str, seed: Option<&str>) -> LResult<String> {
    let pool: Vec<char> = chars.chars().collect();
    match seed {
        Some(s) => {
            // Python's Random(seed): the seed is the string from the term or keyword.
            let mut rng = match s.parse::<i128>() {
                Ok(i) => PyRandom::new(Seed::Int(i)),
                Err(_) => PyRandom::new(Seed::Str(s)),
            };
            Ok((0..length)
                .map(|_| pool[rng.randbelow(pool.len() as u128) as usize])
                .collect())
        }
        None => (0..length)
            .map(|_| crypt::os_random_below(pool.len()).map(|i| pool[i]))
            .collect::<Result<String, String>>()
            .map_err(LookupError),
    }
}

/// Writes a password file readable by its owner only, creating its directory (mode 0700).
fn write_secret(path: &Path, text: &str) -> LResult<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                LookupError(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            LookupError(format!(
                "cannot write the password file {}: {e}",
                path.display()
            ))
        })?;
    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    f.write_all(text.as_bytes()).map_err(|e| {
        LookupError(format!(
            "cannot write the password file {}: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx_with, scratch};

    #[test]
    fn password_lookup_stores_and_rereads() {
        let d = scratch("pw");
        let ctx = ctx_with(&d);
        let r = |t: &str| crate::template::render_str(t, &ctx).unwrap();
        let first = r("{{ lookup('password', 'creds/x length=12 chars=digits') }}");
        let first = first.as_str().unwrap().to_string();
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            r("{{ lookup('password', 'creds/x') }}").as_str(),
            Some(first.as_str())
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("creds/x"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Seeded passwords are Python's Random(seed).choice, as Ansible's.
        assert_eq!(
            r("{{ lookup('password', '/dev/null seed=fixed length=16') }}").as_str(),
            Some("nw6AuiBDIPxvJhDA")
        );
    }
}
