//! The stored form of a user-table row, and its way to and from Arrow.
//!
//! A table declared in SQL stores a row as a format byte, then every column in declaration
//! order, each as kalam's row codec writes an `Option` of the column's type: a tag byte
//! (`0` null, `1` a value), then numbers little-endian, text and bytes length-prefixed. A
//! typed table (declared in Rust, `#[derive(KalamTable)]`) stores the generated codec's
//! rows: its version byte, and a tag byte only before its optional columns; a row of an
//! older version lacks the columns added since, which read as their defaults. A [`Layout`]
//! says which, so that the shared code here reads and writes both; scans of a typed table
//! whose type is attached decode with the generated code instead (see `typed.rs`).

use std::sync::Arc;

use datafusion::arrow::array::builder::NullBufferBuilder;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, PrimitiveArray, StringBuilder,
};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, Float64Type, Int32Type, Int64Type, SchemaRef, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use kalam::{DecodeError, RowValue, read_row_bytes, write_row_bytes};

use crate::catalog::TableMeta;
use crate::typed::GeneratedDecoder;
use crate::value::{ColumnType, Value};

/// The first byte of every stored row of a table declared in SQL.
const ROW_FORMAT: u8 = 1;

const NULL: u8 = 0;
const PRESENT: u8 = 1;

/// How a table's rows are stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    /// The version byte rows are written with.
    pub(crate) version: u8,
    /// The oldest version byte a stored row may have.
    pub(crate) oldest: u8,
    /// One per column, in order.
    pub(crate) columns: Vec<Slot>,
}

/// How one column is stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Slot {
    pub(crate) ty: ColumnType,
    /// Whether a tag byte says if a value follows; without one the column is never NULL.
    pub(crate) tagged: bool,
    /// The row version that added the column (0: every row holds it).
    pub(crate) since: u8,
    /// What rows of versions before `since` read.
    pub(crate) default: Value,
}

impl Layout {
    /// The engine's own format, for a table declared in SQL with columns `types`.
    pub(crate) fn engine(types: &[ColumnType]) -> Self {
        Layout {
            version: ROW_FORMAT,
            oldest: ROW_FORMAT,
            columns: types
                .iter()
                .map(|&ty| Slot {
                    ty,
                    tagged: true,
                    since: 0,
                    default: Value::Null,
                })
                .collect(),
        }
    }

    /// Appends the stored form of `values` (one per column, in order). `Err(column)` if a
    /// column stored without a tag is NULL (writers check NOT NULL before).
    pub(crate) fn encode(&self, values: &[Value], out: &mut Vec<u8>) -> Result<(), usize> {
        // Room for the whole row at once: the version, then at most a tag and nine bytes a
        // value, or a tag, a length and the bytes of a string.
        let room = values.iter().map(|value| match value {
            Value::Text(text) => 10 + text.len(),
            Value::Bytes(bytes) => 10 + bytes.len(),
            _ => 10,
        });
        out.reserve(1 + room.sum::<usize>());
        out.push(self.version);
        for (column, (slot, value)) in self.columns.iter().zip(values).enumerate() {
            match (slot.tagged, value) {
                (true, Value::Null) => out.push(NULL),
                (false, Value::Null) => return Err(column),
                (tagged, value) => {
                    if tagged {
                        out.push(PRESENT);
                    }
                    encode_present(value, out);
                }
            }
        }
        Ok(())
    }

    /// The row's version byte, checked.
    fn version_of(&self, input: &mut &[u8]) -> Result<u8, DecodeError> {
        kalam::__private::read_version_in(input, self.oldest, self.version)
    }

    /// Whether column `slot` is held by a row of `version`.
    #[inline]
    fn holds(slot: &Slot, version: u8) -> bool {
        version >= slot.since
    }

    /// Reads the tag byte of a tagged column: whether a value follows.
    #[inline]
    fn present(slot: &Slot, input: &mut &[u8]) -> Result<bool, DecodeError> {
        if !slot.tagged {
            return Ok(true);
        }
        let [tag] = take_tag(input)?;
        match tag {
            NULL => Ok(false),
            PRESENT => Ok(true),
            other => Err(DecodeError::InvalidTag(other)),
        }
    }

    /// Decodes one stored row into values, every column.
    pub(crate) fn decode(&self, row: &[u8]) -> Result<Vec<Value>, DecodeError> {
        let mut input = row;
        let version = self.version_of(&mut input)?;
        let mut values = Vec::with_capacity(self.columns.len());
        for slot in &self.columns {
            let value = if !Self::holds(slot, version) {
                slot.default.clone()
            } else if Self::present(slot, &mut input)? {
                decode_present(slot.ty, &mut input)?
            } else {
                Value::Null
            };
            values.push(value);
        }
        kalam::__private::finish(input)?;
        Ok(values)
    }
}

pub(crate) fn encode_present(value: &Value, out: &mut Vec<u8>) {
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

fn decode_present(ty: ColumnType, input: &mut &[u8]) -> Result<Value, DecodeError> {
    Ok(match ty {
        ColumnType::Boolean => Value::Boolean(bool::decode_row(input)?),
        ColumnType::Int32 => Value::Int32(i32::decode_row(input)?),
        ColumnType::Int64 => Value::Int64(i64::decode_row(input)?),
        ColumnType::Timestamp => Value::Timestamp(i64::decode_row(input)?),
        ColumnType::Float64 => Value::Float64(f64::decode_row(input)?),
        ColumnType::Text => Value::Text(
            String::from_utf8(read_row_bytes(input)?.to_vec())
                .map_err(|_| DecodeError::InvalidUtf8)?,
        ),
        ColumnType::Bytes => Value::Bytes(read_row_bytes(input)?.to_vec()),
    })
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
    layout: Arc<Layout>,
    /// One slot per table column: the builder of a projected column, `None` otherwise.
    builders: Vec<Option<Builder>>,
    /// Table column indices in output order.
    projection: Vec<usize>,
    rows: usize,
}

enum Builder {
    Boolean(BooleanBuilder),
    Int32(Primitive<Int32Type>),
    Int64(Primitive<Int64Type>),
    Float64(Primitive<Float64Type>),
    Text(StringBuilder),
    Bytes(BinaryBuilder),
    Timestamp(Primitive<TimestampMicrosecondType>),
}

/// A column of fixed-width values being built, as Arrow's `PrimitiveBuilder` builds one,
/// with appends that always inline into the decoder's loop (Arrow's were a call a value).
struct Primitive<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
}

impl<T: ArrowPrimitiveType> Primitive<T> {
    fn with_capacity(capacity: usize) -> Self {
        Primitive {
            values: Vec::with_capacity(capacity),
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    #[inline(always)]
    fn append_value(&mut self, value: T::Native) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    #[inline(always)]
    fn append_null(&mut self) {
        self.values.push(T::Native::default());
        self.nulls.append_null();
    }

    fn finish(&mut self) -> PrimitiveArray<T> {
        let values = ScalarBuffer::from(std::mem::take(&mut self.values));
        PrimitiveArray::new(values, self.nulls.finish())
    }
}

impl Builder {
    fn new(ty: ColumnType, capacity: usize) -> Self {
        match ty {
            ColumnType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnType::Int32 => Builder::Int32(Primitive::with_capacity(capacity)),
            ColumnType::Int64 => Builder::Int64(Primitive::with_capacity(capacity)),
            ColumnType::Float64 => Builder::Float64(Primitive::with_capacity(capacity)),
            ColumnType::Text => {
                Builder::Text(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            ColumnType::Bytes => {
                Builder::Bytes(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            ColumnType::Timestamp => Builder::Timestamp(Primitive::with_capacity(capacity)),
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
    /// A decoder of rows stored as `layout` says into the columns `projection` (table
    /// column indices, in output order; each at most once).
    pub(crate) fn new(layout: Arc<Layout>, projection: &[usize], capacity: usize) -> Self {
        let mut builders: Vec<Option<Builder>> = layout.columns.iter().map(|_| None).collect();
        for &column in projection {
            builders[column] = Some(Builder::new(layout.columns[column].ty, capacity));
        }
        RowDecoder {
            layout,
            builders,
            projection: projection.to_vec(),
            rows: 0,
        }
    }

    /// Decodes one stored row into the builders.
    pub(crate) fn push(&mut self, row: &[u8]) -> Result<(), DecodeError> {
        let mut input = row;
        let version = self.layout.version_of(&mut input)?;
        for (slot, builder) in self.layout.columns.iter().zip(&mut self.builders) {
            if !Layout::holds(slot, version) {
                if let Some(builder) = builder
                    && !builder.append(&slot.default)
                {
                    return Err(DecodeError::Invalid(format!(
                        "default {} of a {} column",
                        slot.default, slot.ty
                    )));
                }
                continue;
            }
            if !Layout::present(slot, &mut input)? {
                if let Some(builder) = builder {
                    builder.append_null();
                }
                continue;
            }
            match (slot.ty, builder) {
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
                (ty, _) => skip(ty, &mut input)?,
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
                    value, self.layout.columns[*column].ty
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

/// Comparisons of columns with constants, all of which a row must pass, checked on its
/// stored form before it is decoded: a scan's prefilter. A row is dropped only when a
/// comparison is false or NULL for it, as Arrow's kernels compare (integers as numbers,
/// text byte by byte); any row the comparisons hold for is kept.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RowFilter {
    /// Sorted by column.
    terms: Vec<Term>,
}

/// `column op constant`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Term {
    pub(crate) column: usize,
    pub(crate) op: Cmp,
    pub(crate) constant: Constant,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl Cmp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub(crate) fn flipped(self) -> Self {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::LtEq => Cmp::GtEq,
            Cmp::Gt => Cmp::Lt,
            Cmp::GtEq => Cmp::LtEq,
            same => same,
        }
    }

    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Cmp::Eq => ordering == Equal,
            Cmp::NotEq => ordering != Equal,
            Cmp::Lt => ordering == Less,
            Cmp::LtEq => ordering != Greater,
            Cmp::Gt => ordering == Greater,
            Cmp::GtEq => ordering != Less,
        }
    }
}

/// The constant side of a [`Term`], of its column's kind.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Constant {
    /// For an INT or BIGINT column.
    Int(i64),
    /// For a TEXT column.
    Text(String),
}

/// A column's value as a term reads it.
enum Cell<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl Term {
    /// Whether the term holds for `cell`; a NULL or a cell of another kind never does.
    fn holds(&self, cell: &Cell<'_>) -> bool {
        let ordering = match (cell, &self.constant) {
            (Cell::Int(v), Constant::Int(c)) => v.cmp(c),
            (Cell::Text(v), Constant::Text(c)) => (*v).cmp(c.as_str()),
            _ => return false,
        };
        self.op.holds(ordering)
    }
}

impl RowFilter {
    /// The conjunction of `terms`; `None` if there are none.
    pub(crate) fn new(mut terms: Vec<Term>) -> Option<Self> {
        terms.sort_by_key(|term| term.column);
        (!terms.is_empty()).then_some(RowFilter { terms })
    }

    /// Whether the stored `row` of `layout` passes every term. The row is read up to the
    /// last column a term compares, those columns read in place.
    pub(crate) fn keeps(&self, layout: &Layout, row: &[u8]) -> Result<bool, DecodeError> {
        let mut input = row;
        let version = layout.version_of(&mut input)?;
        let mut terms = self.terms.iter().peekable();
        for (column, slot) in layout.columns.iter().enumerate() {
            let Some(next) = terms.peek() else {
                return Ok(true);
            };
            let compared = next.column == column;
            let cell = if !Layout::holds(slot, version) {
                match &slot.default {
                    Value::Int32(v) => Cell::Int(i64::from(*v)),
                    Value::Int64(v) => Cell::Int(*v),
                    Value::Text(v) => Cell::Text(v),
                    _ => Cell::Null,
                }
            } else if !Layout::present(slot, &mut input)? {
                Cell::Null
            } else if !compared {
                skip(slot.ty, &mut input)?;
                continue;
            } else {
                match slot.ty {
                    ColumnType::Int32 => Cell::Int(i64::from(i32::decode_row(&mut input)?)),
                    ColumnType::Int64 => Cell::Int(i64::decode_row(&mut input)?),
                    ColumnType::Text => Cell::Text(
                        std::str::from_utf8(read_row_bytes(&mut input)?)
                            .map_err(|_| DecodeError::InvalidUtf8)?,
                    ),
                    // Terms are made for the kinds above only: keep the row.
                    _ => return Ok(true),
                }
            };
            while let Some(term) = terms.next_if(|term| term.column == column) {
                if !term.holds(&cell) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The terms on the columns of `meta`, as `EXPLAIN` shows them.
    pub(crate) fn describe(&self, meta: &TableMeta) -> String {
        let shown: Vec<String> = self
            .terms
            .iter()
            .map(|term| {
                let op = match term.op {
                    Cmp::Eq => "=",
                    Cmp::NotEq => "<>",
                    Cmp::Lt => "<",
                    Cmp::LtEq => "<=",
                    Cmp::Gt => ">",
                    Cmp::GtEq => ">=",
                };
                let name = meta
                    .columns
                    .get(term.column)
                    .map_or("?", |c| c.name.as_str());
                match &term.constant {
                    Constant::Int(v) => format!("{name} {op} {v}"),
                    Constant::Text(v) => format!("{name} {op} '{}'", v.replace('\'', "''")),
                }
            })
            .collect();
        shown.join(" AND ")
    }
}

/// A decoder of a table's stored rows into Arrow columns: the generated one of its Rust
/// type when the table is typed and its type attached, the shared one otherwise.
pub(crate) enum Decoder {
    Shared(RowDecoder),
    Generated(Box<dyn GeneratedDecoder>),
}

impl Decoder {
    /// A decoder of `meta`'s rows into the columns `projection` (in output order).
    pub(crate) fn new(meta: &TableMeta, projection: &[usize], capacity: usize) -> Self {
        match meta
            .generated
            .as_ref()
            .and_then(|g| g.decoder(projection, capacity))
        {
            Some(decoder) => Decoder::Generated(decoder),
            None => Decoder::Shared(RowDecoder::new(
                Arc::clone(&meta.layout),
                projection,
                capacity,
            )),
        }
    }

    /// Decodes one stored row.
    #[inline]
    pub(crate) fn push(&mut self, row: &[u8]) -> Result<(), DecodeError> {
        match self {
            Decoder::Shared(decoder) => decoder.push(row),
            Decoder::Generated(decoder) => decoder.push(row),
        }
    }

    /// The batch of the rows pushed so far, with `schema` (the projected schema).
    pub(crate) fn finish(&mut self, schema: SchemaRef) -> Result<RecordBatch, ArrowError> {
        match self {
            Decoder::Shared(decoder) => decoder.finish(schema),
            Decoder::Generated(decoder) => {
                let options = RecordBatchOptions::new().with_row_count(Some(decoder.len()));
                RecordBatch::try_new_with_options(schema, decoder.finish(), &options)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn rows_round_trip_through_values_and_arrow() {
        let types = [
            ColumnType::Int32,
            ColumnType::Text,
            ColumnType::Float64,
            ColumnType::Boolean,
            ColumnType::Bytes,
            ColumnType::Int64,
        ];
        let layout = Arc::new(Layout::engine(&types));
        let values = vec![
            Value::Int32(-7),
            Value::Text("a\0é".into()),
            Value::Null,
            Value::Boolean(true),
            Value::Bytes(vec![0, 255]),
            Value::Int64(i64::MIN),
        ];
        let mut row = Vec::new();
        layout.encode(&values, &mut row).unwrap();
        // The engine's format: its format byte, then a tag before every column.
        let mut engine = vec![ROW_FORMAT, PRESENT];
        engine.extend((-7i32).to_le_bytes());
        engine.extend([PRESENT, 4, b'a', 0]);
        engine.extend("é".as_bytes());
        engine.extend([NULL, PRESENT, 1, PRESENT, 2, 0, 255, PRESENT]);
        engine.extend(i64::MIN.to_le_bytes());
        assert_eq!(row, engine);
        assert_eq!(layout.decode(&row).unwrap(), values);

        // Project two columns, out of order; the others are skipped.
        let mut decoder = RowDecoder::new(Arc::clone(&layout), &[5, 1], 1);
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
            assert!(layout.decode(&row[..cut]).is_err(), "cut at {cut}");
            assert!(decoder.push(&row[..cut]).is_err(), "cut at {cut}");
        }
    }

    /// A typed table's layout: tags only on optional columns, a column added by version 2
    /// read as its default from a version-1 row.
    #[test]
    fn typed_layouts_read_older_versions() {
        let slot = |ty, tagged, since, default| Slot {
            ty,
            tagged,
            since,
            default,
        };
        let layout = Arc::new(Layout {
            version: 2,
            oldest: 1,
            columns: vec![
                slot(ColumnType::Int64, false, 0, Value::Null),
                slot(ColumnType::Text, true, 0, Value::Null),
                slot(ColumnType::Int32, false, 2, Value::Int32(7)),
            ],
        });
        let mut v2 = Vec::new();
        let values = [Value::Int64(3), Value::Null, Value::Int32(-1)];
        layout.encode(&values, &mut v2).unwrap();
        // Version, the key untagged, a NULL tag, the added column untagged.
        assert_eq!(v2.len(), 1 + 8 + 1 + 4);
        assert_eq!(layout.decode(&v2).unwrap(), values);
        assert_eq!(
            layout.encode(
                &[Value::Null, Value::Null, Value::Int32(1)],
                &mut Vec::new()
            ),
            Err(0)
        );
        // The same row as version 1 wrote it: no third column.
        let v1 = [&[1u8][..], &v2[1..10]].concat();
        assert_eq!(
            layout.decode(&v1).unwrap(),
            [Value::Int64(3), Value::Null, Value::Int32(7)]
        );
        let mut decoder = RowDecoder::new(Arc::clone(&layout), &[2, 0], 2);
        decoder.push(&v1).unwrap();
        decoder.push(&v2).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("c", DataType::Int32, true),
            Field::new("a", DataType::Int64, true),
        ]));
        let batch = decoder.finish(schema).unwrap();
        assert_eq!(
            value_at(batch.column(0), ColumnType::Int32, 0),
            Value::Int32(7)
        );
        assert_eq!(
            value_at(batch.column(0), ColumnType::Int32, 1),
            Value::Int32(-1)
        );
        // Version 3 is newer than the layout, version 0 older.
        for version in [0, 3] {
            let mut row = v2.clone();
            row[0] = version;
            assert!(layout.decode(&row).is_err());
        }
        // A prefilter reads the added column of a version-1 row as its default, and a
        // NULL passes no comparison.
        let term = |column, op, constant| Term {
            column,
            op,
            constant,
        };
        let keeps =
            |terms: Vec<Term>, row: &[u8]| RowFilter::new(terms).unwrap().keeps(&layout, row);
        let seven = || term(2, Cmp::Eq, Constant::Int(7));
        assert_eq!(keeps(vec![seven()], &v1), Ok(true));
        assert_eq!(keeps(vec![seven()], &v2), Ok(false));
        assert_eq!(
            keeps(vec![term(2, Cmp::Lt, Constant::Int(0))], &v2),
            Ok(true)
        );
        let text = || term(1, Cmp::NotEq, Constant::Text("x".into()));
        assert_eq!(keeps(vec![text()], &v2), Ok(false));
        assert_eq!(
            keeps(vec![seven(), term(0, Cmp::GtEq, Constant::Int(3))], &v1),
            Ok(true)
        );
        assert_eq!(
            keeps(vec![seven(), term(0, Cmp::Gt, Constant::Int(3))], &v1),
            Ok(false)
        );
    }

    #[test]
    fn a_prefilter_compares_columns_in_place_as_arrow_does() {
        let types = [
            ColumnType::Int32,
            ColumnType::Text,
            ColumnType::Float64,
            ColumnType::Int64,
        ];
        let layout = Layout::engine(&types);
        let mut row = Vec::new();
        let values = [
            Value::Int32(-5),
            Value::Text("ab".into()),
            Value::Float64(0.5),
            Value::Int64(i64::MAX),
        ];
        layout.encode(&values, &mut row).unwrap();
        let keeps = |column, op, constant| {
            let filter = RowFilter::new(vec![Term {
                column,
                op,
                constant,
            }])
            .unwrap();
            filter.keeps(&layout, &row).unwrap()
        };
        let int = Constant::Int;
        let text = |t: &str| Constant::Text(t.to_owned());
        // Each operator, and whether it holds for a cell less than the constant, and for
        // one greater.
        for (op, less, greater) in [
            (Cmp::Eq, false, false),
            (Cmp::NotEq, true, true),
            (Cmp::Lt, true, false),
            (Cmp::LtEq, true, false),
            (Cmp::Gt, false, true),
            (Cmp::GtEq, false, true),
        ] {
            assert_eq!(keeps(0, op, int(-4)), less, "-5 {op:?} -4");
            // Text compares byte by byte: "ab" < "b", "ab" > "a".
            assert_eq!(keeps(1, op, text("b")), less, "'ab' {op:?} 'b'");
            assert_eq!(keeps(1, op, text("a")), greater, "'ab' {op:?} 'a'");
            // `MAX flipped(op) MAX - 1` is `MAX - 1 op MAX`.
            assert_eq!(
                keeps(3, op.flipped(), int(i64::MAX - 1)),
                less,
                "{op:?} flipped"
            );
        }
        // A column read past a DOUBLE it skips; a constant of another kind keeps nothing.
        assert!(keeps(3, Cmp::Eq, int(i64::MAX)));
        assert!(!keeps(1, Cmp::Eq, int(1)));
        // A truncated row is an error, not a verdict.
        let filter = RowFilter::new(vec![Term {
            column: 3,
            op: Cmp::Eq,
            constant: int(0),
        }])
        .unwrap();
        for cut in 0..row.len() {
            assert!(filter.keeps(&layout, &row[..cut]).is_err(), "cut at {cut}");
        }
    }
}
