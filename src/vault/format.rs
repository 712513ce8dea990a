//! The Ansible Vault file format, byte for byte as ansible-core writes and reads it.
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256                 (or $ANSIBLE_VAULT;1.2;AES256;LABEL)
//! 3338363865...                              hex, wrapped at 80 columns, a final newline
//! ```
//!
//! The body is `hexlify(hexlify(salt) \n hexlify(hmac) \n hexlify(ciphertext))`: hex twice, an
//! accident of history that Ansible keeps for compatibility, and so do we. The keys come from
//! PBKDF2-HMAC-SHA256 over the password with the salt (32 random bytes), 10000 rounds, 80 bytes:
//! the AES-256 key, the HMAC-SHA256 key and the initial counter block of AES-CTR (a 128-bit
//! big-endian counter). The plaintext is PKCS#7-padded to 16 bytes before encryption even though
//! CTR needs no padding (again: compatibility). The HMAC covers the ciphertext only and is
//! checked, in constant time, before anything is decrypted; the label of a 1.2 header is not
//! authenticated (as in Ansible), it only says which password to try first.
//!
//! This module knows nothing of passwords' sources or of files: [`encrypt`] and [`decrypt`] take
//! the password bytes. Errors are [`FormatError`]s that never contain plaintext.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The magic every vault text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";

/// PBKDF2 rounds, fixed by the format.
const ROUNDS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const SALT_LEN: usize = 32;
/// Ansible wraps the hex body at this width.
const LINE_WIDTH: usize = 80;

/// Whether data is vault-encrypted: it starts with the header (Ansible's `is_encrypted`).
pub fn is_encrypted(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

/// A parsed vault text: the header's fields and the (once-hexed) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `1.1` or `1.2`.
    pub version: String,
    /// Always `AES256` for what we can read.
    pub cipher: String,
    /// The label of a 1.2 header.
    pub vault_id: Option<String>,
    /// The body with line breaks removed: still hex.
    body: Vec<u8>,
}

/// Why a vault text could not be used. The wording is for users; none of it quotes plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The header or the hex layers are malformed (a truncated or hand-edited file).
    Malformed(&'static str),
    /// A cipher other than AES256 (the 1.0 format's `AES` is long gone from Ansible too).
    UnsupportedCipher(String),
    /// The HMAC does not match: a wrong password, or a modified ciphertext.
    HmacMismatch,
    /// The HMAC matched but the padding is wrong (only a forged text can do that).
    BadPadding,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Malformed(what) => {
                write!(
                    f,
                    "the vault data is malformed ({what}): it was damaged or modified"
                )
            }
            FormatError::UnsupportedCipher(c) => {
                write!(f, "the vault cipher '{c}' is not supported (only AES256)")
            }
            FormatError::HmacMismatch => write!(f, "HMAC verification failed"),
            FormatError::BadPadding => write!(f, "invalid padding after decryption"),
        }
    }
}

impl Envelope {
    /// Splits a vault text into header fields and body, as Ansible's
    /// `parse_vaulttext_envelope` does (surrounding whitespace on lines is tolerated, which
    /// matters for `!vault |` blocks copied with stray indentation).
    pub fn parse(data: &[u8]) -> Result<Envelope, FormatError> {
        let text = std::str::from_utf8(data)
            .map_err(|_| FormatError::Malformed("vault data must be ASCII"))?;
        let text = text.trim_start();
        let mut lines = text.lines();
        let header = lines
            .next()
            .ok_or(FormatError::Malformed("empty vault data"))?;
        let fields: Vec<&str> = header.trim().split(';').map(str::trim).collect();
        if fields.first() != Some(&HEADER) || fields.len() < 3 {
            return Err(FormatError::Malformed(
                "the header is not $ANSIBLE_VAULT;VERSION;CIPHER",
            ));
        }
        let version = fields[1].to_string();
        if !matches!(version.as_str(), "1.1" | "1.2") {
            return Err(FormatError::Malformed("unknown vault format version"));
        }
        let cipher = fields[2].to_string();
        if cipher != "AES256" {
            return Err(FormatError::UnsupportedCipher(cipher));
        }
        let vault_id = fields
            .get(3)
            .filter(|l| !l.is_empty())
            .map(|l| l.to_string());
        let body: Vec<u8> = lines.flat_map(|l| l.trim().bytes()).collect();
        if body.is_empty() {
            return Err(FormatError::Malformed("no ciphertext after the header"));
        }
        Ok(Envelope {
            version,
            cipher,
            vault_id,
            body,
        })
    }
}

/// The three parts inside the body.
struct Payload {
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn payload(env: &Envelope) -> Result<Payload, FormatError> {
    let inner = unhex(&env.body).ok_or(FormatError::Malformed("the body is not hex"))?;
    let mut parts = inner.splitn(3, |b| *b == b'\n');
    let (Some(salt), Some(hmac), Some(ct)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(FormatError::Malformed(
            "the body lacks salt, HMAC or ciphertext",
        ));
    };
    Ok(Payload {
        salt: unhex(salt).ok_or(FormatError::Malformed("the salt is not hex"))?,
        hmac: unhex(hmac).ok_or(FormatError::Malformed("the HMAC is not hex"))?,
        ciphertext: unhex(ct).ok_or(FormatError::Malformed("the ciphertext is not hex"))?,
    })
}

/// The AES key, the HMAC key and the initial counter block, from password and salt.
struct Keys {
    cipher: [u8; KEY_LEN],
    mac: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

impl Drop for Keys {
    fn drop(&mut self) {
        // Best effort: key material does not outlive its use in our memory.
        self.cipher.fill(0);
        self.mac.fill(0);
        self.iv.fill(0);
    }
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut out = [0u8; 2 * KEY_LEN + IV_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut out);
    let mut keys = Keys {
        cipher: [0; KEY_LEN],
        mac: [0; KEY_LEN],
        iv: [0; IV_LEN],
    };
    keys.cipher.copy_from_slice(&out[..KEY_LEN]);
    keys.mac.copy_from_slice(&out[KEY_LEN..2 * KEY_LEN]);
    keys.iv.copy_from_slice(&out[2 * KEY_LEN..]);
    out.fill(0);
    keys
}

fn hmac_of(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac
}

fn apply_ctr(keys: &Keys, buf: &mut [u8]) {
    let mut c = ctr::Ctr128BE::<Aes256>::new(&keys.cipher.into(), &keys.iv.into());
    c.apply_keystream(buf);
}

/// Decrypts a parsed vault text with one password. The HMAC is verified (constant time) before
/// decryption; on any failure nothing of the plaintext is returned.
pub fn decrypt(env: &Envelope, password: &[u8]) -> Result<Vec<u8>, FormatError> {
    let p = payload(env)?;
    let keys = derive(password, &p.salt);
    hmac_of(&keys.mac, &p.ciphertext)
        .verify_slice(&p.hmac)
        .map_err(|_| FormatError::HmacMismatch)?;
    let mut buf = p.ciphertext;
    apply_ctr(&keys, &mut buf);
    // PKCS#7: the last byte says how many bytes of padding (1..=16), all equal to it.
    let n = *buf.last().ok_or(FormatError::BadPadding)? as usize;
    if n == 0 || n > 16 || n > buf.len() || buf[buf.len() - n..].iter().any(|b| *b as usize != n) {
        buf.fill(0);
        return Err(FormatError::BadPadding);
    }
    buf.truncate(buf.len() - n);
    Ok(buf)
}

/// Encrypts with a fresh random salt. `vault_id` other than `default` gives the 1.2 format
/// with that label, as ansible-vault does; the result ends with a newline.
pub fn encrypt(plaintext: &[u8], password: &[u8], vault_id: Option<&str>) -> Vec<u8> {
    let mut salt = [0u8; SALT_LEN];
    // The OS random source failing is not something to carry on after with a weak salt.
    getrandom::fill(&mut salt).expect("the operating system's random source is available");
    encrypt_with_salt(plaintext, password, vault_id, &salt)
}

/// [`encrypt`] with a given salt (tests compare against ansible-vault's output with a fixed
/// `ANSIBLE_VAULT_ENCRYPT_SALT`).
pub fn encrypt_with_salt(
    plaintext: &[u8],
    password: &[u8],
    vault_id: Option<&str>,
    salt: &[u8],
) -> Vec<u8> {
    let keys = derive(password, salt);
    let pad = 16 - plaintext.len() % 16;
    let mut buf = Vec::with_capacity(plaintext.len() + pad);
    buf.extend_from_slice(plaintext);
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    apply_ctr(&keys, &mut buf);
    let tag = hmac_of(&keys.mac, &buf).finalize().into_bytes();
    let mut inner = hex(salt);
    inner.push(b'\n');
    inner.extend(hex(&tag));
    inner.push(b'\n');
    inner.extend(hex(&buf));
    let body = hex(&inner);
    let label = vault_id.filter(|l| !l.is_empty() && *l != "default");
    let mut out = match label {
        Some(l) => format!("{HEADER};1.2;AES256;{l}"),
        None => format!("{HEADER};1.1;AES256"),
    }
    .into_bytes();
    for chunk in body.chunks(LINE_WIDTH) {
        out.push(b'\n');
        out.extend_from_slice(chunk);
    }
    out.push(b'\n');
    out
}

fn hex(data: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(data.len() * 2);
    for b in data {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
    out
}

fn unhex(data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    data.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by ansible-vault 2.19 (`encrypt_string --vault-id dev@file 'hello'`, password
    /// `pw`), so this test pins the format without needing Python.
    const FROM_ANSIBLE: &str = "$ANSIBLE_VAULT;1.2;AES256;dev
65393063346561643536613839313831613464393334363666336432633666343534363631373537
6563353833633263306335386634616630643233653066310a613534663031373036303130366531
35373861323232633636643939303730623231646632303663633239313164643637633331623438
3331366433373032380a656339353134373162633438386333363064666434646461346338636237
3834
";

    #[test]
    fn decrypts_what_ansible_vault_wrote() {
        let env = Envelope::parse(FROM_ANSIBLE.as_bytes()).unwrap();
        assert_eq!(env.vault_id.as_deref(), Some("dev"));
        assert_eq!(env.version, "1.2");
        assert_eq!(decrypt(&env, b"pw").unwrap(), b"hello");
        assert_eq!(decrypt(&env, b"wrong"), Err(FormatError::HmacMismatch));
    }

    #[test]
    fn round_trips_all_lengths_and_formats() {
        for len in [0usize, 1, 15, 16, 17, 100] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for id in [None, Some("default"), Some("prod")] {
                let text = encrypt(&plain, "sécret".as_bytes(), id);
                let s = std::str::from_utf8(&text).unwrap();
                let header = s.lines().next().unwrap();
                match id {
                    Some("prod") => assert_eq!(header, "$ANSIBLE_VAULT;1.2;AES256;prod"),
                    _ => assert_eq!(header, "$ANSIBLE_VAULT;1.1;AES256"),
                }
                assert!(s.lines().skip(1).all(|l| l.len() <= 80));
                assert!(s.ends_with('\n'));
                let env = Envelope::parse(&text).unwrap();
                assert_eq!(decrypt(&env, "sécret".as_bytes()).unwrap(), plain);
            }
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_in_the_body_is_refused() {
        let text = encrypt(b"top secret", b"pw", None);
        let header_len = text.iter().position(|b| *b == b'\n').unwrap() + 1;
        for i in header_len..text.len() {
            if text[i] == b'\n' {
                continue;
            }
            let mut t = text.clone();
            // Another hex digit: the text stays well-formed, only the data changes.
            t[i] = if t[i] == b'0' { b'1' } else { b'0' };
            let result = Envelope::parse(&t).and_then(|e| decrypt(&e, b"pw"));
            assert!(result.is_err(), "byte {i} flipped but decryption succeeded");
        }
    }

    #[test]
    fn malformed_texts_are_errors_not_panics() {
        for bad in [
            "",
            "$ANSIBLE_VAULT",
            "$ANSIBLE_VAULT;1.1;AES256",
            "$ANSIBLE_VAULT;1.1;AES256\nzz",
            "$ANSIBLE_VAULT;1.1;AES256\n616263",
            "$ANSIBLE_VAULT;1.0;AES\n6162",
            "$ANSIBLE_VAULT;9.9;AES256\n6162",
        ] {
            let r = Envelope::parse(bad.as_bytes()).and_then(|e| decrypt(&e, b"pw"));
            assert!(r.is_err(), "{bad:?}");
        }
    }
}
