//! Typed tables: a `#[derive(KalamTable)]` struct declared to the engine as one of its
//! tables ([`Engine::create_typed`](crate::Engine::create_typed)).
//!
//! The table is a table like any other: catalog rows (`system.tables` names its Rust type
//! and row version), indexes, USER or SHARED scoping, SQL, the gates. What differs is how
//! its rows are stored and read: in the type's generated row format (its version byte, a
//! tag byte only before `Option` columns), and, once the type is attached in this process,
//! scanned by the type's generated decoder straight into Arrow builders.
//!
//! | path | code |
//! | --- | --- |
//! | storage key of a typed write (`Engine::insert`), point get, key-range scan | generated (`Table::key`, `Table::decode`) |
//! | row encoding of a typed write | generated (`Table::encode`) |
//! | stored rows into Arrow: DataFusion scans, index lookups, prepared fast paths | generated (`ArrowDecoder`) |
//! | row encoding of an SQL write (values from DataFusion or parameters) | shared (`row::Layout`), same bytes |
//! | rows into values for UPDATE, DELETE and index upkeep | shared (`row::Layout`) |
//! | covering index scans (no row read) | shared: the values come from index entries |
//!
//! A custom column type (`kalam::RowValue`, `kalam::KeyPart` and `kalam::ArrowColumn` of
//! your own) must encode its values, in rows and keys, as the standard type of its Arrow
//! type does (`Timestamp(Microsecond)`: as an `i64`), since the shared code reads and
//! writes them as that type.
//!
//! A process that has not attached the type (the `kalam` command, say) reads and writes the
//! table through the shared code, which knows the same format from the catalog: every
//! column's type, whether it is optional, the row version that added it and its default.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;

use datafusion::arrow::array::ArrayRef;
use kalam::{ArrowDecoder, ArrowTable, DecodeError, Table};

use crate::catalog::TableMeta;
use crate::error::Error;
use crate::ids::{NamespaceId, TableId, TableName, UserId};
use crate::models::{ColumnDefinition, TableDefinition, TableType};
use crate::row::value_at;
use crate::value::{ColumnType, Value};

/// A `#[derive(KalamTable)]` type the engine can store as a table: [`Table`] and
/// [`ArrowTable`] (the `arrow` feature of `kalam`). Implemented for every such type.
pub trait TypedTable: Table + ArrowTable + Send + Sync + 'static {}

impl<T: Table + ArrowTable + Send + Sync + 'static> TypedTable for T {}

/// A typed table's generated code, as the engine's scans call it.
pub(crate) trait Generated: Send + Sync + fmt::Debug {
    /// The Rust type's name.
    fn rust_type(&self) -> &'static str;

    /// A decoder of stored rows into the columns `projection`; `None` if the type refuses
    /// the projection (it has checked the columns when attached, so it does not).
    fn decoder(&self, projection: &[usize], rows: usize) -> Option<Box<dyn GeneratedDecoder>>;
}

/// A generated decoder of stored rows into Arrow builders.
pub(crate) trait GeneratedDecoder: Send {
    fn push(&mut self, row: &[u8]) -> Result<(), DecodeError>;

    /// The rows pushed since the last finish.
    fn len(&self) -> usize;

    /// The projected columns of the rows pushed so far; starts over empty.
    fn finish(&mut self) -> Vec<ArrayRef>;
}

impl<T: ArrowTable> GeneratedDecoder for ArrowDecoder<T> {
    #[inline]
    fn push(&mut self, row: &[u8]) -> Result<(), DecodeError> {
        ArrowDecoder::push(self, row)
    }

    fn len(&self) -> usize {
        ArrowDecoder::len(self)
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.finish_columns()
    }
}

/// The generated code of `T`.
pub(crate) struct Model<T>(PhantomData<fn() -> T>);

impl<T> Model<T> {
    pub(crate) fn new() -> Self {
        Model(PhantomData)
    }
}

impl<T> fmt::Debug for Model<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model<{}>", type_name::<T>())
    }
}

impl<T: TypedTable> Generated for Model<T> {
    fn rust_type(&self) -> &'static str {
        type_name::<T>()
    }

    fn decoder(&self, projection: &[usize], rows: usize) -> Option<Box<dyn GeneratedDecoder>> {
        let decoder = ArrowDecoder::<T>::new(projection, rows).ok()?;
        Some(Box::new(decoder))
    }
}

/// The table `T` declares: `T::NAMESPACE`, `T::NAME`.
pub(crate) fn table_id<T: TypedTable>() -> Result<TableId, Error> {
    Ok(TableId {
        namespace: NamespaceId::new(T::NAMESPACE)?,
        name: TableName::new(T::NAME)?,
    })
}

fn unsupported<T>(message: &str) -> Error {
    Error::unsupported(format!("typed table `{}`: {message}", type_name::<T>()))
}

/// The catalog rows `T` declares for a table of kind `kind` created by `by` (its number is
/// the catalog's to give).
pub(crate) fn declare<T: TypedTable>(
    kind: TableType,
    by: &UserId,
) -> Result<(TableDefinition, Vec<ColumnDefinition>), Error> {
    let TableId {
        namespace,
        name: table_name,
    } = table_id::<T>()?;
    if kind == TableType::System {
        return Err(unsupported::<T>(
            "a typed table is USER or SHARED; system tables are the engine's",
        ));
    }
    let schema = T::schema();
    let defaults = defaults::<T>()?;
    let mut columns = Vec::with_capacity(T::COLUMNS.len());
    let mut pk: Vec<(usize, &str)> = Vec::new();
    for (ordinal, (info, field)) in T::COLUMNS.iter().zip(schema.fields()).enumerate() {
        let ty = ColumnType::from_arrow(field.data_type()).ok_or_else(|| {
            unsupported::<T>(&format!(
                "column `{}` is {} ({}); typed tables store bool, i32, i64, f64, String and \
                 Vec<u8>, an Option of those, a type stored `via` one of them, or a column type \
                 of Arrow type Timestamp(Microsecond) stored as an i64",
                info.name,
                info.ty,
                field.data_type()
            ))
        })?;
        if info.nullable != info.optional {
            return Err(unsupported::<T>(&format!(
                "column `{}` ({}) is {} but its row encoding {} a NULL tag; make the field an \
                 `Option` exactly when the column may be NULL",
                info.name,
                info.ty,
                if info.nullable {
                    "nullable"
                } else {
                    "NOT NULL"
                },
                if info.optional { "has" } else { "has no" },
            )));
        }
        if let Some(position) = info.key_position {
            pk.push((position, info.name));
        }
        columns.push(ColumnDefinition {
            namespace: namespace.clone(),
            table_name: table_name.clone(),
            ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
            column_name: info.name.to_owned(),
            data_type: ty,
            nullable: info.nullable,
            primary_key_position: info
                .key_position
                .map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
            added_in_version: (info.since > 0).then_some(u32::from(info.since)),
            default_value: defaults
                .get(ordinal)
                .and_then(|v| v.as_ref())
                .and_then(Value::to_text),
        });
    }
    pk.sort_unstable();
    let definition = TableDefinition {
        namespace,
        table_name,
        table_type: kind,
        number: 0,
        primary_key: pk
            .iter()
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(","),
        column_count: u32::try_from(columns.len()).unwrap_or(u32::MAX),
        created_at: crate::models::now_micros(),
        created_by: by.clone(),
        row_version: Some(u32::from(T::ROW_VERSION)),
        oldest_row_version: Some(u32::from(T::OLDEST_VERSION)),
        rust_type: Some(type_name::<T>().to_owned()),
    };
    Ok((definition, columns))
}

/// The value each column added by a later version has in older rows (`None` for the
/// columns every row holds), as the type's own decoder gives it: from a row of the oldest
/// version the type reads, made of the simplest value of each column it holds.
fn defaults<T: TypedTable>() -> Result<Vec<Option<Value>>, Error> {
    let added: Vec<usize> = (0..T::COLUMNS.len())
        .filter(|&c| T::COLUMNS[c].since > T::OLDEST_VERSION)
        .collect();
    let mut defaults = vec![None; T::COLUMNS.len()];
    if added.is_empty() {
        return Ok(defaults);
    }
    let schema = T::schema();
    let mut row = vec![T::OLDEST_VERSION];
    for (info, field) in T::COLUMNS.iter().zip(schema.fields()) {
        if info.since > T::OLDEST_VERSION {
            continue;
        }
        if info.optional {
            row.push(0);
            continue;
        }
        let zero = match ColumnType::from_arrow(field.data_type()) {
            Some(ColumnType::Boolean) => Value::Boolean(false),
            Some(ColumnType::Int32) => Value::Int32(0),
            Some(ColumnType::Int64 | ColumnType::Timestamp) => Value::Int64(0),
            Some(ColumnType::Float64) => Value::Float64(0.0),
            Some(ColumnType::Text) => Value::Text(String::new()),
            Some(ColumnType::Bytes) | None => Value::Bytes(Vec::new()),
        };
        crate::row::encode_present(&zero, &mut row);
    }
    let failed = |message: String| {
        unsupported::<T>(&format!(
            "its decoder does not read a row of version {}: {message}",
            T::OLDEST_VERSION
        ))
    };
    let mut decoder = ArrowDecoder::<T>::new(&added, 1).map_err(|e| failed(e.to_string()))?;
    decoder.push(&row).map_err(|e| failed(e.to_string()))?;
    for (array, &column) in decoder.finish_columns().iter().zip(&added) {
        let ty =
            ColumnType::from_arrow(schema.field(column).data_type()).unwrap_or(ColumnType::Bytes);
        defaults[column] = Some(value_at(array, ty, 0));
    }
    Ok(defaults)
}

/// How the table stored as `meta` differs from what `T` declares (`definition`, `columns`),
/// if it does in a way `T` cannot take: `Ok(false)` if they are the same, `Ok(true)` if `T`
/// is a later row version that only adds columns (the catalog is then brought to it).
pub(crate) fn compare<T: TypedTable>(
    meta: &TableMeta,
    definition: &TableDefinition,
    columns: &[ColumnDefinition],
) -> Result<bool, Error> {
    let mismatch = |difference: String| Error::TypedTableMismatch {
        table: meta.id.to_string(),
        rust_type: type_name::<T>().to_owned(),
        difference,
    };
    let stored = &meta.definition;
    let Some(version) = stored.row_version else {
        return Err(mismatch(
            "it was declared in SQL, and a Rust type cannot take over its rows".into(),
        ));
    };
    if stored.table_type != definition.table_type {
        return Err(mismatch(format!(
            "it is a {} table, and the type is declared {}",
            stored.table_type.as_str(),
            definition.table_type.as_str()
        )));
    }
    let declared = u32::from(T::ROW_VERSION);
    if version > declared {
        return Err(mismatch(format!(
            "its rows are of version {version}, newer than the type's {declared}"
        )));
    }
    let oldest = stored.oldest_row_version.unwrap_or(version);
    if u32::from(T::OLDEST_VERSION) > oldest {
        return Err(mismatch(format!(
            "it may hold rows of version {oldest}, and the type reads versions {} to {declared}",
            T::OLDEST_VERSION
        )));
    }
    // The columns a row of the stored version holds, as the type declares them.
    let held: Vec<&ColumnDefinition> = columns
        .iter()
        .filter(|c| c.added_in_version.is_none_or(|v| v <= version))
        .collect();
    for (ordinal, column) in meta.columns.iter().enumerate() {
        let stored = crate::catalog::column_definition(meta, ordinal, column);
        let Some(&declared) = held.get(ordinal) else {
            return Err(mismatch(format!(
                "it has column `{}` ({}), which the type does not declare",
                stored.column_name,
                describe(&stored)
            )));
        };
        let same = (
            &stored.column_name,
            stored.data_type,
            stored.nullable,
            stored.primary_key_position,
            stored.added_in_version,
            &stored.default_value,
        ) == (
            &declared.column_name,
            declared.data_type,
            declared.nullable,
            declared.primary_key_position,
            declared.added_in_version,
            &declared.default_value,
        );
        if !same {
            return Err(mismatch(format!(
                "column {ordinal} is stored as `{}` ({}), and declared as `{}` ({})",
                stored.column_name,
                describe(&stored),
                declared.column_name,
                describe(declared)
            )));
        }
    }
    if let Some(extra) = held.get(meta.columns.len()) {
        return Err(mismatch(format!(
            "the type declares column `{}` ({}) in version {version}, which its rows lack",
            extra.column_name,
            describe(extra)
        )));
    }
    Ok(columns.len() > meta.columns.len() || u32::from(T::ROW_VERSION) > version)
}

/// A column as an error shows it: `BIGINT NOT NULL, key part 0, since version 2`.
fn describe(column: &ColumnDefinition) -> String {
    let mut text = column.data_type.sql_name().to_owned();
    if !column.nullable {
        text.push_str(" NOT NULL");
    }
    if let Some(position) = column.primary_key_position {
        text.push_str(&format!(", key part {position}"));
    }
    if let Some(version) = column.added_in_version {
        text.push_str(&format!(", since version {version}"));
        match &column.default_value {
            Some(value) => text.push_str(&format!(" (default {value})")),
            None => text.push_str(" (default NULL)"),
        }
    }
    text
}

/// `Ok` if `meta` is the typed table of `T`, attached in this process.
pub(crate) fn attached<T: TypedTable>(meta: &TableMeta) -> Result<(), Error> {
    if meta.typed_by(type_name::<T>()) {
        return Ok(());
    }
    Err(Error::TypedTableMismatch {
        table: meta.id.to_string(),
        rust_type: type_name::<T>().to_owned(),
        difference: match &meta.definition.rust_type {
            Some(other) if other != type_name::<T>() => format!("it is the table of `{other}`"),
            Some(_) => "the type is not attached: call `Engine::create_typed` with it first".into(),
            None => "it was declared in SQL".into(),
        },
    })
}
