//! Encodings and digests: base64, `hash`/`checksum`/`md5`/`sha1`, `password_hash` (crypt(3)
//! through [`super::super::crypt`]) and `to_uuid`. Byte-exact with Python's `base64`, `hashlib`
//! and `uuid.uuid5`, since their output ends up in files and is compared.

use super::super::crypt;
use super::{arg, err, flag, py_str};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::{Kwargs, ValueKind};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn b64decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let c = match c {
            b'-' => b'+',
            b'_' => b'/',
            c => c,
        };
        let v = B64.iter().position(|&x| x == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

pub(super) fn b64encode_filter(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let encoding: Option<String> = kwargs.get("encoding")?;
    let urlsafe = flag(&kwargs, "urlsafe")?;
    kwargs.assert_all_used()?;
    let bytes = match v.as_bytes() {
        Some(b) if v.kind() == ValueKind::Bytes => b.to_vec(),
        _ => crate::text::encoding::encode(&py_str(&v), encoding.as_deref().unwrap_or("utf-8"))
            .map_err(err)?,
    };
    let out = b64encode(&bytes);
    Ok(if urlsafe {
        out.replace('+', "-").replace('/', "_")
    } else {
        out
    })
}

pub(super) fn b64decode_filter(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let encoding: Option<String> = kwargs.get("encoding")?;
    let urlsafe = flag(&kwargs, "urlsafe")?;
    kwargs.assert_all_used()?;
    let mut text = py_str(&v);
    if urlsafe {
        text = text.replace('-', "+").replace('_', "/");
    }
    let bytes = b64decode(&text).ok_or_else(|| err("Incorrect padding or invalid base64 data"))?;
    match encoding.as_deref() {
        // Python decodes with errors='surrogate_or_strict'; invalid UTF-8 stays lossy here.
        None => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Some(e) => crate::text::encoding::decode(&bytes, e).map_err(err),
    }
}

pub(super) fn digest(algorithm: &str, v: &Value) -> Result<String, Error> {
    crypt::hexdigest(algorithm, py_str(v).as_bytes())
        .ok_or_else(|| err(format!("unsupported hash type {algorithm}")))
}

pub(super) fn hash(v: Value, algorithm: Option<String>) -> Result<String, Error> {
    digest(algorithm.as_deref().unwrap_or("sha1"), &v)
}

pub(super) fn password_hash(
    v: Value,
    hashtype: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let hashtype = arg(hashtype, &kwargs, "hashtype")?.unwrap_or("sha512".into());
    let salt = arg(salt, &kwargs, "salt")?;
    let salt_size: Option<Value> = kwargs.get("salt_size")?;
    let rounds: Option<Value> = kwargs.get("rounds")?;
    let _ident: Option<Value> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let scheme = crypt::Scheme::from_name(&hashtype).ok_or_else(|| {
        err(format!(
            "{hashtype} is not in the list of supported passlib algorithms: md5, sha256, sha512 (baton does not implement blowfish/bcrypt)"
        ))
    })?;
    // passlib's rules, as ansible's utils/encrypt.py applies them: a salt_size that is not an
    // integer is a TypeError; settings out of the scheme's range are a ValueError, which ansible
    // reports as "Could not hash the secret."
    let salt_size = match salt_size.filter(|s| !s.is_none() && !s.is_undefined()) {
        None => None,
        Some(s) => match integer(&s) {
            Some(n) => Some(n),
            None => return Err(err("salt_size must be an integer")),
        },
    };
    let rounds = match rounds.filter(|r| r.is_true()) {
        None => None,
        Some(r) => Some(integer(&r).ok_or_else(|| err("rounds must be an integer"))?),
    };
    let cannot = |why: String| err(format!("Could not hash the secret.: {why}"));
    let max_salt = scheme.salt_size() as i64;
    let salt = match salt.filter(|s| !s.is_none() && s.is_true()) {
        Some(s) => {
            let s = py_str(&s);
            if s.len() as i64 > max_salt {
                return Err(cannot(format!(
                    "salt too large (requires <= {max_salt} chars)"
                )));
            }
            s
        }
        None => {
            let size = match salt_size.filter(|n| *n != 0) {
                None => max_salt,
                Some(n) if (0..=max_salt).contains(&n) => n,
                Some(n) => return Err(cannot(format!("salt_size ({n}) outside 0 to {max_salt}"))),
            };
            crypt::random_salt(size as usize).map_err(err)?
        }
    };
    let rounds = match (rounds, scheme.ansible_rounds()) {
        (None, default) => default,
        (Some(_), None) => {
            return Err(err(format!(
                "{hashtype} takes no rounds (passlib: unexpected keyword argument 'rounds')"
            )));
        }
        (Some(n), Some(_)) if (1000..=999_999_999).contains(&n) => Some(n as u32),
        (Some(n), Some(_)) => {
            return Err(cannot(format!("rounds ({n}) outside 1000 to 999999999")));
        }
    };
    crypt::crypt(scheme, py_str(&v).as_bytes(), &salt, rounds).map_err(cannot)
}

/// A Python int (bools are ints to Python), or None.
fn integer(v: &Value) -> Option<i64> {
    match v.kind() {
        ValueKind::Bool => Some(i64::from(v.is_true())),
        ValueKind::Number if v.is_integer() => v.as_i64(),
        _ => None,
    }
}

pub(super) fn to_uuid(v: Value, namespace: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let namespace = arg(namespace, &kwargs, "namespace")?;
    kwargs.assert_all_used()?;
    // uuid5 with Ansible's namespace (361E6D51-FAEC-444A-9079-341386DA8E2E) unless given one;
    // a given one is parsed as Python's uuid.UUID(str) parses it.
    let hex = match namespace.filter(|n| !n.is_none() && !n.is_undefined()) {
        None => "361E6D51FAEC444A9079341386DA8E2E".to_string(),
        Some(n) => {
            let invalid = |why: &str| {
                err(format!(
                    "Invalid value '{}' for 'namespace': {why}",
                    py_str(&n)
                ))
            };
            let Some(text) = n.as_str() else {
                return Err(invalid(&format!(
                    "'{}' object has no attribute 'replace'",
                    super::py_type(&n)
                )));
            };
            let hex = text.replace("urn:", "").replace("uuid:", "");
            let hex = hex.trim_matches(|c| c == '{' || c == '}').replace('-', "");
            if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid("badly formed hexadecimal UUID string"));
            }
            hex
        }
    };
    let mut bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    bytes.extend_from_slice(py_str(&v).as_bytes());
    use sha1::Digest;
    let h = sha1::Sha1::digest(&bytes);
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let s: String = u.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::super::super::crypt;
    use super::super::render;
    use super::*;

    #[test]
    fn base64_and_hashes_are_pythons() {
        assert_eq!(b64encode(b"hello!?"), "aGVsbG8hPw==");
        assert_eq!(b64decode("aGVsbG8hPw==").unwrap(), b"hello!?");
        assert_eq!(
            render("{{ 42 | hash('md5') }}"),
            "a1d0c6e83f027327d8461063f4ac58a6"
        );
        assert_eq!(
            render("{{ 'secret' | password_hash('sha512', 'mysalt', rounds=5000) }}"),
            crypt::crypt(crypt::Scheme::Sha512, b"secret", "mysalt", None).unwrap()
        );
    }
}
