//! Python's `random.Random`, bit for bit: the Mersenne Twister (MT19937) with CPython's seeding.
//!
//! Ansible's `random(seed=...)` and `shuffle(seed=...)` filters and the password lookup's `seed=`
//! are used to get values that are random-looking but stable per host (`59 | random(seed=
//! inventory_hostname)` for a cron minute). Playbooks rely on getting the *same* value as under
//! Ansible, so this reproduces CPython 3's `Random(seed)`: `init_by_array` over the seed's 32-bit
//! words, strings turned into an integer with their SHA-512 appended (seed version 2),
//! `getrandbits`, `_randbelow`, `randrange`, `choice` and `shuffle`.

use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

/// A seed as Python would see it.
pub enum Seed<'a> {
    Int(i128),
    Str(&'a str),
}

/// CPython's `random.Random`.
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    pub fn new(seed: Seed<'_>) -> PyRandom {
        // CPython: the absolute value of the integer, as 32-bit words, least significant first.
        let key: Vec<u32> = match seed {
            Seed::Int(i) => {
                let mut n = i.unsigned_abs();
                let mut words = Vec::new();
                while n > 0 {
                    words.push(n as u32);
                    n >>= 32;
                }
                words
            }
            Seed::Str(s) => {
                // Version 2 seeding: int.from_bytes(s + sha512(s), 'big').
                let mut bytes = s.as_bytes().to_vec();
                bytes.extend_from_slice(&Sha512::digest(s.as_bytes()));
                big_endian_bytes_to_words(&bytes)
            }
        };
        let key = if key.is_empty() { vec![0] } else { key };
        let mut r = PyRandom {
            mt: [0; N],
            index: N + 1,
        };
        r.init_by_array(&key);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        let mut k = N.max(key.len());
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = N - 1;
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            k -= 1;
        }
        self.mt[0] = 0x8000_0000;
    }

    fn genrand_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.index >= N {
            for kk in 0..N {
                let y = (self.mt[kk] & UPPER) | (self.mt[(kk + 1) % N] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `getrandbits(k)` for k up to 128.
    fn getrandbits(&mut self, k: u32) -> u128 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return u128::from(self.genrand_u32() >> (32 - k));
        }
        // Words are filled least significant first; the last one keeps only its top bits.
        let mut result: u128 = 0;
        let mut remaining = k;
        let mut shift = 0;
        while remaining > 0 {
            let mut r = self.genrand_u32();
            if remaining < 32 {
                r >>= 32 - remaining;
            }
            result |= u128::from(r) << shift;
            shift += 32;
            remaining = remaining.saturating_sub(32);
        }
        result
    }

    /// `_randbelow(n)`: uniform in `[0, n)`, by rejection sampling on `n.bit_length()` bits.
    pub fn randbelow(&mut self, n: u128) -> u128 {
        if n == 0 {
            return 0;
        }
        let k = 128 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`; `None` for an empty range or a zero step.
    pub fn randrange(&mut self, start: i128, stop: i128, step: i128) -> Option<i128> {
        let width = stop.checked_sub(start)?;
        if step == 1 {
            if width <= 0 {
                return None;
            }
            return Some(start + self.randbelow(width as u128) as i128);
        }
        let n = match step {
            0 => return None,
            s if s > 0 => (width + s - 1).div_euclid(s),
            s => (width + s + 1).div_euclid(s),
        };
        if n <= 0 {
            return None;
        }
        Some(start + step * self.randbelow(n as u128) as i128)
    }

    /// `shuffle(list)`: Fisher-Yates from the end, as CPython does it.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u128 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The 32-bit words of a big-endian unsigned integer, least significant word first.
fn big_endian_bytes_to_words(bytes: &[u8]) -> Vec<u32> {
    let mut words = Vec::with_capacity(bytes.len() / 4 + 1);
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(4);
        let mut w = 0u32;
        for b in &bytes[start..end] {
            w = (w << 8) | u32::from(*b);
        }
        words.push(w);
        end = start;
    }
    // Python's int drops leading zero bytes; trailing zero words would change init_by_array.
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from CPython 3.11: random.Random(seed).
    #[test]
    fn matches_cpython_for_int_and_str_seeds() {
        let mut r = PyRandom::new(Seed::Int(42));
        assert_eq!(r.randrange(0, 60, 1), Some(40));
        let mut r = PyRandom::new(Seed::Int(0));
        assert_eq!(r.randrange(0, 60, 1), Some(54));
        let mut r = PyRandom::new(Seed::Str("web1"));
        assert_eq!(r.randrange(0, 100, 1), Some(41));
        let mut r = PyRandom::new(Seed::Str("big"));
        assert_eq!(r.randrange(0, 1_000_000_000_000, 1), Some(608_018_280_422));
        let mut r = PyRandom::new(Seed::Str("s"));
        assert_eq!(r.randrange(10, 100, 10), Some(80));
    }

    #[test]
    fn shuffle_matches_cpython() {
        let mut items: Vec<char> = "abcdefgh".chars().collect();
        PyRandom::new(Seed::Str("mix")).shuffle(&mut items);
        assert_eq!(items.iter().collect::<String>(), "fcdeabhg");
        let mut items: Vec<char> = "abcdefgh".chars().collect();
        PyRandom::new(Seed::Int(7)).shuffle(&mut items);
        assert_eq!(items.iter().collect::<String>(), "ghceadbf");
    }
}
