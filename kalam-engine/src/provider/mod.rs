//! DataFusion's view of the engine: the catalog of namespaces and tables, table
//! providers, and the execution plans of scans, writes and lookup joins.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `catalog.rs` | the `kalam` catalog: a schema per namespace, and `system` |
//! | `table.rs` | the table provider of a user or shared table |
//! | `scan.rs` | `KalamScanExec`: a scan through its access path |
//! | `dml.rs` | `KalamDmlExec`: INSERT, UPDATE and DELETE |
//! | `lookup.rs` | `KalamLookupJoinExec` and the rule that plans it |
//! | `system.rs` | the system tables |

mod catalog;
mod dml;
mod lookup;
mod scan;
mod self_join;
mod system;
mod table;

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{Partitioning, PlanProperties};

pub(crate) use catalog::{CATALOG, KalamCatalog};
pub(crate) use lookup::LookupJoinRule;
pub(crate) use self_join::SelfJoinRule;
pub(crate) use system::{SYSTEM, SystemTable};
pub(crate) use table::KalamTableProvider;

fn properties(schema: SchemaRef) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(1),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}
