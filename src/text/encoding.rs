//! Python's `str.encode` for the encodings a template's `output_encoding` names: UTF-8, the
//! single-byte Latin-1 and Windows-1252, and ASCII. A character the encoding cannot hold is an
//! error, as Python's strict handler makes it.

/// Windows-1252's bytes 0x80-0x9F (the rest of its upper half is Latin-1); `None` is unused.
const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

/// `text.encode(encoding)`; the message is Python's when a character does not fit, and says
/// so when the encoding is not one baton knows.
pub fn encode(text: &str, encoding: &str) -> Result<Vec<u8>, String> {
    let name = encoding.trim().to_ascii_lowercase().replace('_', "-");
    let one_byte = |c: char| -> Option<u8> {
        match name.as_str() {
            "ascii" | "us-ascii" => (c as u32) < 0x80,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => (c as u32) < 0x100,
            _ => {
                if (c as u32) < 0x80 || (0xA0..0x100).contains(&(c as u32)) {
                    true
                } else {
                    return CP1252_HIGH
                        .iter()
                        .position(|h| *h == Some(c))
                        .map(|i| 0x80 + i as u8);
                }
            }
        }
        .then_some(c as u32 as u8)
    };
    match name.as_str() {
        "" | "utf-8" | "utf8" => Ok(text.as_bytes().to_vec()),
        "ascii" | "us-ascii" | "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1"
        | "windows-1252" | "cp1252" => text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                one_byte(c).ok_or_else(|| {
                    format!(
                        "'{encoding}' codec can't encode character '\\u{:04x}' in position {i}: character maps to <undefined>",
                        c as u32
                    )
                })
            })
            .collect(),
        _ => Err(format!("unknown encoding: {encoding}")),
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn single_byte_encodings_map_as_python() {
        assert_eq!(
            encode("a€é", "windows-1252").unwrap(),
            vec![b'a', 0x80, 0xE9]
        );
        assert_eq!(encode("é", "latin-1").unwrap(), vec![0xE9]);
        assert!(encode("€", "latin-1").is_err());
        assert_eq!(encode("é", "utf-8").unwrap(), "é".as_bytes());
    }
}
