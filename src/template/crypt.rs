//! Digests and Unix crypt(3) password hashes for the `hash`, `checksum` and `password_hash`
//! filters and the password lookup.
//!
//! `password_hash` must give, for a fixed salt, the very string Ansible gives (through passlib):
//! users compare it with `/etc/shadow` to decide whether to change a password. That is
//! SHA-512-crypt and SHA-256-crypt as Ulrich Drepper specified them, and the old MD5-crypt, with
//! passlib's conventions: Ansible asks for 656000 (SHA-512) and 535000 (SHA-256) rounds when the
//! user gives none, and `rounds=` is written unless the count is the implicit 5000.

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// The hex digest of `data` under one of Python's `hashlib` names.
pub fn hexdigest(algorithm: &str, data: &[u8]) -> Option<String> {
    let bytes: Vec<u8> = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => md5::compute(data).0.to_vec(),
        "sha1" => Sha1::digest(data).to_vec(),
        "sha224" => Sha224::digest(data).to_vec(),
        "sha256" => Sha256::digest(data).to_vec(),
        "sha384" => Sha384::digest(data).to_vec(),
        "sha512" => Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The characters crypt(3) salts and hashes are written with.
pub const CRYPT_CHARS: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A crypt scheme baton can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Sha512,
    Sha256,
    Md5,
}

impl Scheme {
    /// From Ansible's names (`sha512`, `sha512_crypt`, ...).
    pub fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "sha512" | "sha512_crypt" => Some(Scheme::Sha512),
            "sha256" | "sha256_crypt" => Some(Scheme::Sha256),
            "md5" | "md5_crypt" => Some(Scheme::Md5),
            _ => None,
        }
    }

    /// How many salt characters a generated salt has (passlib's default).
    pub fn salt_size(self) -> usize {
        match self {
            Scheme::Sha512 | Scheme::Sha256 => 16,
            Scheme::Md5 => 8,
        }
    }

    /// The rounds Ansible asks for when the user gives none.
    pub fn ansible_rounds(self) -> Option<u32> {
        match self {
            Scheme::Sha512 => Some(656_000),
            Scheme::Sha256 => Some(535_000),
            Scheme::Md5 => None,
        }
    }
}

/// `crypt(password, salt)` for a scheme; `rounds` only for the SHA schemes.
pub fn crypt(
    scheme: Scheme,
    password: &[u8],
    salt: &str,
    rounds: Option<u32>,
) -> Result<String, String> {
    if let Some(bad) = salt.bytes().find(|c| !CRYPT_CHARS.contains(c)) {
        return Err(format!(
            "invalid characters in the salt: {:?} (only ./0-9A-Za-z are allowed)",
            bad as char
        ));
    }
    match scheme {
        Scheme::Sha512 => Ok(sha_crypt::<Sha512>(
            password,
            salt,
            rounds,
            "$6$",
            &SHA512_ORDER,
        )),
        Scheme::Sha256 => Ok(sha_crypt::<Sha256>(
            password,
            salt,
            rounds,
            "$5$",
            &SHA256_ORDER,
        )),
        Scheme::Md5 => {
            if salt.len() > 8 {
                return Err(format!(
                    "salt too large (md5_crypt requires <= 8 chars): {salt:?}"
                ));
            }
            Ok(md5_crypt(password, salt))
        }
    }
}

/// Byte triples of the final digest, in the order SHA-512-crypt encodes them; the last entry
/// is the lone final byte.
const SHA512_ORDER: [(usize, usize, usize); 22] = [
    (0, 21, 42),
    (22, 43, 1),
    (44, 2, 23),
    (3, 24, 45),
    (25, 46, 4),
    (47, 5, 26),
    (6, 27, 48),
    (28, 49, 7),
    (50, 8, 29),
    (9, 30, 51),
    (31, 52, 10),
    (53, 11, 32),
    (12, 33, 54),
    (34, 55, 13),
    (56, 14, 35),
    (15, 36, 57),
    (37, 58, 16),
    (59, 17, 38),
    (18, 39, 60),
    (40, 61, 19),
    (62, 20, 41),
    (usize::MAX, usize::MAX, 63),
];

const SHA256_ORDER: [(usize, usize, usize); 11] = [
    (0, 10, 20),
    (21, 1, 11),
    (12, 22, 2),
    (3, 13, 23),
    (24, 4, 14),
    (15, 25, 5),
    (6, 16, 26),
    (27, 7, 17),
    (18, 28, 8),
    (9, 19, 29),
    (usize::MAX, 31, 30),
];

/// Appends `n` characters encoding the 24-bit group `b2 b1 b0`, low bits first.
fn encode_group(out: &mut String, b2: u8, b1: u8, b0: u8, n: usize) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..n {
        out.push(CRYPT_CHARS[(w & 0x3f) as usize] as char);
        w >>= 6;
    }
}

fn encode_digest(digest: &[u8], order: &[(usize, usize, usize)]) -> String {
    let byte = |i: usize| if i == usize::MAX { 0 } else { digest[i] };
    let mut out = String::new();
    for &(a, b, c) in order {
        // A group with missing bytes carries fewer characters (2 for one byte, 3 for two).
        let n = match (a == usize::MAX, b == usize::MAX) {
            (true, true) => 2,
            (true, false) => 3,
            _ => 4,
        };
        encode_group(&mut out, byte(a), byte(b), byte(c), n);
    }
    out
}

/// `n` bytes made of `block` repeated.
fn repeat_to(block: &[u8], n: usize) -> Vec<u8> {
    block.iter().copied().cycle().take(n).collect()
}

/// SHA-crypt (Drepper, 2007) over any digest: SHA-256-crypt or SHA-512-crypt.
fn sha_crypt<D: Digest>(
    password: &[u8],
    salt: &str,
    rounds: Option<u32>,
    prefix: &str,
    order: &[(usize, usize, usize)],
) -> String {
    let salt = &salt.as_bytes()[..salt.len().min(16)];
    let rounds_n = rounds.unwrap_or(5000).clamp(1000, 999_999_999);
    let hash_len = <D as Digest>::output_size();

    let b = {
        let mut d = D::new();
        d.update(password);
        d.update(salt);
        d.update(password);
        d.finalize()
    };
    let a = {
        let mut d = D::new();
        d.update(password);
        d.update(salt);
        d.update(repeat_to(&b, password.len()));
        let mut n = password.len();
        while n > 0 {
            if n & 1 == 1 {
                d.update(&b);
            } else {
                d.update(password);
            }
            n >>= 1;
        }
        d.finalize()
    };
    let dp = {
        let mut d = D::new();
        for _ in 0..password.len() {
            d.update(password);
        }
        d.finalize()
    };
    let p = repeat_to(&dp, password.len());
    let ds = {
        let mut d = D::new();
        for _ in 0..(16 + usize::from(a[0])) {
            d.update(salt);
        }
        d.finalize()
    };
    let s = repeat_to(&ds, salt.len());

    let mut c = a.to_vec();
    for i in 0..rounds_n {
        let mut d = D::new();
        if i % 2 == 1 {
            d.update(&p);
        } else {
            d.update(&c);
        }
        if i % 3 != 0 {
            d.update(&s);
        }
        if i % 7 != 0 {
            d.update(&p);
        }
        if i % 2 == 1 {
            d.update(&c);
        } else {
            d.update(&p);
        }
        c = d.finalize().to_vec();
    }
    debug_assert_eq!(c.len(), hash_len);

    let mut out = String::from(prefix);
    if rounds_n != 5000 {
        out.push_str(&format!("rounds={rounds_n}$"));
    }
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    out.push_str(&encode_digest(&c, order));
    out
}

/// MD5-crypt (`$1$`), as FreeBSD and glibc compute it.
fn md5_crypt(password: &[u8], salt: &str) -> String {
    let salt = salt.as_bytes();
    let alt = {
        let mut c = md5::Context::new();
        c.consume(password);
        c.consume(salt);
        c.consume(password);
        c.finalize().0
    };
    let mut ctx = md5::Context::new();
    ctx.consume(password);
    ctx.consume(b"$1$");
    ctx.consume(salt);
    let mut pl = password.len();
    while pl > 0 {
        ctx.consume(&alt[..pl.min(16)]);
        pl = pl.saturating_sub(16);
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.consume([0u8]);
        } else {
            ctx.consume(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize().0;
    for i in 0..1000 {
        let mut c = md5::Context::new();
        if i & 1 == 1 {
            c.consume(password);
        } else {
            c.consume(fin);
        }
        if i % 3 != 0 {
            c.consume(salt);
        }
        if i % 7 != 0 {
            c.consume(password);
        }
        if i & 1 == 1 {
            c.consume(fin);
        } else {
            c.consume(password);
        }
        fin = c.finalize().0;
    }
    let mut out = format!("$1${}$", String::from_utf8_lossy(salt));
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        encode_group(&mut out, fin[a], fin[b], fin[c], 4);
    }
    encode_group(&mut out, 0, 0, fin[11], 2);
    out
}

/// Random bytes from the operating system.
pub fn os_random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("cannot get random bytes from the system: {e}"))
}

/// A uniformly random index below `n` from the operating system (like Python's SystemRandom).
pub fn os_random_below(n: usize) -> Result<usize, String> {
    if n <= 1 {
        return Ok(0);
    }
    // Rejection sampling keeps it uniform.
    let n64 = n as u64;
    let limit = u64::MAX - u64::MAX % n64;
    loop {
        let mut b = [0u8; 8];
        os_random(&mut b)?;
        let v = u64::from_le_bytes(b);
        if v < limit {
            return Ok((v % n64) as usize);
        }
    }
}

/// A random salt of crypt characters.
pub fn random_salt(len: usize) -> Result<String, String> {
    (0..len)
        .map(|_| os_random_below(64).map(|i| CRYPT_CHARS[i] as char))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from ansible-core 2.19 with passlib (password_hash filter) and from
    // Drepper's specification.
    #[test]
    fn sha512_crypt_matches_passlib() {
        assert_eq!(
            crypt(Scheme::Sha512, b"secret", "mysalt", Some(656_000)).unwrap(),
            "$6$rounds=656000$mysalt$cDA0t8lm/qt.LT6DzpoHxJ.NwTpx.WTkOPwhseSva8pRixDSH2./ffedCjAMbTX1Uo1QNT7jJPJ6FIzU2i59K/"
        );
        assert_eq!(
            crypt(Scheme::Sha512, b"secret", "mysalt", Some(10_000)).unwrap(),
            "$6$rounds=10000$mysalt$9XTP7570fxVN/uTspSrH6kRPdR4KKGzGz7.TmJjDYGrKSwZuavW/3YaLur8JX6WP75Czcxa.megIO0lKreY0R."
        );
        // Drepper's test vector (implicit 5000 rounds).
        assert_eq!(
            crypt(Scheme::Sha512, b"Hello world!", "saltstring", None).unwrap(),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
    }

    #[test]
    fn sha256_and_md5_crypt_match() {
        assert_eq!(
            crypt(Scheme::Sha256, b"secret", "mysalt", Some(535_000)).unwrap(),
            "$5$rounds=535000$mysalt$GnEktJhWXRuwViyPsEWK9s63HYW1GqXFqU5SdKDqol6"
        );
        assert_eq!(
            crypt(Scheme::Sha256, b"Hello world!", "saltstring", None).unwrap(),
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
        assert_eq!(
            crypt(Scheme::Md5, b"secret", "mysalt", None).unwrap(),
            "$1$mysalt$n/EfEiV74OYgBdqhKQzSW/"
        );
    }

    #[test]
    fn digests_and_bad_salts() {
        assert_eq!(
            hexdigest("sha1", b"secret").unwrap(),
            "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
        );
        assert_eq!(
            hexdigest("md5", b"secret").unwrap(),
            "5ebe2294ecd0e0f08eab7690d2a6ee69"
        );
        assert!(hexdigest("whirlpool", b"x").is_none());
        assert!(crypt(Scheme::Sha512, b"x", "bad salt!", None).is_err());
        let salt = random_salt(16).unwrap();
        assert_eq!(salt.len(), 16);
    }
}
