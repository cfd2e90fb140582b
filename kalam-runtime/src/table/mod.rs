//! Tables: what `#[derive(KalamTable)]` implements. Storage keys and rows always; Arrow
//! schemas and record batches with the `arrow` feature.

#[cfg(feature = "arrow")]
pub(crate) mod arrow;
mod codec;

use core::fmt;

#[doc(hidden)]
pub use codec::KeyArg;
pub use codec::{KeyPart, RowValue, read_row_bytes, str_key_len, write_row_bytes, write_str_key};

/// Why a row (or key) could not be decoded. Decoding never panics and never returns a
/// value built from bytes it did not fully check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended `needed` bytes early (`remaining` were left).
    Truncated {
        /// Bytes the next value needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// The row was written by another version of the table's row format.
    WrongVersion {
        /// The version this code reads.
        expected: u8,
        /// The version byte found.
        found: u8,
    },
    /// A tag byte (`Option`, `bool`, key escape) had a value no encoding writes.
    InvalidTag(u8),
    /// A length prefix did not fit.
    InvalidLength,
    /// A string's bytes were not UTF-8.
    InvalidUtf8,
    /// Bytes were left after the last column.
    TrailingBytes(usize),
    /// A column's own decoder refused the value.
    Invalid(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { needed, remaining } => {
                write!(
                    f,
                    "truncated input: needed {needed} more bytes, {remaining} left"
                )
            }
            DecodeError::WrongVersion { expected, found } => {
                write!(
                    f,
                    "row format version {found}, but this table reads version {expected}"
                )
            }
            DecodeError::InvalidTag(tag) => write!(f, "invalid tag byte 0x{tag:02x}"),
            DecodeError::InvalidLength => f.write_str("invalid length prefix"),
            DecodeError::InvalidUtf8 => f.write_str("a string column is not UTF-8"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} bytes left after the last column"),
            DecodeError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DecodeError {}

/// One column of a table, as declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ColumnInfo {
    /// The column's name (the field's, or `#[column(name = "..")]`).
    pub name: &'static str,
    /// The field's type as written.
    pub ty: &'static str,
    /// Whether the column may be null (`Option`, or `#[column(nullable)]`).
    pub nullable: bool,
    /// Its position in the primary key, if it is part of it.
    pub key_position: Option<usize>,
    /// The row version that added it (`#[column(since = N)]`); rows of older versions do
    /// not hold it and read as its default. 0 for a column of every version.
    pub since: u8,
    /// Whether its row encoding starts with a tag byte (an `Option`): see
    /// [`RowValue::OPTIONAL`].
    pub optional: bool,
}

impl ColumnInfo {
    /// Describes a column.
    #[must_use]
    pub const fn new(
        name: &'static str,
        ty: &'static str,
        nullable: bool,
        key_position: Option<usize>,
    ) -> Self {
        ColumnInfo {
            name,
            ty,
            nullable,
            key_position,
            since: 0,
            optional: false,
        }
    }

    /// The column, added by row version `since`.
    #[must_use]
    pub const fn since(mut self, since: u8) -> Self {
        self.since = since;
        self
    }

    /// The column, whose row encoding does (`true`) or does not start with a tag byte.
    #[must_use]
    pub const fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }
}

/// A table row type: a storage key from its primary-key columns and a compact, versioned
/// row encoding. Implement it with `#[derive(KalamTable)]`.
pub trait Table: Sized {
    /// The table's name.
    const NAME: &'static str;
    /// The namespace the table belongs to.
    const NAMESPACE: &'static str;
    /// The first byte of every encoded row.
    const ROW_VERSION: u8;
    /// The oldest row version [`decode`](Self::decode) reads: the one before the earliest
    /// `#[column(since = N)]`, or [`ROW_VERSION`](Self::ROW_VERSION) when no column has one.
    const OLDEST_VERSION: u8 = Self::ROW_VERSION;
    /// The stored columns in declaration order (skipped fields are not columns).
    const COLUMNS: &'static [ColumnInfo];

    /// The length of [`write_key`](Self::write_key)'s output.
    fn key_len(&self) -> usize;

    /// Appends the storage key: the primary-key columns, order-preserving, concatenated.
    fn write_key(&self, out: &mut Vec<u8>);

    /// The storage key in a buffer sized for it.
    fn key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.key_len());
        self.write_key(&mut out);
        out
    }

    /// The length of [`encode`](Self::encode)'s output.
    fn encoded_len(&self) -> usize;

    /// Appends the row: the version byte, then every column.
    fn encode(&self, out: &mut Vec<u8>);

    /// The row in a buffer sized for it.
    fn to_row(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// Reads a row written by [`encode`](Self::encode), of any version from
    /// [`OLDEST_VERSION`](Self::OLDEST_VERSION) to [`ROW_VERSION`](Self::ROW_VERSION):
    /// columns added after the row's version get their `default` (or `Default::default()`).
    /// Skipped fields get their default.
    ///
    /// # Errors
    ///
    /// On a version byte outside that range, truncated or corrupt input, or bytes left
    /// over.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Reads the version byte; used by generated code.
#[doc(hidden)]
#[inline]
pub fn read_version(input: &mut &[u8], expected: u8) -> Result<(), DecodeError> {
    let Some((&found, rest)) = input.split_first() else {
        return Err(DecodeError::Truncated {
            needed: 1,
            remaining: 0,
        });
    };
    if found != expected {
        return Err(DecodeError::WrongVersion { expected, found });
    }
    *input = rest;
    Ok(())
}

/// Reads the version byte of a table that reads versions `oldest..=newest`, and returns
/// it; used by generated code.
#[doc(hidden)]
#[inline]
pub fn read_version_in(input: &mut &[u8], oldest: u8, newest: u8) -> Result<u8, DecodeError> {
    let Some((&found, rest)) = input.split_first() else {
        return Err(DecodeError::Truncated {
            needed: 1,
            remaining: 0,
        });
    };
    if !(oldest..=newest).contains(&found) {
        return Err(DecodeError::WrongVersion {
            expected: newest,
            found,
        });
    }
    *input = rest;
    Ok(found)
}

/// Fails when bytes are left after the last column; used by generated code.
#[doc(hidden)]
#[inline]
pub fn finish(input: &[u8]) -> Result<(), DecodeError> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes(input.len()))
    }
}

/// Stores a field as another column type: `#[column(via = Repr)]` on a field of type
/// `Self`. Implement it for newtypes and enums that are not columns themselves; the `kalam`
/// crate's docs show an enum stored as text. On an `Option<T>` field, `via = Repr`
/// converts each `T` present (the column is nullable): implement it for `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as `{Repr}`",
    label = "`#[column(via = {Repr})]` needs `{Self}: kalam::ColumnVia<{Repr}>`",
    note = "implement kalam::ColumnVia<{Repr}> for `{Self}` (on an `Option<T>` field, for `T`)"
)]
pub trait ColumnVia<Repr>: Sized {
    /// The stored value.
    fn to_repr(&self) -> Repr;

    /// The value back from what was stored.
    ///
    /// # Errors
    ///
    /// A message saying why `repr` is not a valid value; decoding reports it with the
    /// column's name.
    fn from_repr(repr: Repr) -> Result<Self, String>;
}
