//! What a statement returns.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use datafusion::arrow::util::pretty::pretty_format_batches;

/// The result of a statement: Arrow batches (for writes, one `count` row; for DDL, none).
#[derive(Clone, Debug)]
pub struct QueryResult {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub(crate) fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        QueryResult { schema, batches }
    }

    /// The result of a statement that returns no rows (DDL).
    pub(crate) fn empty() -> Self {
        QueryResult {
            schema: Arc::new(Schema::empty()),
            batches: Vec::new(),
        }
    }

    /// The schema of the rows.
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows.
    #[must_use]
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// How many rows there are.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The rows a write changed, when this is a write's result.
    #[must_use]
    pub fn rows_affected(&self) -> Option<u64> {
        let [batch] = self.batches.as_slice() else {
            return None;
        };
        if batch.num_columns() != 1
            || batch.schema().field(0).name() != "count"
            || batch.num_rows() != 1
        {
            return None;
        }
        batch
            .column(0)
            .as_primitive_opt::<UInt64Type>()
            .map(|c| c.value(0))
    }
}

impl fmt::Display for QueryResult {
    /// The rows as a table, the way DataFusion's CLI prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema.fields().is_empty() {
            return Ok(());
        }
        match pretty_format_batches(&self.batches) {
            Ok(table) if !self.batches.is_empty() => write!(f, "{table}"),
            _ => {
                // No batches: still show the header.
                let empty = RecordBatch::new_empty(Arc::clone(&self.schema));
                match pretty_format_batches(&[empty]) {
                    Ok(table) => write!(f, "{table}"),
                    Err(_) => Err(fmt::Error),
                }
            }
        }
    }
}

/// The schema of a write's result: one `count` column.
pub(crate) fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

/// The result of a write: one `count` row, as DataFusion's DML returns.
pub(crate) fn changed(count: u64) -> QueryResult {
    let schema = count_schema();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(UInt64Array::from(vec![count]))],
    )
    .unwrap_or_else(|_| RecordBatch::new_empty(Arc::clone(&schema)));
    QueryResult::new(schema, vec![batch])
}
