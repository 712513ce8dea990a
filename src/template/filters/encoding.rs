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
    let salt_size: Option<usize> = kwargs.get("salt_size")?;
    let rounds: Option<u32> = kwargs.get("rounds")?;
    let _ident: Option<String> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let scheme = crypt::Scheme::from_name(&hashtype).ok_or_else(|| {
        err(format!(
            "{hashtype} is not in the list of supported passlib algorithms: md5, sha256, sha512 (baton does not implement blowfish/bcrypt)"
        ))
    })?;
    let salt = match salt.filter(|s| !s.is_none() && s.is_true()) {
        Some(s) => py_str(&s),
        None => crypt::random_salt(salt_size.unwrap_or(scheme.salt_size())).map_err(err)?,
    };
    let rounds = rounds.filter(|r| *r > 0).or(scheme.ansible_rounds());
    crypt::crypt(scheme, py_str(&v).as_bytes(), &salt, rounds).map_err(err)
}

pub(super) fn to_uuid(v: Value, namespace: Option<String>) -> Result<String, Error> {
    // uuid5 with Ansible's namespace (361E6D51-FAEC-444A-9079-341386DA8E2E).
    let ns = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".into());
    let hex: String = ns.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 32 {
        return Err(err(format!("Invalid value '{ns}' for 'namespace'")));
    }
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
