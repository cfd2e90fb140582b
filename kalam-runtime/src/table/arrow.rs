//! Arrow for tables (feature `arrow`): the column types' Arrow builders and arrays, and the
//! trait that `#[derive(KalamTable)]` implements for schemas and record batches.
//!
//! The Arrow version is the one DataFusion uses, so that batches pass to it as they are.

use core::fmt;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, PrimitiveBuilder, StringBuilder,
};
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, PrimitiveArray, RecordBatch, RecordBatchOptions,
    StringArray,
};
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};

use super::codec::option_tag;
use super::{DecodeError, RowValue, read_row_bytes};

/// A column type with an Arrow representation.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Arrow column type",
    note = "Arrow columns are integers, bool, floats, String, Vec<u8>, Option of those, or types \
            that implement kalam::ArrowColumn"
)]
pub trait ArrowColumn: Sized {
    /// The builder that collects a column of these values.
    type Builder: ArrayBuilder;
    /// The array a column of these values is read from.
    type Array: Array + 'static;
    /// Whether values have a variable size (strings, bytes): builders then reserve
    /// [`data_len`](Self::data_len) bytes up front.
    const VARIABLE: bool = false;
    /// Whether the column may hold nulls.
    const NULLABLE: bool = false;

    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// A builder for `rows` values of `data` bytes in all.
    fn builder(rows: usize, data: usize) -> Self::Builder;
    /// Bytes this value adds to a variable-size column.
    fn data_len(&self) -> usize {
        0
    }
    /// Appends the value.
    fn append(&self, builder: &mut Self::Builder);
    /// Appends a null.
    fn append_null(builder: &mut Self::Builder);
    /// Reads row `row`, which is not null (for a non-nullable type; `Option` checks). A
    /// type that can refuse a stored value is stored `#[column(via = ..)]` instead, whose
    /// conversion may fail.
    fn read(array: &Self::Array, row: usize) -> Self;
}

macro_rules! primitive {
    ($($t:ty => $arrow:ty, $data_type:expr;)*) => {$(
        impl ArrowColumn for $t {
            type Builder = PrimitiveBuilder<$arrow>;
            type Array = PrimitiveArray<$arrow>;
            #[inline]
            fn data_type() -> DataType {
                $data_type
            }
            #[inline]
            fn builder(rows: usize, _data: usize) -> Self::Builder {
                PrimitiveBuilder::with_capacity(rows)
            }
            #[inline]
            fn append(&self, builder: &mut Self::Builder) {
                builder.append_value(*self);
            }
            #[inline]
            fn append_null(builder: &mut Self::Builder) {
                builder.append_null();
            }
            #[inline]
            fn read(array: &Self::Array, row: usize) -> Self {
                array.value(row)
            }
        }
    )*};
}

primitive! {
    i8 => Int8Type, DataType::Int8;
    i16 => Int16Type, DataType::Int16;
    i32 => Int32Type, DataType::Int32;
    i64 => Int64Type, DataType::Int64;
    u8 => UInt8Type, DataType::UInt8;
    u16 => UInt16Type, DataType::UInt16;
    u32 => UInt32Type, DataType::UInt32;
    u64 => UInt64Type, DataType::UInt64;
    f32 => Float32Type, DataType::Float32;
    f64 => Float64Type, DataType::Float64;
}

impl ArrowColumn for bool {
    type Builder = BooleanBuilder;
    type Array = BooleanArray;
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn builder(rows: usize, _data: usize) -> Self::Builder {
        BooleanBuilder::with_capacity(rows)
    }
    fn append(&self, builder: &mut Self::Builder) {
        builder.append_value(*self);
    }
    fn append_null(builder: &mut Self::Builder) {
        builder.append_null();
    }
    fn read(array: &Self::Array, row: usize) -> Self {
        array.value(row)
    }
}

/// Variable-size columns: builders reserve the total data length up front.
macro_rules! variable {
    ($($t:ty => $builder:ty, $array:ty, $data_type:expr, $owned:expr;)*) => {$(
        impl ArrowColumn for $t {
            type Builder = $builder;
            type Array = $array;
            const VARIABLE: bool = true;
            fn data_type() -> DataType {
                $data_type
            }
            fn builder(rows: usize, data: usize) -> Self::Builder {
                <$builder>::with_capacity(rows, data)
            }
            #[inline]
            fn data_len(&self) -> usize {
                self.len()
            }
            #[inline]
            fn append(&self, builder: &mut Self::Builder) {
                builder.append_value(self);
            }
            fn append_null(builder: &mut Self::Builder) {
                builder.append_null();
            }
            #[inline]
            fn read(array: &Self::Array, row: usize) -> Self {
                ($owned)(array.value(row))
            }
        }
    )*};
}

variable! {
    String => StringBuilder, StringArray, DataType::Utf8, str::to_owned;
    Vec<u8> => BinaryBuilder, BinaryArray, DataType::Binary, <[u8]>::to_vec;
}

impl<T: ArrowColumn> ArrowColumn for Option<T> {
    type Builder = T::Builder;
    type Array = T::Array;
    const VARIABLE: bool = T::VARIABLE;
    const NULLABLE: bool = true;
    fn data_type() -> DataType {
        T::data_type()
    }
    fn builder(rows: usize, data: usize) -> Self::Builder {
        T::builder(rows, data)
    }
    #[inline]
    fn data_len(&self) -> usize {
        self.as_ref().map_or(0, T::data_len)
    }
    #[inline]
    fn append(&self, builder: &mut Self::Builder) {
        match self {
            Some(value) => value.append(builder),
            None => T::append_null(builder),
        }
    }
    fn append_null(builder: &mut Self::Builder) {
        T::append_null(builder);
    }
    #[inline]
    fn read(array: &Self::Array, row: usize) -> Self {
        if array.is_null(row) {
            None
        } else {
            Some(T::read(array, row))
        }
    }
}

/// A column type whose stored rows decode straight into its Arrow builder: what a
/// generated [`ArrowDecoder`] calls for each column. Strings and bytes are appended from
/// the row's bytes, with no `String` or `Vec` in between.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be decoded from a row into Arrow",
    note = "implement kalam::ArrowRow for `{Self}` (an empty impl decodes the value, then \
            appends it)"
)]
pub trait ArrowRow: RowValue + ArrowColumn {
    /// Reads a value's row encoding from the front of `input` and appends it to `builder`.
    ///
    /// # Errors
    ///
    /// If the bytes are truncated or not an encoding of this type.
    #[inline]
    fn append_row(input: &mut &[u8], builder: &mut Self::Builder) -> Result<(), DecodeError> {
        Self::decode_row(input)?.append(builder);
        Ok(())
    }

    /// Steps over a value's row encoding (a column the scan does not read).
    ///
    /// # Errors
    ///
    /// If the bytes are truncated or not an encoding of this type.
    #[inline]
    fn skip_row(input: &mut &[u8]) -> Result<(), DecodeError> {
        Self::decode_row(input).map(drop)
    }
}

macro_rules! fixed_arrow_row {
    ($($t:ty),*) => {$(
        impl ArrowRow for $t {}
    )*};
}
fixed_arrow_row!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool);

impl ArrowRow for String {
    #[inline]
    fn append_row(input: &mut &[u8], builder: &mut StringBuilder) -> Result<(), DecodeError> {
        let bytes = read_row_bytes(input)?;
        builder.append_value(core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?);
        Ok(())
    }

    #[inline]
    fn skip_row(input: &mut &[u8]) -> Result<(), DecodeError> {
        read_row_bytes(input).map(drop)
    }
}

impl ArrowRow for Vec<u8> {
    #[inline]
    fn append_row(input: &mut &[u8], builder: &mut BinaryBuilder) -> Result<(), DecodeError> {
        builder.append_value(read_row_bytes(input)?);
        Ok(())
    }

    #[inline]
    fn skip_row(input: &mut &[u8]) -> Result<(), DecodeError> {
        read_row_bytes(input).map(drop)
    }
}

impl<T: ArrowRow> ArrowRow for Option<T> {
    #[inline]
    fn append_row(input: &mut &[u8], builder: &mut T::Builder) -> Result<(), DecodeError> {
        if option_tag(input)? {
            T::append_row(input, builder)
        } else {
            T::append_null(builder);
            Ok(())
        }
    }

    #[inline]
    fn skip_row(input: &mut &[u8]) -> Result<(), DecodeError> {
        if option_tag(input)? {
            T::skip_row(input)
        } else {
            Ok(())
        }
    }
}

/// Why a record batch could not be read into rows.
#[derive(Debug)]
#[non_exhaustive]
pub enum BatchError {
    /// The batch has no column of this name.
    MissingColumn(&'static str),
    /// The column has another Arrow type.
    WrongType {
        /// The column.
        column: &'static str,
        /// The type the table declares.
        expected: DataType,
        /// The type in the batch.
        found: DataType,
    },
    /// A non-nullable column holds a null.
    Null {
        /// The column.
        column: &'static str,
        /// The row.
        row: usize,
    },
    /// A projection named a column the table does not have.
    NoColumn {
        /// The position asked for.
        index: usize,
        /// How many columns the table has.
        columns: usize,
    },
    /// A column's value was refused by its type.
    Invalid {
        /// The column.
        column: &'static str,
        /// The row.
        row: usize,
        /// Why.
        message: String,
    },
    /// Arrow refused to build the batch.
    Arrow(ArrowError),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::MissingColumn(column) => write!(f, "the batch has no column `{column}`"),
            BatchError::WrongType {
                column,
                expected,
                found,
            } => {
                write!(
                    f,
                    "column `{column}` is {found} in the batch, but the table declares {expected}"
                )
            }
            BatchError::Null { column, row } => {
                write!(
                    f,
                    "column `{column}` is null at row {row}, but it is not nullable"
                )
            }
            BatchError::NoColumn { index, columns } => {
                write!(
                    f,
                    "no column {index}: the table has {columns} (numbered from 0)"
                )
            }
            BatchError::Invalid {
                column,
                row,
                message,
            } => {
                write!(f, "column `{column}` at row {row}: {message}")
            }
            BatchError::Arrow(err) => write!(f, "arrow: {err}"),
        }
    }
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BatchError::Arrow(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ArrowError> for BatchError {
    fn from(err: ArrowError) -> Self {
        BatchError::Arrow(err)
    }
}

/// A table whose rows convert to and from Arrow record batches. Implemented by
/// `#[derive(KalamTable)]` when the `arrow` feature is on.
pub trait ArrowTable: Sized {
    /// The Arrow schema, built once; its metadata holds the table's `name` and `namespace`.
    fn schema() -> SchemaRef;

    /// One record batch of `rows`, column by column, with builders sized up front.
    ///
    /// # Errors
    ///
    /// If Arrow refuses the columns (it does not for batches built here).
    fn to_record_batch(rows: &[Self]) -> Result<RecordBatch, BatchError>;

    /// The rows of `batch`, whose columns are found by name.
    ///
    /// # Errors
    ///
    /// On a missing column, a column of another type, or a null in a non-nullable column.
    fn from_record_batch(batch: &RecordBatch) -> Result<Vec<Self>, BatchError>;

    /// One optional builder per stored column; see [`ArrowDecoder`].
    #[doc(hidden)]
    type Builders: Send;

    /// Builders for the columns `projected` says (one flag per column), for `rows` rows.
    #[doc(hidden)]
    fn builders(projected: &[bool], rows: usize) -> Self::Builders;

    /// Decodes one stored row (any version the table reads) into the builders present,
    /// stepping over the other columns.
    #[doc(hidden)]
    fn push_row(builders: &mut Self::Builders, row: &[u8]) -> Result<(), DecodeError>;

    /// The arrays of the builders present, one slot per column; the builders start over.
    #[doc(hidden)]
    fn finish_builders(builders: &mut Self::Builders) -> Vec<Option<ArrayRef>>;
}

/// Decodes stored rows of `T` (its [`Table::encode`](crate::Table::encode) bytes) straight
/// into the Arrow builders of the projected columns: no row struct, no per-cell dispatch,
/// strings appended from the row's bytes. The columns the projection leaves out are
/// stepped over. A scan keeps one decoder, pushes the rows it reads and finishes a batch
/// when it has enough (the `kalam` crate's docs show one).
pub struct ArrowDecoder<T: ArrowTable> {
    builders: T::Builders,
    /// Column positions in output order.
    projection: Vec<usize>,
    /// The projected schema, made when first asked for: a scan with a schema of its own
    /// (a point get, say) never pays for it.
    schema: std::sync::OnceLock<SchemaRef>,
    rows: usize,
}

impl<T: ArrowTable> fmt::Debug for ArrowDecoder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrowDecoder")
            .field("projection", &self.projection)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<T: ArrowTable> ArrowDecoder<T> {
    /// A decoder of the columns `projection` (positions among the stored columns, in
    /// output order; a column may appear twice), with builders sized for `rows` rows.
    ///
    /// # Errors
    ///
    /// [`BatchError::NoColumn`] if a position is not a column.
    pub fn new(projection: &[usize], rows: usize) -> Result<Self, BatchError> {
        let columns = T::schema().fields().len();
        let mut projected = vec![false; columns];
        for &index in projection {
            *projected
                .get_mut(index)
                .ok_or(BatchError::NoColumn { index, columns })? = true;
        }
        Ok(ArrowDecoder {
            builders: T::builders(&projected, rows),
            schema: std::sync::OnceLock::new(),
            projection: projection.to_vec(),
            rows: 0,
        })
    }

    /// Decodes one stored row into the builders.
    ///
    /// # Errors
    ///
    /// On a version the table does not read, truncated or corrupt bytes, or bytes left
    /// over. The row may then be partly appended: discard the decoder.
    #[inline]
    pub fn push(&mut self, row: &[u8]) -> Result<(), DecodeError> {
        T::push_row(&mut self.builders, row)?;
        self.rows += 1;
        Ok(())
    }

    /// The rows pushed since the last finish.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was pushed since the last finish.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The projected schema: `T`'s fields in projection order.
    #[must_use]
    pub fn schema(&self) -> SchemaRef {
        let schema = self.schema.get_or_init(|| {
            let table = T::schema();
            let fields: Vec<_> = self
                .projection
                .iter()
                .map(|&column| table.field(column).clone())
                .collect();
            std::sync::Arc::new(Schema::new_with_metadata(fields, table.metadata().clone()))
        });
        std::sync::Arc::clone(schema)
    }

    /// The projected columns of the rows pushed so far, in projection order; the decoder
    /// starts over empty.
    pub fn finish_columns(&mut self) -> Vec<ArrayRef> {
        let arrays = T::finish_builders(&mut self.builders);
        self.rows = 0;
        self.projection
            .iter()
            .filter_map(|&column| arrays[column].clone())
            .collect()
    }

    /// The batch of the rows pushed so far, with [`schema`](Self::schema); the decoder
    /// starts over empty.
    ///
    /// # Errors
    ///
    /// If Arrow refuses the columns (after a failed [`push`](Self::push)).
    pub fn finish(&mut self) -> Result<RecordBatch, BatchError> {
        let rows = self.rows;
        let columns = self.finish_columns();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.schema(),
            columns,
            &options,
        )?)
    }
}

/// The column `name` of `batch` as `T`'s array; used by generated code.
#[doc(hidden)]
pub fn column<'a, T: ArrowColumn>(
    batch: &'a RecordBatch,
    name: &'static str,
) -> Result<&'a T::Array, BatchError> {
    let array = batch
        .column_by_name(name)
        .ok_or(BatchError::MissingColumn(name))?;
    let typed = array
        .as_any()
        .downcast_ref::<T::Array>()
        .ok_or_else(|| BatchError::WrongType {
            column: name,
            expected: T::data_type(),
            found: array.data_type().clone(),
        })?;
    // Checked once per column, so that reading a non-nullable column tests no row for null.
    if !T::NULLABLE && typed.null_count() > 0 {
        let row = (0..typed.len())
            .find(|&row| typed.is_null(row))
            .unwrap_or(0);
        return Err(BatchError::Null { column: name, row });
    }
    Ok(typed)
}
