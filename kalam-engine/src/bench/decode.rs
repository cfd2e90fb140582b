//! The two ways a scan decodes a typed table's stored rows into Arrow, on the same bytes:
//! the type's generated decoder (`kalam::ArrowDecoder`, what the engine's scans use once
//! the type is attached) and the engine's shared run-time decoder (what they use for a
//! table declared in SQL, reading the same format from the catalog's description). For
//! the criterion pair in `benches/decode.rs`.
//!
//! ```
//! use kalam_engine::bench::decode::{DecodePair, Table};
//!
//! let pair = DecodePair::new(Table::Sbtest1, 100);
//! let all = [0, 1, 2, 3];
//! assert_eq!(pair.generated(&all), pair.shared(&all));
//! ```

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;

use super::data::{self, Rng};
use super::models::{Sbtest1, Types};
use crate::catalog::{TableMeta, table_meta};
use crate::ids::UserId;
use crate::models::TableType;
use crate::row::{Decoder, RowDecoder};
use crate::typed::{self, Model, TypedTable};

/// A table of the suite, declared in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// `sbtest1`: four columns, two of them text.
    Sbtest1,
    /// The table of the typed tests: 24 columns of every type.
    Types,
}

/// Stored rows of a table, and the table as the engine knows it.
pub struct DecodePair {
    meta: Arc<TableMeta>,
    rows: Vec<Vec<u8>>,
}

impl std::fmt::Debug for DecodePair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodePair")
            .field("table", &self.meta.id)
            .field("rows", &self.rows.len())
            .finish()
    }
}

fn meta_of<T: TypedTable>() -> Arc<TableMeta> {
    let root = UserId::new("root").unwrap_or_else(|_| unreachable!("`root` is a user name"));
    let (definition, columns) = typed::declare::<T>(TableType::Shared, &root)
        .unwrap_or_else(|e| unreachable!("the suite's tables are valid typed tables: {e}"));
    let meta = table_meta(definition, &columns, Vec::new())
        .unwrap_or_else(|e| unreachable!("a declared table has a valid description: {e}"));
    Arc::new(meta.with_generated(Arc::new(Model::<T>::new())))
}

impl DecodePair {
    /// `rows` rows of `table`, generated as the suite generates them, in the table's
    /// stored format.
    #[must_use]
    pub fn new(table: Table, rows: usize) -> Self {
        let meta = match table {
            Table::Sbtest1 => meta_of::<Sbtest1>(),
            Table::Types => meta_of::<Types>(),
        };
        let mut rng = Rng::new(1);
        let rows = (1..=rows as i64)
            .map(|id| {
                let values = match table {
                    Table::Sbtest1 => data::sbtest_row(&mut rng, id, 10_000),
                    Table::Types => data::typed_row(&mut rng, id),
                };
                let mut row = Vec::new();
                meta.layout
                    .encode(&values, &mut row)
                    .unwrap_or_else(|c| unreachable!("column {c} of a generated row is NULL"));
                row
            })
            .collect();
        DecodePair { meta, rows }
    }

    /// How many columns the table has.
    #[must_use]
    pub fn columns(&self) -> usize {
        self.meta.columns.len()
    }

    /// The rows decoded by the type's generated decoder into the columns `projection`.
    ///
    /// # Panics
    ///
    /// If a row does not decode (the rows here are the table's own).
    #[must_use]
    pub fn generated(&self, projection: &[usize]) -> RecordBatch {
        let mut decoder = Decoder::new(&self.meta, projection, self.rows.len());
        assert!(matches!(decoder, Decoder::Generated { .. }));
        for row in &self.rows {
            decoder.push(row).expect("a stored row decodes");
        }
        decoder.finish(self.schema(projection)).expect("a batch")
    }

    /// The rows decoded by the engine's shared run-time decoder into the columns
    /// `projection`.
    ///
    /// # Panics
    ///
    /// If a row does not decode.
    #[must_use]
    pub fn shared(&self, projection: &[usize]) -> RecordBatch {
        let mut decoder =
            RowDecoder::new(Arc::clone(&self.meta.layout), projection, self.rows.len());
        for row in &self.rows {
            decoder.push(row).expect("a stored row decodes");
        }
        decoder.finish(self.schema(projection)).expect("a batch")
    }

    fn schema(&self, projection: &[usize]) -> datafusion::arrow::datatypes::SchemaRef {
        Arc::new(
            self.meta
                .schema
                .project(projection)
                .expect("a projection of the table's columns"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalam::Table as _;

    #[test]
    fn both_decoders_give_the_same_batches() {
        for table in [Table::Sbtest1, Table::Types] {
            let pair = DecodePair::new(table, 50);
            let all: Vec<usize> = (0..pair.columns()).collect();
            for projection in [
                all.clone(),
                vec![0],
                vec![2, 0],
                all.iter().rev().copied().collect(),
            ] {
                assert_eq!(
                    pair.generated(&projection),
                    pair.shared(&projection),
                    "{table:?} {projection:?}"
                );
            }
        }
    }

    #[test]
    fn the_rows_are_the_generated_encoders() {
        let pair = DecodePair::new(Table::Sbtest1, 3);
        let mut rng = Rng::new(1);
        for (id, stored) in (1..=3).zip(&pair.rows) {
            let values = data::sbtest_row(&mut rng, id, 10_000);
            let text = |v: &crate::Value| match v {
                crate::Value::Text(t) => t.clone(),
                other => unreachable!("{other:?}"),
            };
            let row = Sbtest1 {
                id,
                k: match values[1] {
                    crate::Value::Int64(k) => k,
                    _ => unreachable!(),
                },
                c: text(&values[2]),
                pad: text(&values[3]),
            };
            assert_eq!(&row.to_row(), stored);
        }
    }
}
