//! The `kalam` catalog DataFusion resolves names in: one schema per namespace, and
//! `system`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};

use super::system::{self, SYSTEM, SystemTable};
use super::table::KalamTableProvider;
use crate::shared::Shared;

/// The name of the catalog.
pub(crate) const CATALOG: &str = "kalam";

/// The `kalam` catalog: one schema per namespace, and `system`.
#[derive(Debug)]
pub(crate) struct KalamCatalog {
    pub(crate) shared: Arc<Shared>,
}

impl CatalogProvider for KalamCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .catalog
            .namespaces()
            .into_iter()
            .map(|n| n.name.to_string())
            .collect();
        names.push(SYSTEM.to_owned());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        (name == SYSTEM || self.shared.catalog.has_namespace(name)).then(|| {
            Arc::new(NamespaceSchema {
                shared: Arc::clone(&self.shared),
                namespace: name.to_owned(),
            }) as Arc<dyn SchemaProvider>
        })
    }
}

#[derive(Debug)]
struct NamespaceSchema {
    shared: Arc<Shared>,
    namespace: String,
}

#[async_trait]
impl SchemaProvider for NamespaceSchema {
    fn table_names(&self) -> Vec<String> {
        if self.namespace == SYSTEM {
            return system::NAMES.iter().map(|n| (*n).to_owned()).collect();
        }
        self.shared.catalog.table_names(&self.namespace)
    }

    async fn table(
        &self,
        name: &str,
    ) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        if self.namespace == SYSTEM {
            return Ok(SystemTable::new(Arc::clone(&self.shared), name)
                .map(|t| Arc::new(t) as Arc<dyn TableProvider>));
        }
        Ok(self
            .shared
            .catalog
            .table_by_name(&self.namespace, name)
            .map(|meta| {
                Arc::new(KalamTableProvider::new(Arc::clone(&self.shared), meta))
                    as Arc<dyn TableProvider>
            }))
    }

    fn table_exist(&self, name: &str) -> bool {
        if self.namespace == SYSTEM {
            return system::NAMES.contains(&name);
        }
        self.shared
            .catalog
            .table_by_name(&self.namespace, name)
            .is_some()
    }
}
