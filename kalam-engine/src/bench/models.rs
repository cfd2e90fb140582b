//! The suite's tables declared in Rust (`--tables typed`): the columns of the SQL
//! declarations in `data.rs`, the same names and types, as `#[derive(KalamTable)]` structs
//! that the engine stores and scans with their generated code.

use kalam::__private::arrow_array::PrimitiveArray;
use kalam::__private::arrow_array::builder::TimestampMicrosecondBuilder;
use kalam::__private::arrow_array::types::TimestampMicrosecondType;
use kalam::__private::arrow_schema::{DataType, TimeUnit};
use kalam::{ArrowColumn, ArrowRow, DecodeError, KalamTable, RowValue};

use crate::{Engine, Error, TableType, UserId};

/// `sbtest1`.
#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "sbtest1", namespace = "sb")]
pub(crate) struct Sbtest1 {
    #[column(primary_key)]
    pub(crate) id: i64,
    pub(crate) k: i64,
    pub(crate) c: String,
    pub(crate) pad: String,
}

/// `bulk`, shaped like `sbtest1`.
#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "bulk", namespace = "sb")]
pub(crate) struct Bulk {
    #[column(primary_key)]
    pub(crate) id: i64,
    pub(crate) k: i64,
    pub(crate) c: String,
    pub(crate) pad: String,
}

/// A `TIMESTAMP` column: microseconds since the epoch, stored as an `i64` is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Micros(pub(crate) i64);

impl RowValue for Micros {
    fn row_len(&self) -> usize {
        self.0.row_len()
    }
    fn encode_row(&self, out: &mut Vec<u8>) {
        self.0.encode_row(out);
    }
    fn decode_row(input: &mut &[u8]) -> Result<Self, DecodeError> {
        i64::decode_row(input).map(Micros)
    }
}

impl ArrowColumn for Micros {
    type Builder = TimestampMicrosecondBuilder;
    type Array = PrimitiveArray<TimestampMicrosecondType>;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    }
    fn builder(rows: usize, _data: usize) -> Self::Builder {
        TimestampMicrosecondBuilder::with_capacity(rows)
    }
    fn append(&self, builder: &mut Self::Builder) {
        builder.append_value(self.0);
    }
    fn append_null(builder: &mut Self::Builder) {
        builder.append_null();
    }
    fn read(array: &Self::Array, row: usize) -> Self {
        Micros(array.value(row))
    }
}

impl ArrowRow for Micros {}

/// The table of the typed tests: sysbench's column types in the engine's.
#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "typed", namespace = "sb")]
pub(crate) struct Types {
    #[column(primary_key)]
    pub(crate) id: i64,
    pub(crate) tiny_int_col: i32,
    pub(crate) unsigned_tiny_int_col: i32,
    pub(crate) small_int_col: i32,
    pub(crate) unsigned_small_int_col: i32,
    pub(crate) medium_int_col: i32,
    pub(crate) unsigned_medium_int_col: i32,
    pub(crate) int_col: i32,
    pub(crate) unsigned_int_col: i64,
    pub(crate) big_int_col: i64,
    pub(crate) unsigned_big_int_col: i64,
    pub(crate) decimal_col: f64,
    pub(crate) float_col: f64,
    pub(crate) double_col: f64,
    pub(crate) bit_col: bool,
    pub(crate) char_col: String,
    pub(crate) var_char_col: String,
    pub(crate) tiny_text_col: String,
    pub(crate) text_col: String,
    pub(crate) medium_text_col: String,
    pub(crate) long_text_col: String,
    pub(crate) year_col: i32,
    pub(crate) blob_col: Vec<u8>,
    pub(crate) timestamp_col: Micros,
}

/// Declares the three tables on `engine`, as `root`.
pub(crate) fn create(engine: &Engine, root: &UserId) -> Result<(), Error> {
    engine.create_typed::<Sbtest1>(root, TableType::Shared)?;
    engine.create_typed::<Types>(root, TableType::Shared)?;
    engine.create_typed::<Bulk>(root, TableType::Shared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::data;

    /// The Rust declarations are the SQL ones: the same columns, types and NULLs.
    #[test]
    fn the_declarations_agree() {
        let dir = tempfile::tempdir().unwrap();
        let root = UserId::new("root").unwrap();
        let describe = |engine: &Engine| {
            engine
                .sql_blocking(
                    &root,
                    "SELECT table_name, column_name, data_type, nullable, primary_key_position \
                     FROM system.columns ORDER BY table_name, ordinal",
                )
                .unwrap()
                .to_string()
        };
        let sql = Engine::open(dir.path().join("sql")).unwrap();
        sql.sql_blocking(&root, "CREATE NAMESPACE sb").unwrap();
        let typed_ddl = data::typed_ddl();
        for statement in [data::SBTEST_DDL[0], &typed_ddl[0], data::BULK_DDL] {
            sql.sql_blocking(&root, statement).unwrap();
        }
        let typed = Engine::open(dir.path().join("typed")).unwrap();
        typed.sql_blocking(&root, "CREATE NAMESPACE sb").unwrap();
        create(&typed, &root).unwrap();
        assert_eq!(describe(&sql), describe(&typed));
        // And a row written through SQL reads back as the struct.
        typed
            .sql_blocking(&root, "INSERT INTO sb.sbtest1 VALUES (1, 2, 'c', 'pad')")
            .unwrap();
        let row = typed.get::<Sbtest1>(&root, &Sbtest1::key_for(&1)).unwrap();
        assert_eq!(
            row,
            Some(Sbtest1 {
                id: 1,
                k: 2,
                c: "c".into(),
                pad: "pad".into()
            })
        );
    }
}
