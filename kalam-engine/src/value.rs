//! Column types and values of user tables, whose columns are only known at run time.

use std::fmt;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use kalam::KeyPart;

/// The type of a user-table column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// `BOOLEAN`.
    Boolean,
    /// `INT`, `INTEGER`, `SMALLINT`, `TINYINT`: 32-bit signed.
    Int32,
    /// `BIGINT`: 64-bit signed.
    Int64,
    /// `DOUBLE`, `FLOAT`, `REAL`: 64-bit float.
    Float64,
    /// `TEXT`, `VARCHAR(n)`, `CHAR(n)`, `STRING`: UTF-8 (lengths are not enforced).
    Text,
    /// `BYTEA`, `BLOB`, `BINARY`, `VARBINARY`: bytes.
    Bytes,
    /// `TIMESTAMP`: microseconds since the Unix epoch, no time zone.
    Timestamp,
}

impl ColumnType {
    /// The type of a SQL type name (`VARCHAR(120)`, `int`, `DOUBLE PRECISION`), if supported.
    #[must_use]
    pub fn from_sql(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or_default().trim();
        Some(match base {
            "BOOLEAN" | "BOOL" => ColumnType::Boolean,
            "INT" | "INTEGER" | "INT4" | "SMALLINT" | "INT2" | "TINYINT" => ColumnType::Int32,
            "BIGINT" | "INT8" | "INT64" => ColumnType::Int64,
            "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT8" | "FLOAT64" | "REAL" => {
                ColumnType::Float64
            }
            "TEXT" | "VARCHAR" | "CHAR" | "CHARACTER" | "CHARACTER VARYING" | "STRING"
            | "NVARCHAR" => ColumnType::Text,
            "BYTEA" | "BLOB" | "BINARY" | "VARBINARY" | "BYTES" => ColumnType::Bytes,
            "TIMESTAMP" => ColumnType::Timestamp,
            _ => return None,
        })
    }

    /// The canonical SQL name, as `system.columns` shows it.
    #[must_use]
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Int32 => "INT",
            ColumnType::Int64 => "BIGINT",
            ColumnType::Float64 => "DOUBLE",
            ColumnType::Text => "TEXT",
            ColumnType::Bytes => "BYTEA",
            ColumnType::Timestamp => "TIMESTAMP",
        }
    }

    /// The Arrow type of the column.
    #[must_use]
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Bytes => DataType::Binary,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }
}

impl ColumnType {
    /// The column type whose Arrow type is `data_type`, if there is one.
    #[must_use]
    pub fn from_arrow(data_type: &DataType) -> Option<Self> {
        [
            ColumnType::Boolean,
            ColumnType::Int32,
            ColumnType::Int64,
            ColumnType::Float64,
            ColumnType::Text,
            ColumnType::Bytes,
            ColumnType::Timestamp,
        ]
        .into_iter()
        .find(|ty| ty.arrow() == *data_type)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// One value of a user-table column, or a statement parameter.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A `BOOLEAN`.
    Boolean(bool),
    /// An `INT`.
    Int32(i32),
    /// A `BIGINT`.
    Int64(i64),
    /// A `DOUBLE`.
    Float64(f64),
    /// A `TEXT`.
    Text(String),
    /// A `BYTEA`.
    Bytes(Vec<u8>),
    /// A `TIMESTAMP`, in microseconds since the epoch.
    Timestamp(i64),
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(value: $ty) -> Self {
                Value::$variant(value.into())
            }
        }
    )*};
}

value_from!(bool => Boolean, i32 => Int32, i64 => Int64, f64 => Float64, String => Text,
    &str => Text, Vec<u8> => Bytes);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// A number literal's digits (a fraction or not), after a minus sign if `negative`: a
    /// BIGINT if one holds it, else a DOUBLE; `None` if not even a DOUBLE does.
    pub(crate) fn of_number(digits: &str, negative: bool) -> Option<Value> {
        // Negated as text: `-9223372036854775808` is a BIGINT, its digits alone not.
        let integer = if negative {
            format!("-{digits}").parse::<i64>()
        } else {
            digits.parse::<i64>()
        };
        if let Ok(n) = integer {
            return Some(Value::Int64(n));
        }
        let x: f64 = digits.parse().ok()?;
        x.is_finite()
            .then_some(Value::Float64(if negative { -x } else { x }))
    }

    /// This value as a DataFusion scalar of its own type.
    #[must_use]
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            Value::Null => ScalarValue::Null,
            Value::Boolean(v) => ScalarValue::Boolean(Some(*v)),
            Value::Int32(v) => ScalarValue::Int32(Some(*v)),
            Value::Int64(v) => ScalarValue::Int64(Some(*v)),
            Value::Float64(v) => ScalarValue::Float64(Some(*v)),
            Value::Text(v) => ScalarValue::Utf8(Some(v.clone())),
            Value::Bytes(v) => ScalarValue::Binary(Some(v.clone())),
            Value::Timestamp(v) => ScalarValue::TimestampMicrosecond(Some(*v), None),
        }
    }

    /// The value of `scalar` as a value of a column of type `ty`, if it is one exactly
    /// (integers that fit, text for text, ...). `None` when it is not: the caller decides
    /// whether that is an error or "no row can match".
    #[must_use]
    pub fn from_scalar(scalar: &ScalarValue, ty: ColumnType) -> Option<Value> {
        if scalar.is_null() {
            return Some(Value::Null);
        }
        let integer = || -> Option<i64> {
            match scalar {
                ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
                ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
                ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
                ScalarValue::Int64(Some(v)) => Some(*v),
                ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
                ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
                ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
                ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
                _ => None,
            }
        };
        match ty {
            ColumnType::Boolean => match scalar {
                ScalarValue::Boolean(Some(v)) => Some(Value::Boolean(*v)),
                _ => None,
            },
            ColumnType::Int32 => integer()
                .and_then(|v| i32::try_from(v).ok())
                .map(Value::Int32),
            ColumnType::Int64 => integer().map(Value::Int64),
            ColumnType::Float64 => match scalar {
                ScalarValue::Float64(Some(v)) => Some(Value::Float64(*v)),
                ScalarValue::Float32(Some(v)) => Some(Value::Float64(f64::from(*v))),
                _ => None,
            },
            ColumnType::Text => match scalar {
                ScalarValue::Utf8(Some(v))
                | ScalarValue::LargeUtf8(Some(v))
                | ScalarValue::Utf8View(Some(v)) => Some(Value::Text(v.clone())),
                _ => None,
            },
            ColumnType::Bytes => match scalar {
                ScalarValue::Binary(Some(v))
                | ScalarValue::LargeBinary(Some(v))
                | ScalarValue::BinaryView(Some(v)) => Some(Value::Bytes(v.clone())),
                _ => None,
            },
            ColumnType::Timestamp => match scalar {
                ScalarValue::TimestampMicrosecond(Some(v), _) => Some(Value::Timestamp(*v)),
                ScalarValue::TimestampMillisecond(Some(v), _) => {
                    v.checked_mul(1_000).map(Value::Timestamp)
                }
                ScalarValue::TimestampSecond(Some(v), _) => {
                    v.checked_mul(1_000_000).map(Value::Timestamp)
                }
                // Only whole microseconds: a key range from a rounded bound would miss rows.
                ScalarValue::TimestampNanosecond(Some(v), _) => {
                    (v % 1_000 == 0).then_some(Value::Timestamp(v / 1_000))
                }
                _ => None,
            },
        }
    }

    /// The value converted to a column of type `ty`, as a parameter is: numbers widen or
    /// narrow when they fit, nothing else changes type.
    #[must_use]
    pub fn coerce(&self, ty: ColumnType) -> Option<Value> {
        Value::from_scalar(&self.to_scalar(), ty)
    }

    /// Appends the order-preserving key encoding of a non-null value.
    pub(crate) fn write_key(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => {}
            Value::Boolean(v) => v.encode_key(out),
            Value::Int32(v) => v.encode_key(out),
            Value::Int64(v) | Value::Timestamp(v) => v.encode_key(out),
            Value::Float64(v) => v.encode_key(out),
            Value::Text(v) => kalam::write_str_key(v, out),
            Value::Bytes(v) => v.encode_key(out),
        }
    }
}

impl Value {
    /// Reads a key part written by [`write_key`](Self::write_key) for a column of type `ty`.
    pub(crate) fn decode_key(
        ty: ColumnType,
        input: &mut &[u8],
    ) -> Result<Value, kalam::DecodeError> {
        Ok(match ty {
            ColumnType::Boolean => Value::Boolean(bool::decode_key(input)?),
            ColumnType::Int32 => Value::Int32(i32::decode_key(input)?),
            ColumnType::Int64 => Value::Int64(i64::decode_key(input)?),
            ColumnType::Timestamp => Value::Timestamp(i64::decode_key(input)?),
            ColumnType::Float64 => Value::Float64(f64::decode_key(input)?),
            ColumnType::Text => Value::Text(String::decode_key(input)?),
            ColumnType::Bytes => Value::Bytes(Vec::<u8>::decode_key(input)?),
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) | Value::Timestamp(v) => write!(f, "{v}"),
            Value::Float64(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "'{}'", v.replace('\'', "''")),
            Value::Bytes(v) => {
                f.write_str("X'")?;
                v.iter().try_for_each(|b| write!(f, "{b:02X}"))?;
                f.write_str("'")
            }
        }
    }
}

impl Value {
    /// Whether it is SQL `NULL`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as `system.columns.default_value` shows it: numbers and booleans as
    /// written, text as it is, bytes in hex; `None` for NULL.
    pub(crate) fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) | Value::Timestamp(v) => v.to_string(),
            Value::Float64(v) => v.to_string(),
            Value::Text(v) => v.clone(),
            Value::Bytes(v) => v.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    /// The value of type `ty` that [`to_text`](Self::to_text) showed as `text`.
    pub(crate) fn from_text(ty: ColumnType, text: Option<&str>) -> Option<Value> {
        let Some(text) = text else {
            return Some(Value::Null);
        };
        Some(match ty {
            ColumnType::Boolean => Value::Boolean(text.parse().ok()?),
            ColumnType::Int32 => Value::Int32(text.parse().ok()?),
            ColumnType::Int64 => Value::Int64(text.parse().ok()?),
            ColumnType::Timestamp => Value::Timestamp(text.parse().ok()?),
            ColumnType::Float64 => Value::Float64(text.parse().ok()?),
            ColumnType::Text => Value::Text(text.to_owned()),
            ColumnType::Bytes => {
                if text.len() % 2 != 0 {
                    return None;
                }
                let bytes = (0..text.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                Value::Bytes(bytes)
            }
        })
    }
}
