//! Python's `str.encode` for the encodings a template's `output_encoding` names: UTF-8, the
//! single-byte Latin-1 and Windows-1252, and ASCII. A character the encoding cannot hold is an
//! error, as Python's strict handler makes it. UTF-16 (`utf-16-le`, `utf-16-be`, `utf-16` with
//! its byte order mark) too, both ways, for the `b64encode`/`b64decode` filters' `encoding`.

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
    if let Some((bom, big)) = utf16(&name) {
        let mut out: Vec<u8> = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for unit in text.encode_utf16() {
            out.extend(if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        return Ok(out);
    }
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

/// A UTF-16 encoding's name: (whether it writes a byte order mark, whether it is big-endian).
fn utf16(name: &str) -> Option<(bool, bool)> {
    match name {
        "utf-16" | "utf16" => Some((true, false)),
        "utf-16-le" | "utf-16le" => Some((false, false)),
        "utf-16-be" | "utf-16be" => Some((false, true)),
        _ => None,
    }
}

/// `data.decode(encoding)` with Python's strict handler, for UTF-8, UTF-16, Latin-1 and
/// ASCII.
pub fn decode(data: &[u8], encoding: &str) -> Result<String, String> {
    let name = encoding.trim().to_ascii_lowercase().replace('_', "-");
    if let Some((bom, mut big)) = utf16(&name) {
        let mut data = data;
        if bom {
            if let Some(rest) = data.strip_prefix(&[0xFF, 0xFE]) {
                data = rest;
            } else if let Some(rest) = data.strip_prefix(&[0xFE, 0xFF]) {
                data = rest;
                big = true;
            }
        }
        if !data.len().is_multiple_of(2) {
            return Err(format!("'{encoding}' codec can't decode: truncated data"));
        }
        let units = data.chunks(2).map(|c| {
            let pair = [c[0], c[1]];
            if big {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        });
        return char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| format!("'{encoding}' codec can't decode: illegal UTF-16 surrogate"));
    }
    match name.as_str() {
        "" | "utf-8" | "utf8" => String::from_utf8(data.to_vec()).map_err(|e| {
            format!(
                "'utf-8' codec can't decode byte at position {}",
                e.utf8_error().valid_up_to()
            )
        }),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => {
            Ok(data.iter().map(|b| *b as char).collect())
        }
        "ascii" | "us-ascii" => match data.iter().position(|b| *b >= 0x80) {
            Some(i) => Err(format!(
                "'ascii' codec can't decode byte 0x{:02x} in position {i}: ordinal not in range(128)",
                data[i]
            )),
            None => Ok(data.iter().map(|b| *b as char).collect()),
        },
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
