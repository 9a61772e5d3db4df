//! The `.npy` format (NumPy's format version 1.0–3.0) for spin data sets, read defensively.
//!
//! Reading checks, in this order and before allocating anything sized by the input: the magic
//! string, the format version, the header length (at most [`MAX_HEADER_LEN`] bytes), the header's
//! dictionary (`descr`, `fortran_order`, `shape`), the dtype (integers of 1, 2, 4 or 8 bytes and
//! floats of 4 or 8 bytes, either byte order), C order, and that the data the shape claims is
//! exactly the data the input holds. Only then is the output (one byte per value) allocated, and
//! only if it fits the caller's byte limit. Values are decoded in fixed-size chunks, so a
//! multi-byte dtype never needs a buffer of its own size.
//!
//! Writing produces a version 1.0 file of `|i1` values in C order with a 64-byte aligned header,
//! as NumPy writes it.

use std::io::{Read, Write};

use crate::error::{Error, Result};

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The longest header accepted, in bytes (NumPy itself refuses headers over 10,000 bytes by default).
pub const MAX_HEADER_LEN: usize = 1 << 16;

/// Bytes decoded per chunk while reading data.
const CHUNK: usize = 1 << 16;

/// An element type of an `.npy` file that data sets may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Signed integer of this many bytes (1, 2, 4, 8).
    Int(usize),
    /// Unsigned integer of this many bytes (1, 2, 4, 8).
    Uint(usize),
    /// IEEE float of this many bytes (4, 8).
    Float(usize),
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Int(n) | Dtype::Uint(n) | Dtype::Float(n) => n,
        }
    }
}

/// A checked `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: Dtype,
    /// Whether multi-byte elements are big-endian.
    pub big_endian: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Bytes before the data (magic, version, length field and header).
    pub data_offset: usize,
}

impl NpyHeader {
    /// Number of elements the shape claims (`None` on overflow).
    pub fn elements(&self) -> Option<u128> {
        self.shape.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))
    }

    /// Data bytes the header claims, saturated at `u128::MAX`.
    pub fn data_bytes(&self) -> u128 {
        self.elements().and_then(|n| n.checked_mul(self.dtype.size() as u128)).unwrap_or(u128::MAX)
    }
}

/// A `.npy` array of unit values (`-1`, `0`, `1`), one byte each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitArray {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The values, C order.
    pub values: Vec<i8>,
}

fn format_err(reason: impl Into<String>) -> Error {
    Error::NpyFormat { reason: reason.into() }
}

pub(crate) fn io_err(what: &'static str, e: std::io::Error) -> Error {
    Error::Io { what, kind: e.kind(), message: e.to_string() }
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format_err(format!("the input ends inside the {what}"))
        } else {
            io_err("reading .npy data", e)
        }
    })
}

/// Read and check the header from the start of `reader`, leaving it at the first data byte.
pub fn read_header<R: Read>(reader: &mut R) -> Result<NpyHeader> {
    let mut start = [0u8; 8];
    read_exact_or(reader, &mut start, "magic string and version")?;
    if &start[..6] != MAGIC {
        return Err(format_err("it does not start with the .npy magic string"));
    }
    let (major, minor) = (start[6], start[7]);
    let (len, prefix) = match (major, minor) {
        (1, 0) => {
            let mut b = [0u8; 2];
            read_exact_or(reader, &mut b, "header length")?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        (2, 0) | (3, 0) => {
            let mut b = [0u8; 4];
            read_exact_or(reader, &mut b, "header length")?;
            let len = u32::from_le_bytes(b) as u64;
            if len > MAX_HEADER_LEN as u64 {
                return Err(format_err(format!(
                    "the header claims {len} bytes; at most {MAX_HEADER_LEN} are accepted"
                )));
            }
            (len as usize, 12)
        }
        _ => return Err(format_err(format!("unsupported format version {major}.{minor}"))),
    };
    if len > MAX_HEADER_LEN {
        return Err(format_err(format!(
            "the header claims {len} bytes; at most {MAX_HEADER_LEN} are accepted"
        )));
    }
    let mut text = vec![0u8; len];
    read_exact_or(reader, &mut text, "header")?;
    let text = std::str::from_utf8(&text).map_err(|_| format_err("the header is not text"))?;
    let dict = parse_dict(text)?;
    let (dtype, big_endian) = parse_descr(&dict.descr)?;
    Ok(NpyHeader { dtype, big_endian, shape: dict.shape, data_offset: prefix + len })
}

struct Dict {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A small parser for the header's Python dictionary literal.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format_err(format!("malformed header: expected `{}` at byte {}", c as char, self.i)))
        }
    }
    fn string(&mut self) -> Result<String> {
        let q = self.peek().ok_or_else(|| format_err("malformed header: it ends early"))?;
        if q != b'\'' && q != b'"' {
            return Err(format_err(format!("malformed header: expected a string at byte {}", self.i)));
        }
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        if self.i == self.s.len() {
            return Err(format_err("malformed header: unterminated string"));
        }
        let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(v)
    }
    fn word(&mut self) -> &'a [u8] {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_alphanumeric() {
            self.i += 1;
        }
        &self.s[start..self.i]
    }
    fn boolean(&mut self) -> Result<bool> {
        match self.word() {
            b"True" => Ok(true),
            b"False" => Ok(false),
            _ => Err(format_err("malformed header: fortran_order must be True or False")),
        }
    }
    fn shape(&mut self) -> Result<Vec<usize>> {
        self.expect(b'(')?;
        let mut shape = Vec::new();
        loop {
            if self.peek() == Some(b')') {
                self.i += 1;
                return Ok(shape);
            }
            let w = self.word();
            let text = std::str::from_utf8(w).unwrap_or("");
            let d: usize = text
                .parse()
                .map_err(|_| format_err(format!("malformed header: shape entry `{text}` is not a size")))?;
            if shape.len() == 32 {
                return Err(format_err("malformed header: more than 32 dimensions"));
            }
            shape.push(d);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {}
                _ => return Err(format_err("malformed header: bad shape tuple")),
            }
        }
    }
}

fn parse_dict(text: &str) -> Result<Dict> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if p.peek() == Some(b'}') {
            p.i += 1;
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" if descr.is_none() => descr = Some(p.string()?),
            "fortran_order" if fortran.is_none() => fortran = Some(p.boolean()?),
            "shape" if shape.is_none() => shape = Some(p.shape()?),
            other => {
                return Err(format_err(format!("malformed header: unexpected or repeated key {other:?}")))
            }
        }
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            _ => return Err(format_err("malformed header: expected `,` or `}`")),
        }
    }
    if p.s[p.i..].iter().any(|c| !(*c as char).is_ascii_whitespace()) {
        return Err(format_err("malformed header: text after the dictionary"));
    }
    let dict = Dict {
        descr: descr.ok_or_else(|| format_err("the header has no descr"))?,
        fortran_order: fortran.ok_or_else(|| format_err("the header has no fortran_order"))?,
        shape: shape.ok_or_else(|| format_err("the header has no shape"))?,
    };
    if dict.fortran_order {
        return Err(format_err(
            "Fortran-ordered arrays are not supported (save a C-ordered array, e.g. numpy.ascontiguousarray)",
        ));
    }
    Ok(dict)
}

fn parse_descr(descr: &str) -> Result<(Dtype, bool)> {
    let bad = || Error::NpyDtype { descr: descr.to_string() };
    let b = descr.as_bytes();
    if b.len() != 3 {
        return Err(bad());
    }
    let size = match b[2] {
        b'1' => 1,
        b'2' => 2,
        b'4' => 4,
        b'8' => 8,
        _ => return Err(bad()),
    };
    let dtype = match b[1] {
        b'i' => Dtype::Int(size),
        b'u' => Dtype::Uint(size),
        b'f' if size >= 4 => Dtype::Float(size),
        _ => return Err(bad()),
    };
    let big = match b[0] {
        b'<' => false,
        b'>' => true,
        b'=' => cfg!(target_endian = "big"),
        b'|' if size == 1 => false,
        _ => return Err(bad()),
    };
    Ok((dtype, big))
}

fn decode(chunk: &[u8], dtype: Dtype, big: bool, first_index: usize, out: &mut Vec<i8>) -> Result<()> {
    if dtype == Dtype::Int(1) {
        // The format `sample` writes: one pass to check (-1, 0, 1 are 255, 0, 1), one to copy.
        // A count runs at the vector width; the search only names the first bad value.
        if chunk.iter().filter(|&&b| b.wrapping_add(1) > 2).count() > 0 {
            let k = chunk.iter().position(|&b| b.wrapping_add(1) > 2).expect("a bad value was counted");
            return Err(Error::NotAUnitValue { index: first_index + k, value: f64::from(chunk[k] as i8) });
        }
        out.extend(chunk.iter().map(|&b| b as i8));
        return Ok(());
    }
    let size = dtype.size();
    for (k, e) in chunk.chunks_exact(size).enumerate() {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(e);
        if big {
            b[..size].reverse();
        }
        let value: f64 = match dtype {
            Dtype::Int(1) => e[0] as i8 as f64,
            Dtype::Int(2) => i16::from_le_bytes([b[0], b[1]]) as f64,
            Dtype::Int(4) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Dtype::Int(_) => i64::from_le_bytes(b) as f64,
            Dtype::Uint(_) => u64::from_le_bytes(b) as f64,
            Dtype::Float(4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Dtype::Float(_) => f64::from_le_bytes(b),
        };
        let unit = if value == 1.0 {
            1
        } else if value == -1.0 {
            -1
        } else if value == 0.0 {
            0
        } else {
            return Err(Error::NotAUnitValue { index: first_index + k, value });
        };
        out.push(unit);
    }
    Ok(())
}

/// Read an `.npy` array of unit values (`-1`, `0`, `1` in any supported dtype) from `reader`,
/// which holds exactly `input_len` bytes (the file's length). The output (one byte per value)
/// must fit in `limit` bytes. Nothing sized by the input is allocated before the header has been
/// checked against `input_len` and the output against `limit`.
pub fn read_units<R: Read>(mut reader: R, input_len: u64, limit: u64) -> Result<UnitArray> {
    let header = read_header(&mut reader)?;
    let actual = input_len
        .checked_sub(header.data_offset as u64)
        .ok_or_else(|| format_err(format!("the input ({input_len} bytes) is shorter than its own header")))?;
    let expected = header.data_bytes();
    if expected != actual as u128 {
        return Err(Error::NpyLength { shape: header.shape, expected, actual });
    }
    let elements = header.elements().unwrap_or(u128::MAX);
    if elements > limit as u128 {
        return Err(Error::OverMemoryLimit { what: "the data set", bytes: elements, limit });
    }
    let elements = elements as usize;
    let mut values = Vec::with_capacity(elements);
    let mut buf = vec![0u8; CHUNK];
    let mut remaining = actual as usize;
    while remaining > 0 {
        let n = remaining.min(CHUNK);
        read_exact_or(&mut reader, &mut buf[..n], "data")?;
        decode(&buf[..n], header.dtype, header.big_endian, values.len(), &mut values)?;
        remaining -= n;
    }
    debug_assert_eq!(values.len(), elements);
    // Anything after the claimed data means the length given by the caller was wrong.
    let mut extra = [0u8; 1];
    match reader.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => {
            return Err(format_err(format!(
                "the input is longer than the {input_len} bytes it was said to hold"
            )))
        }
        Err(e) => return Err(io_err("reading .npy data", e)),
    }
    Ok(UnitArray { shape: header.shape, values })
}

/// [`read_units`] on a byte slice.
pub fn units_from_bytes(bytes: &[u8], limit: u64) -> Result<UnitArray> {
    read_units(bytes, bytes.len() as u64, limit)
}

/// The header text of a C-ordered array of the given dtype descriptor and shape, padded so that
/// the data starts at a multiple of 64 bytes, with the version 1.0 prefix.
fn header_bytes(descr: &str, shape: &[usize]) -> Result<Vec<u8>> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let len =
        u16::try_from(dict.len()).map_err(|_| format_err("too many dimensions for a version 1.0 header"))?;
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    Ok(out)
}

/// Write `values` (any `i8`, C order) as an `|i1` `.npy` array of the given shape.
pub fn write_i8<W: Write>(mut writer: W, shape: &[usize], values: &[i8]) -> Result<()> {
    let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if elements != Some(values.len()) {
        return Err(Error::ConfigurationLength { len: values.len(), sites: elements.unwrap_or(usize::MAX) });
    }
    let header = header_bytes("|i1", shape)?;
    writer.write_all(&header).map_err(|e| io_err("writing .npy data", e))?;
    for chunk in values.chunks(CHUNK) {
        let bytes: Vec<u8> = chunk.iter().map(|&v| v as u8).collect();
        writer.write_all(&bytes).map_err(|e| io_err("writing .npy data", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
        let mut v = header_bytes(descr, shape).unwrap();
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn round_trip_and_alignment() {
        let mut out = Vec::new();
        write_i8(&mut out, &[2, 3], &[1, -1, 1, -1, -1, 1]).unwrap();
        let header = read_header(&mut &out[..]).unwrap();
        assert_eq!(header.data_offset % 64, 0);
        assert_eq!(header.shape, vec![2, 3]);
        let a = units_from_bytes(&out, 1 << 20).unwrap();
        assert_eq!(a.values, vec![1, -1, 1, -1, -1, 1]);
        let mut one = Vec::new();
        write_i8(&mut one, &[4], &[0, 1, 0, 1]).unwrap();
        assert_eq!(units_from_bytes(&one, 100).unwrap().shape, vec![4]);
    }

    #[test]
    fn every_dtype_decodes() {
        let vals = [1.0f64, -1.0, 0.0, 1.0];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("<i2", vals.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect()),
            (">i4", vals.iter().flat_map(|&v| (v as i32).to_be_bytes()).collect()),
            ("<i8", vals.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect()),
            ("<f4", vals.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()),
            (">f8", vals.iter().flat_map(|&v| v.to_be_bytes()).collect()),
        ];
        for (descr, data) in cases {
            let a = units_from_bytes(&file(descr, &[2, 2], &data), 100).unwrap();
            assert_eq!(a.values, vec![1, -1, 0, 1], "{descr}");
        }
        let u = file("|u1", &[1, 2], &[1, 0]);
        assert_eq!(units_from_bytes(&u, 100).unwrap().values, vec![1, 0]);
        let two = file("<i2", &[1, 1], &2i16.to_le_bytes());
        assert!(matches!(units_from_bytes(&two, 100), Err(Error::NotAUnitValue { index: 0, .. })));
        let half = file("<f4", &[1, 1], &0.5f32.to_le_bytes());
        assert!(matches!(units_from_bytes(&half, 100), Err(Error::NotAUnitValue { .. })));
    }

    #[test]
    fn lying_headers_are_refused_before_allocating() {
        // A 1 KB file claiming 10^12 × 8 × 8 values.
        let lie = file("|i1", &[1_000_000_000_000, 8, 8], &[1; 900]);
        assert!(matches!(units_from_bytes(&lie, u64::MAX), Err(Error::NpyLength { .. })));
        let over = file("|i1", &[10, 10], &[1; 100]);
        assert!(matches!(units_from_bytes(&over, 99), Err(Error::OverMemoryLimit { .. })));
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(units_from_bytes(&v2, u64::MAX), Err(Error::NpyFormat { .. })));
        for bad in ["<c8", "<U1", "|b1", "<f2", "O", "<i3", "|i2"] {
            let f = file(bad, &[1, 1], &[0; 8]);
            assert!(matches!(units_from_bytes(&f, 100), Err(Error::NpyDtype { .. })), "{bad}");
        }
        let mut fortran = file("|i1", &[1, 1], &[1]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert!(matches!(units_from_bytes(&fortran, 100), Err(Error::NpyFormat { .. })));
    }
}
