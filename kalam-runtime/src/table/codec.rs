//! The value codecs behind `#[derive(KalamTable)]`: order-preserving key parts and a compact
//! row encoding, for every column type.
//!
//! **Keys** compare byte-wise in the order of the values they encode: unsigned integers
//! big-endian; signed integers big-endian with the sign bit flipped; floats by their total
//! order (NaN last); strings and bytes with `0x00` escaped as `0x00 0xFF` and terminated by
//! `0x00 0x00`, so that a prefix sorts before its extensions; `None` before any `Some`.
//!
//! **Rows** are compact and quick to read: numbers little-endian at their natural width,
//! strings and bytes as a LEB128 length then the bytes, `Option` as a tag byte then the
//! value.

use super::DecodeError;

/// A column type that can be part of a storage key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a KalamTable primary key",
    note = "key columns are integers, bool, floats, String, Vec<u8>, or types that implement \
            kalam::KeyPart (a newtype can delegate to its inner value)"
)]
pub trait KeyPart: Sized {
    /// Bytes [`encode_key`](Self::encode_key) will write, to size the buffer once.
    fn key_len(&self) -> usize;
    /// Appends the order-preserving encoding.
    fn encode_key(&self, out: &mut Vec<u8>);
    /// Reads a value back from the front of `input`, advancing it.
    ///
    /// # Errors
    ///
    /// If the bytes are truncated or not an encoding of this type.
    fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

/// A column type that can be stored in a row.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a KalamTable column",
    note = "columns are integers, bool, floats, String, Vec<u8>, Option of those, or types that \
            implement kalam::RowValue (and kalam::ArrowColumn with the `arrow` feature); \
            or mark the field #[column(skip)]"
)]
pub trait RowValue: Sized {
    /// Whether the encoding starts with a tag byte saying whether a value follows: `Option`
    /// only, so that a column that cannot be null costs no byte for it.
    const OPTIONAL: bool = false;
    /// Bytes [`encode_row`](Self::encode_row) will write.
    fn row_len(&self) -> usize;
    /// Appends the row encoding.
    fn encode_row(&self, out: &mut Vec<u8>);
    /// Reads a value back from the front of `input`, advancing it.
    ///
    /// # Errors
    ///
    /// If the bytes are truncated or not an encoding of this type.
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

/// Takes `N` bytes from the front of `input`.
#[inline]
fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let Some((head, rest)) = input.split_first_chunk::<N>() else {
        return Err(DecodeError::Truncated {
            needed: N,
            remaining: input.len(),
        });
    };
    *input = rest;
    Ok(*head)
}

/// Takes `len` bytes from the front of `input`.
#[inline]
fn take_slice<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < len {
        return Err(DecodeError::Truncated {
            needed: len,
            remaining: input.len(),
        });
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

/// A fixed-width key part: `$to` maps the value onto an unsigned integer whose big-endian
/// bytes sort as the values do, `$from` maps it back.
macro_rules! ordered_key {
    ($t:ty => $u:ty, |$v:ident| $to:expr, |$w:ident| $from:expr) => {
        impl KeyPart for $t {
            #[inline]
            fn key_len(&self) -> usize {
                size_of::<$t>()
            }
            #[inline]
            fn encode_key(&self, out: &mut Vec<u8>) {
                let $v = *self;
                let ordered: $u = $to;
                out.extend_from_slice(&ordered.to_be_bytes());
            }
            #[inline]
            fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError> {
                let $w = <$u>::from_be_bytes(take(input)?);
                Ok($from)
            }
        }
    };
}

macro_rules! unsigned {
    ($($t:ty),*) => {$( ordered_key!($t => $t, |v| v, |u| u); )*};
}
unsigned!(u8, u16, u32, u64, u128);

// Flipping the sign bit maps MIN..=MAX onto 0..=MAX of the unsigned type.
macro_rules! signed {
    ($($t:ty => $u:ty),*) => {$(
        ordered_key!(
            $t => $u,
            |v| (v as $u) ^ (1 << (<$u>::BITS - 1)),
            |u| (u ^ (1 << (<$u>::BITS - 1))) as $t
        );
    )*};
}
signed!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

// IEEE 754 total order: negative values have every bit flipped (so that larger magnitudes
// sort first), positive ones only the sign bit.
macro_rules! float {
    ($($t:ty => $u:ty),*) => {$(
        ordered_key!(
            $t => $u,
            |v| {
                let (bits, sign) = (v.to_bits(), 1 << (<$u>::BITS - 1));
                if bits & sign != 0 { !bits } else { bits | sign }
            },
            |u| {
                let sign = 1 << (<$u>::BITS - 1);
                <$t>::from_bits(if u & sign != 0 { u & !sign } else { !u })
            }
        );
    )*};
}
float!(f32 => u32, f64 => u64);

/// Numbers in rows: little-endian at their natural width.
macro_rules! fixed_row {
    ($($t:ty),*) => {$(
        impl RowValue for $t {
            #[inline]
            fn row_len(&self) -> usize {
                size_of::<$t>()
            }
            #[inline]
            fn encode_row(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(take(input)?))
            }
        }
    )*};
}
fixed_row!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

impl KeyPart for bool {
    #[inline]
    fn key_len(&self) -> usize {
        1
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    #[inline]
    fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_bool(input)
    }
}

impl RowValue for bool {
    #[inline]
    fn row_len(&self) -> usize {
        1
    }
    #[inline]
    fn encode_row(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    #[inline]
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_bool(input)
    }
}

fn decode_bool(input: &mut &[u8]) -> Result<bool, DecodeError> {
    match take::<1>(input)? {
        [0] => Ok(false),
        [1] => Ok(true),
        [other] => Err(DecodeError::InvalidTag(other)),
    }
}

/// Escaped length of `bytes` in a key: each NUL becomes two bytes, plus the terminator.
#[inline]
fn escaped_len(bytes: &[u8]) -> usize {
    bytes.len() + bytes.iter().filter(|&&b| b == 0).count() + 2
}

#[inline]
fn encode_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(nul) = rest.iter().position(|&b| b == 0) {
        out.extend_from_slice(&rest[..nul]);
        out.extend_from_slice(&[0x00, 0xFF]);
        rest = &rest[nul + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(&[0x00, 0x00]);
}

fn decode_escaped(input: &mut &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = *input;
    loop {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(DecodeError::Truncated {
                needed: 2,
                remaining: 0,
            });
        };
        out.extend_from_slice(&rest[..nul]);
        match rest.get(nul + 1) {
            Some(0x00) => {
                *input = &rest[nul + 2..];
                return Ok(out);
            }
            Some(0xFF) => {
                out.push(0);
                rest = &rest[nul + 2..];
            }
            Some(&other) => return Err(DecodeError::InvalidTag(other)),
            None => {
                return Err(DecodeError::Truncated {
                    needed: 1,
                    remaining: 0,
                });
            }
        }
    }
}

/// LEB128, the length prefix of strings and bytes in rows.
#[inline]
fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

#[inline]
fn encode_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn decode_varint(input: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let [byte] = take::<1>(input)?;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            // One encoding per length: a zero last byte after the first is overlong.
            if byte == 0 && shift > 0 {
                return Err(DecodeError::InvalidLength);
            }
            return Ok(value);
        }
    }
    Err(DecodeError::InvalidLength)
}

/// Bytes in a row: a LEB128 length, then the bytes.
#[inline]
fn bytes_row_len(bytes: &[u8]) -> usize {
    varint_len(bytes.len() as u64) + bytes.len()
}

#[inline]
fn encode_bytes_row(bytes: &[u8], out: &mut Vec<u8>) {
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn decode_bytes_row<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = decode_varint(input)?;
    // A length longer than what is left is corrupt: fail before allocating for it.
    let len = usize::try_from(len).map_err(|_| DecodeError::InvalidLength)?;
    take_slice(input, len)
}

/// Appends `bytes` as [`RowValue`] encodes a `String` or `Vec<u8>` (a LEB128 length, then
/// the bytes), without owning them: for rows whose columns are only known at run time.
pub fn write_row_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    encode_bytes_row(bytes, out);
}

/// Reads what [`write_row_bytes`] wrote, borrowing it from `input`, and advances `input`.
///
/// # Errors
///
/// If the length prefix is corrupt or longer than what is left.
pub fn read_row_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    decode_bytes_row(input)
}

/// The key length of `text`, as [`KeyPart`] encodes a `String`, without owning it.
#[must_use]
pub fn str_key_len(text: &str) -> usize {
    escaped_len(text.as_bytes())
}

/// Appends `text` as [`KeyPart`] encodes a `String`, without owning it.
pub fn write_str_key(text: &str, out: &mut Vec<u8>) {
    encode_escaped(text.as_bytes(), out);
}

impl KeyPart for String {
    #[inline]
    fn key_len(&self) -> usize {
        KeyArg::key_len(self.as_str())
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        KeyArg::encode_key(self.as_str(), out);
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(decode_escaped(input)?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl RowValue for String {
    #[inline]
    fn row_len(&self) -> usize {
        bytes_row_len(self.as_bytes())
    }
    #[inline]
    fn encode_row(&self, out: &mut Vec<u8>) {
        encode_bytes_row(self.as_bytes(), out);
    }
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = decode_bytes_row(input)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl KeyPart for Vec<u8> {
    #[inline]
    fn key_len(&self) -> usize {
        KeyArg::key_len(self.as_slice())
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        KeyArg::encode_key(self.as_slice(), out);
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_escaped(input)
    }
}

/// What the generated `key_for` and `key_prefix_*` functions take for a primary-key
/// column: `&str` for a `String`, `&[u8]` for a `Vec<u8>` (as a hand-written API would), and
/// `&T` for any other [`KeyPart`]. Encodes exactly as the column's `KeyPart` does.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a KalamTable primary key",
    note = "key columns are integers, bool, floats, String, Vec<u8>, or types that implement \
            kalam::KeyPart (a newtype can delegate to its inner value)"
)]
pub trait KeyArg {
    /// As [`KeyPart::key_len`].
    fn key_len(&self) -> usize;
    /// As [`KeyPart::encode_key`].
    fn encode_key(&self, out: &mut Vec<u8>);
}

impl<T: KeyPart> KeyArg for T {
    #[inline]
    fn key_len(&self) -> usize {
        KeyPart::key_len(self)
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        KeyPart::encode_key(self, out);
    }
}

impl KeyArg for str {
    #[inline]
    fn key_len(&self) -> usize {
        str_key_len(self)
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        write_str_key(self, out);
    }
}

impl KeyArg for [u8] {
    #[inline]
    fn key_len(&self) -> usize {
        escaped_len(self)
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_escaped(self, out);
    }
}

impl RowValue for Vec<u8> {
    #[inline]
    fn row_len(&self) -> usize {
        bytes_row_len(self)
    }
    #[inline]
    fn encode_row(&self, out: &mut Vec<u8>) {
        encode_bytes_row(self, out);
    }
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_bytes_row(input).map(<[u8]>::to_vec)
    }
}

/// `Option` in keys and rows alike: a tag byte (`0` none, `1` some), then the value. In a
/// key, `None` therefore sorts before every `Some`.
#[inline]
fn encode_option<T>(value: Option<&T>, out: &mut Vec<u8>, encode: impl FnOnce(&T, &mut Vec<u8>)) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            encode(value, out);
        }
    }
}

/// Reads an `Option`'s tag byte: whether a value follows.
#[inline]
pub(super) fn option_tag(input: &mut &[u8]) -> Result<bool, DecodeError> {
    match take::<1>(input)? {
        [0] => Ok(false),
        [1] => Ok(true),
        [other] => Err(DecodeError::InvalidTag(other)),
    }
}

fn decode_option<T>(
    input: &mut &[u8],
    decode: impl FnOnce(&mut &[u8]) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    if option_tag(input)? {
        decode(input).map(Some)
    } else {
        Ok(None)
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    #[inline]
    fn key_len(&self) -> usize {
        1 + self.as_ref().map_or(0, KeyPart::key_len)
    }
    #[inline]
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_option(self.as_ref(), out, T::encode_key);
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_option(input, T::decode_key)
    }
}

impl<T: RowValue> RowValue for Option<T> {
    const OPTIONAL: bool = true;
    #[inline]
    fn row_len(&self) -> usize {
        1 + self.as_ref().map_or(0, RowValue::row_len)
    }
    #[inline]
    fn encode_row(&self, out: &mut Vec<u8>) {
        encode_option(self.as_ref(), out, T::encode_row);
    }
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_option(input, T::decode_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key<T: KeyPart>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        value.encode_key(&mut out);
        assert_eq!(out.len(), value.key_len(), "key_len is exact");
        out
    }

    fn key_round_trip<T: KeyPart + PartialEq + std::fmt::Debug>(value: &T) {
        let bytes = key(value);
        let mut input = &bytes[..];
        let back = T::decode_key(&mut input).unwrap();
        assert!(input.is_empty());
        assert_eq!(&back, value);
    }

    fn row_round_trip<T: RowValue + PartialEq + std::fmt::Debug>(value: &T) {
        let mut bytes = Vec::new();
        value.encode_row(&mut bytes);
        assert_eq!(bytes.len(), value.row_len(), "row_len is exact");
        let mut input = &bytes[..];
        assert_eq!(&T::decode_row(&mut input).unwrap(), value);
        assert!(input.is_empty());
        // Every strict prefix is an error, never a panic or a wrong value.
        for cut in 0..bytes.len() {
            let mut input = &bytes[..cut];
            assert!(
                T::decode_row(&mut input).is_err(),
                "prefix of {cut} bytes decoded"
            );
        }
    }

    proptest! {
        #[test]
        fn integer_keys_keep_order(a in any::<i64>(), b in any::<i64>()) {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            key_round_trip(&a);
            row_round_trip(&a);
        }

        #[test]
        fn unsigned_and_small_keys(a in any::<u32>(), b in any::<u32>(), c in any::<i8>(), d in any::<i8>()) {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            prop_assert_eq!(c.cmp(&d), key(&c).cmp(&key(&d)));
        }

        #[test]
        fn float_keys_follow_total_order(a in any::<f64>(), b in any::<f64>()) {
            prop_assert_eq!(a.total_cmp(&b), key(&a).cmp(&key(&b)));
            let back = f64::decode_key(&mut &key(&a)[..]).unwrap();
            prop_assert_eq!(back.to_bits(), a.to_bits());
        }

        #[test]
        fn string_keys_keep_order(a in "(\\PC|\\x00){0,12}", b in "(\\PC|\\x00){0,12}") {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            key_round_trip(&a);
            row_round_trip(&a);
        }

        #[test]
        fn byte_keys_keep_order(a in prop::collection::vec(any::<u8>(), 0..12), b in prop::collection::vec(any::<u8>(), 0..12)) {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            key_round_trip(&a);
            row_round_trip(&a);
        }

        #[test]
        fn optional_keys_put_none_first(a in any::<Option<u16>>(), b in any::<Option<u16>>()) {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            key_round_trip(&a);
            row_round_trip(&a);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let _ = String::decode_key(&mut &bytes[..]);
            let _ = String::decode_row(&mut &bytes[..]);
            let _ = Option::<Vec<u8>>::decode_row(&mut &bytes[..]);
            let _ = f32::decode_key(&mut &bytes[..]);
            let _ = bool::decode_row(&mut &bytes[..]);
        }
    }

    #[test]
    fn extremes_and_special_values() {
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            key_round_trip(&v);
            row_round_trip(&v);
        }
        for v in [u128::MIN, u128::MAX] {
            key_round_trip(&v);
        }
        assert!(key(&f64::NEG_INFINITY) < key(&-0.0f64));
        assert!(key(&-0.0f64) < key(&0.0f64));
        assert!(key(&f64::INFINITY) < key(&f64::NAN));
        for s in ["", "\0", "a\0b", "日本語", "\u{10FFFF}"] {
            key_round_trip(&s.to_owned());
            row_round_trip(&s.to_owned());
        }
        // A prefix sorts first, even against a NUL continuation.
        assert!(key(&"ab".to_owned()) < key(&"ab\0".to_owned()));
        assert!(key(&"ab\0".to_owned()) < key(&"abc".to_owned()));
    }

    #[test]
    fn overlong_lengths_are_refused() {
        // 0 written in two bytes: one encoding per value, so that decode(encode(x)) is the
        // identity on the bytes too.
        assert_eq!(
            String::decode_row(&mut &[0x80, 0x00][..]),
            Err(DecodeError::InvalidLength)
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert_eq!(
            bool::decode_row(&mut &[7][..]),
            Err(DecodeError::InvalidTag(7))
        );
        assert!(matches!(
            String::decode_row(&mut &[2, 0xC3][..]),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            String::decode_row(&mut &[1, 0xFF][..]),
            Err(DecodeError::InvalidUtf8)
        );
        // A huge length is refused before anything is allocated.
        let huge = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        assert!(Vec::<u8>::decode_row(&mut &huge[..]).is_err());
        assert_eq!(
            String::decode_key(&mut &b"ab\0\x07"[..]),
            Err(DecodeError::InvalidTag(7))
        );
    }
}
