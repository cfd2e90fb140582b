//! Index nested-loop joins. DataFusion joins `a JOIN b ON a.k = b.id` by hashing one side
//! and scanning the other whole. When one side is a scan of every row of a table and the
//! join key is that table's one-column primary key, [`LookupJoinRule`] makes it a
//! [`LookupJoinExec`]: the other side runs first, and its keys are looked up in the
//! table, one RocksDB seek each, sorted. A side of more than [`MAX_LOOKUPS`] rows joins
//! as before, through a hash join fed with the rows already read.

use std::fmt;
use std::sync::Arc;

use futures::TryStreamExt;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{JoinType, NullEquality, Result, ScalarValue};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::properties;
use super::scan::ScanExec;
use crate::error::{Error, StorageError};
use crate::row::Decoder;
use crate::session::{Reads, running_txn, scope_of};
use crate::storage::keyspace;
use crate::txn::Txn;
use crate::value::Value;

/// The most rows of the driving side that are looked up one by one.
pub(crate) const MAX_LOOKUPS: usize = 1024;

/// Turns hash joins on a full scan's primary key into [`LookupJoinExec`]s.
#[derive(Debug, Default)]
pub(crate) struct LookupJoinRule;

impl PhysicalOptimizerRule for LookupJoinRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let lookup = node
                .downcast_ref::<HashJoinExec>()
                .and_then(LookupJoinExec::of);
            Ok(match lookup {
                Some(lookup) => Transformed::yes(Arc::new(lookup) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "kalam_lookup_join"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// An inner equi-join that looks the driving side's keys up in a table's primary key.
#[derive(Clone, Debug)]
pub(crate) struct LookupJoinExec {
    /// The side that runs first.
    driver: Arc<dyn ExecutionPlan>,
    /// Its join key.
    key: Arc<dyn PhysicalExpr>,
    /// The full scan of the looked-up table: not a child, as it runs only for a driver of
    /// more than [`MAX_LOOKUPS`] rows.
    table: Arc<dyn ExecutionPlan>,
    /// The table's join key, its primary-key column in the scan's output.
    table_key: Arc<dyn PhysicalExpr>,
    /// Whether the looked-up table is the join's left side.
    table_left: bool,
    /// The hash join's columns (left, then right) and its projection of them.
    join_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
}

impl LookupJoinExec {
    fn of(join: &HashJoinExec) -> Option<Self> {
        let simple = *join.join_type() == JoinType::Inner
            && join.filter().is_none()
            && join.null_equality() == NullEquality::NullEqualsNothing
            && !join.null_aware
            && join.fetch().is_none();
        let [(left_key, right_key)] = join.on() else {
            return None;
        };
        if !simple {
            return None;
        }
        let (table, table_key, key, table_left, driver) =
            if let Some(scan) = pk_scan(join.right(), right_key) {
                (scan, right_key, left_key, false, join.left())
            } else if let Some(scan) = pk_scan(join.left(), left_key) {
                (scan, left_key, right_key, true, join.right())
            } else {
                return None;
            };
        Some(LookupJoinExec {
            driver: Arc::clone(driver),
            key: Arc::clone(key),
            table: Arc::clone(table),
            table_key: Arc::clone(table_key),
            table_left,
            join_schema: Arc::clone(join.join_schema()),
            projection: join.projection.as_deref().map(<[usize]>::to_vec),
            properties: properties(join.schema()),
        })
    }

    fn scan(&self) -> &ScanExec {
        self.table
            .downcast_ref::<ScanExec>()
            .expect("a lookup join's table is a scan")
    }

    /// The join, done as DataFusion would have done it, over the driver's rows already read.
    fn hash_join(
        &self,
        rows: RecordBatch,
        task: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let driver = MemorySourceConfig::try_new_exec(&[vec![rows]], self.driver.schema(), None)?;
        let table_key = Arc::clone(&self.table_key);
        let driver_key = Arc::clone(&self.key);
        let (left, right, on): (Arc<dyn ExecutionPlan>, Arc<dyn ExecutionPlan>, _) =
            if self.table_left {
                (
                    Arc::clone(&self.table),
                    driver,
                    vec![(table_key, driver_key)],
                )
            } else {
                (
                    driver,
                    Arc::clone(&self.table),
                    vec![(driver_key, table_key)],
                )
            };
        HashJoinExec::try_new(
            left,
            right,
            on,
            None,
            &JoinType::Inner,
            self.projection.clone(),
            PartitionMode::CollectLeft,
            NullEquality::NullEqualsNothing,
            false,
        )?
        .execute(0, task)
    }

    /// The joined rows of `rows`, the driver's.
    fn lookup(&self, rows: &RecordBatch, txn: Option<&Txn>) -> Result<RecordBatch> {
        let scan = self.scan();
        let meta = &scan.meta;
        let ty = meta.columns[meta.pk[0]].ty;
        let keys = self.key.evaluate(rows)?.into_array(rows.num_rows())?;
        // Each driver row's encoded key, if it has one that can match.
        let mut wanted: Vec<(Vec<u8>, u32)> = Vec::with_capacity(rows.num_rows());
        for row in 0..rows.num_rows() {
            let scalar = ScalarValue::try_from_array(&keys, row)?;
            if let Some(value) = Value::from_scalar(&scalar, ty)
                && value != Value::Null
            {
                let mut key = Vec::new();
                value.write_key(&mut key);
                wanted.push((key, u32::try_from(row).unwrap_or(u32::MAX)));
            }
        }
        let mut sorted: Vec<Vec<u8>> = wanted.iter().map(|(key, _)| key.clone()).collect();
        keyspace::sort_keys(&mut sorted);
        sorted.dedup();
        // Each row found decoded once, however many driver rows want it; `found[i]`: the
        // position of `sorted[i]`'s row among them (rows come in the order of `sorted`).
        let mut decoder = Decoder::new(meta, &scan.projection, sorted.len());
        let mut found: Vec<Option<u32>> = vec![None; sorted.len()];
        let (mut next, mut count) = (0, 0u32);
        Reads::of(&scan.shared.storage, txn)
            .view()
            .visit_many(
                meta.number,
                scope_of(meta, &scan.user),
                &sorted,
                |pk, row| {
                    while next < sorted.len() && sorted[next].as_slice() != pk {
                        next += 1;
                    }
                    if let Some(slot) = found.get_mut(next) {
                        *slot = Some(count);
                    }
                    count += 1;
                    decoder.push(row).map_err(StorageError::corrupt_row)
                },
            )
            .map_err(|e| Error::from(e).into_datafusion())?;
        let table = decoder.finish(Arc::clone(&scan.schema))?;
        let (mut driver_rows, mut table_rows) = (Vec::new(), Vec::new());
        for (key, row) in &wanted {
            let at = sorted.binary_search(key).ok().and_then(|i| found[i]);
            if let Some(at) = at {
                driver_rows.push(*row);
                table_rows.push(at);
            }
        }
        let pick = |batch: &RecordBatch, indices: Vec<u32>| -> Result<Vec<ArrayRef>> {
            let indices = UInt32Array::from(indices);
            Ok(batch
                .columns()
                .iter()
                .map(|column| take(column, &indices, None))
                .collect::<Result<_, _>>()?)
        };
        let driver = pick(rows, driver_rows)?;
        let table = pick(&table, table_rows)?;
        let columns = if self.table_left {
            [table, driver].concat()
        } else {
            [driver, table].concat()
        };
        let joined = RecordBatch::try_new(Arc::clone(&self.join_schema), columns)?;
        Ok(match &self.projection {
            Some(projection) => joined.project(projection)?,
            None => joined,
        })
    }
}

/// The scan under `plan` (seen through `CooperativeExec`) when it reads every row of a
/// table and `key` is the table's one-column primary key.
fn pk_scan<'a>(
    plan: &'a Arc<dyn ExecutionPlan>,
    key: &Arc<dyn PhysicalExpr>,
) -> Option<&'a Arc<dyn ExecutionPlan>> {
    let plan = match plan.downcast_ref::<CooperativeExec>() {
        Some(cooperative) => cooperative.input(),
        None => plan,
    };
    let scan = plan.downcast_ref::<ScanExec>()?;
    let key = key.downcast_ref::<Column>()?;
    let on_pk =
        matches!(scan.meta.pk.as_slice(), [pk] if scan.projection.get(key.index()) == Some(pk));
    (scan.is_full() && on_pk).then_some(plan)
}

impl DisplayAs for LookupJoinExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scan = self.scan();
        let columns: Vec<&str> = scan
            .projection
            .iter()
            .map(|&c| scan.meta.columns[c].name.as_str())
            .collect();
        write!(
            f,
            "KalamLookupJoinExec: {} = {}.{} ({}), columns=[{}], a primary key get per row \
             (over {MAX_LOOKUPS} rows: a hash join with a full scan)",
            self.key,
            scan.meta.id,
            scan.meta.columns[scan.meta.pk[0]].name,
            scan.meta.kind,
            columns.join(", ")
        )
    }
}

impl ExecutionPlan for LookupJoinExec {
    fn name(&self) -> &str {
        "KalamLookupJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.driver]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        f(&self.key)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [driver] = <[_; 1]>::try_from(children).map_err(|_| {
            datafusion::error::DataFusionError::Internal("a lookup join has one child".into())
        })?;
        Ok(Arc::new(LookupJoinExec {
            driver,
            ..self.as_ref().clone()
        }))
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let this = self.clone();
        let schema = self.schema();
        let driver =
            datafusion::physical_plan::collect(Arc::clone(&self.driver), Arc::clone(&context));
        let run = async move {
            let batches = driver.await?;
            let rows = concat_batches(&this.driver.schema(), &batches)?;
            if rows.num_rows() > MAX_LOOKUPS {
                return this.hash_join(rows, context);
            }
            let joined = this.lookup(&rows, running_txn(&context).as_deref())?;
            let schema = joined.schema();
            Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::once(async { Ok(joined) }),
            )) as SendableRecordBatchStream)
        };
        let stream = futures::stream::once(run).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}
