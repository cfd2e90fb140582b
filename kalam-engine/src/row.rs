//! The stored form of a user-table row, and its way to and from Arrow.
//!
//! A row is a format byte, then every column in declaration order, each as kalam's row
//! codec writes an `Option` of the column's type: a tag byte (`0` null, `1` a value), then
//! numbers little-endian, text and bytes length-prefixed. The same codec as
//! `#[derive(KalamTable)]`'s, for columns known at run time.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{
    Float64Type, Int32Type, Int64Type, SchemaRef, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use kalam::{DecodeError, RowValue, read_row_bytes, write_row_bytes};

use crate::value::{ColumnType, Value};

/// The first byte of every stored row.
const ROW_FORMAT: u8 = 1;

const NULL: u8 = 0;
const PRESENT: u8 = 1;

/// Appends the stored form of `values` (one per column, in order).
pub(crate) fn encode_values(values: &[Value], out: &mut Vec<u8>) {
    out.push(ROW_FORMAT);
    for value in values {
        encode_value(value, out);
    }
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    if matches!(value, Value::Null) {
        out.push(NULL);
        return;
    }
    out.push(PRESENT);
    match value {
        Value::Null => {}
        Value::Boolean(v) => v.encode_row(out),
        Value::Int32(v) => v.encode_row(out),
        Value::Int64(v) | Value::Timestamp(v) => v.encode_row(out),
        Value::Float64(v) => v.encode_row(out),
        Value::Text(v) => write_row_bytes(v.as_bytes(), out),
        Value::Bytes(v) => write_row_bytes(v, out),
    }
}

/// The value in row `row` of `array`, a column of type `ty` (already cast to it).
pub(crate) fn value_at(array: &dyn Array, ty: ColumnType, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match ty {
        ColumnType::Boolean => Value::Boolean(array.as_boolean().value(row)),
        ColumnType::Int32 => Value::Int32(array.as_primitive::<Int32Type>().value(row)),
        ColumnType::Int64 => Value::Int64(array.as_primitive::<Int64Type>().value(row)),
        ColumnType::Float64 => Value::Float64(array.as_primitive::<Float64Type>().value(row)),
        ColumnType::Text => Value::Text(array.as_string::<i32>().value(row).to_owned()),
        ColumnType::Bytes => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        ColumnType::Timestamp => {
            Value::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
    }
}

/// Reads stored rows into Arrow columns: the projected ones are built, the others skipped.
pub(crate) struct RowDecoder {
    types: Arc<[ColumnType]>,
    /// One slot per table column: the builder of a projected column, `None` otherwise.
    builders: Vec<Option<Builder>>,
    /// Table column indices in output order.
    projection: Vec<usize>,
    rows: usize,
}

enum Builder {
    Boolean(BooleanBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
    Bytes(BinaryBuilder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(ty: ColumnType, capacity: usize) -> Self {
        match ty {
            ColumnType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnType::Int32 => Builder::Int32(Int32Builder::with_capacity(capacity)),
            ColumnType::Int64 => Builder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnType::Float64 => Builder::Float64(Float64Builder::with_capacity(capacity)),
            ColumnType::Text => {
                Builder::Text(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            ColumnType::Bytes => {
                Builder::Bytes(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            ColumnType::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Boolean(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Bytes(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
        }
    }

    /// Appends `value`, which must be of the builder's type (`false` if not).
    fn append(&mut self, value: &Value) -> bool {
        match (self, value) {
            (builder, Value::Null) => builder.append_null(),
            (Builder::Boolean(b), Value::Boolean(v)) => b.append_value(*v),
            (Builder::Int32(b), Value::Int32(v)) => b.append_value(*v),
            (Builder::Int64(b), Value::Int64(v)) => b.append_value(*v),
            (Builder::Float64(b), Value::Float64(v)) => b.append_value(*v),
            (Builder::Text(b), Value::Text(v)) => b.append_value(v),
            (Builder::Bytes(b), Value::Bytes(v)) => b.append_value(v),
            (Builder::Timestamp(b), Value::Timestamp(v)) => b.append_value(*v),
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Bytes(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

impl RowDecoder {
    /// A decoder of rows of columns `types` into the columns `projection` (table column
    /// indices, in output order; each at most once).
    pub(crate) fn new(types: Arc<[ColumnType]>, projection: &[usize], capacity: usize) -> Self {
        let mut builders: Vec<Option<Builder>> = types.iter().map(|_| None).collect();
        for &column in projection {
            builders[column] = Some(Builder::new(types[column], capacity));
        }
        RowDecoder {
            types,
            builders,
            projection: projection.to_vec(),
            rows: 0,
        }
    }

    /// Decodes one stored row into the builders.
    pub(crate) fn push(&mut self, row: &[u8]) -> Result<(), DecodeError> {
        let mut input = row;
        kalam::__private::read_version(&mut input, ROW_FORMAT)?;
        for (ty, builder) in self.types.iter().zip(&mut self.builders) {
            let [tag] = take_tag(&mut input)?;
            match tag {
                NULL => {
                    if let Some(builder) = builder {
                        builder.append_null();
                    }
                    continue;
                }
                PRESENT => {}
                other => return Err(DecodeError::InvalidTag(other)),
            }
            match (ty, builder) {
                (ColumnType::Boolean, Some(Builder::Boolean(b))) => {
                    b.append_value(bool::decode_row(&mut input)?);
                }
                (ColumnType::Int32, Some(Builder::Int32(b))) => {
                    b.append_value(i32::decode_row(&mut input)?);
                }
                (ColumnType::Int64, Some(Builder::Int64(b))) => {
                    b.append_value(i64::decode_row(&mut input)?);
                }
                (ColumnType::Float64, Some(Builder::Float64(b))) => {
                    b.append_value(f64::decode_row(&mut input)?);
                }
                (ColumnType::Text, Some(Builder::Text(b))) => {
                    let bytes = read_row_bytes(&mut input)?;
                    b.append_value(
                        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?,
                    );
                }
                (ColumnType::Bytes, Some(Builder::Bytes(b))) => {
                    b.append_value(read_row_bytes(&mut input)?);
                }
                (ColumnType::Timestamp, Some(Builder::Timestamp(b))) => {
                    b.append_value(i64::decode_row(&mut input)?);
                }
                (ty, _) => skip(*ty, &mut input)?,
            }
        }
        kalam::__private::finish(input)?;
        self.rows += 1;
        Ok(())
    }

    /// Pushes one row of which `values` holds some columns (an index entry's): each
    /// column, at most once, with its value. Projected columns it does not hold are NULL.
    pub(crate) fn push_values(&mut self, values: &[(usize, Value)]) -> Result<(), DecodeError> {
        for (column, value) in values {
            if let Some(builder) = &mut self.builders[*column]
                && !builder.append(value)
            {
                return Err(DecodeError::Invalid(format!(
                    "a {:?} key part for a {:?} column",
                    value, self.types[*column]
                )));
            }
        }
        for &column in &self.projection {
            if !values.iter().any(|(c, _)| *c == column)
                && let Some(builder) = &mut self.builders[column]
            {
                builder.append_null();
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The batch of the rows pushed so far, with `schema` (the projected schema); the
    /// decoder starts over empty.
    pub(crate) fn finish(&mut self, schema: SchemaRef) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self
            .projection
            .iter()
            .map(|&column| {
                self.builders[column]
                    .as_mut()
                    .map(Builder::finish)
                    .ok_or_else(|| ArrowError::SchemaError("projection out of range".into()))
            })
            .collect::<Result<_, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(schema, columns, &options)
    }
}

fn take_tag(input: &mut &[u8]) -> Result<[u8; 1], DecodeError> {
    let Some((&tag, rest)) = input.split_first() else {
        return Err(DecodeError::Truncated {
            needed: 1,
            remaining: 0,
        });
    };
    *input = rest;
    Ok([tag])
}

/// Steps over a present value of type `ty`.
fn skip(ty: ColumnType, input: &mut &[u8]) -> Result<(), DecodeError> {
    match ty {
        ColumnType::Boolean => bool::decode_row(input).map(drop),
        ColumnType::Int32 => i32::decode_row(input).map(drop),
        ColumnType::Int64 | ColumnType::Timestamp => i64::decode_row(input).map(drop),
        ColumnType::Float64 => f64::decode_row(input).map(drop),
        ColumnType::Text | ColumnType::Bytes => read_row_bytes(input).map(drop),
    }
}

/// Decodes one stored row into values, every column.
pub(crate) fn decode_values(types: &[ColumnType], row: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut input = row;
    kalam::__private::read_version(&mut input, ROW_FORMAT)?;
    let mut values = Vec::with_capacity(types.len());
    for &ty in types {
        let [tag] = take_tag(&mut input)?;
        let value = match tag {
            NULL => Value::Null,
            PRESENT => match ty {
                ColumnType::Boolean => Value::Boolean(bool::decode_row(&mut input)?),
                ColumnType::Int32 => Value::Int32(i32::decode_row(&mut input)?),
                ColumnType::Int64 => Value::Int64(i64::decode_row(&mut input)?),
                ColumnType::Timestamp => Value::Timestamp(i64::decode_row(&mut input)?),
                ColumnType::Float64 => Value::Float64(f64::decode_row(&mut input)?),
                ColumnType::Text => Value::Text(
                    String::from_utf8(read_row_bytes(&mut input)?.to_vec())
                        .map_err(|_| DecodeError::InvalidUtf8)?,
                ),
                ColumnType::Bytes => Value::Bytes(read_row_bytes(&mut input)?.to_vec()),
            },
            other => return Err(DecodeError::InvalidTag(other)),
        };
        values.push(value);
    }
    kalam::__private::finish(input)?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};

    #[test]
    fn rows_round_trip_through_values_and_arrow() {
        let types: Arc<[ColumnType]> = Arc::from(vec![
            ColumnType::Int32,
            ColumnType::Text,
            ColumnType::Float64,
            ColumnType::Boolean,
            ColumnType::Bytes,
            ColumnType::Int64,
        ]);
        let values = vec![
            Value::Int32(-7),
            Value::Text("a\0é".into()),
            Value::Null,
            Value::Boolean(true),
            Value::Bytes(vec![0, 255]),
            Value::Int64(i64::MIN),
        ];
        let mut row = Vec::new();
        encode_values(&values, &mut row);
        assert_eq!(decode_values(&types, &row).unwrap(), values);

        // Project two columns, out of order; the others are skipped.
        let mut decoder = RowDecoder::new(Arc::clone(&types), &[5, 1], 1);
        decoder.push(&row).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", types[5].arrow(), true),
            Field::new("b", types[1].arrow(), true),
        ]));
        let batch = decoder.finish(schema).unwrap();
        assert_eq!(value_at(batch.column(0), types[5], 0), values[5]);
        assert_eq!(value_at(batch.column(1), types[1], 0), values[1]);

        // Truncations fail, never panic.
        for cut in 0..row.len() {
            assert!(decode_values(&types, &row[..cut]).is_err(), "cut at {cut}");
            assert!(decoder.push(&row[..cut]).is_err(), "cut at {cut}");
        }
    }
}
