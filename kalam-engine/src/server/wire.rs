//! Values between Arrow and the wire: result columns as PostgreSQL types (text or binary),
//! parameters from the wire as the engine's values.

use std::sync::Arc;
#[cfg(test)]
use std::time::SystemTime;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Schema,
    TimeUnit, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt};
use pgwire::api::Type;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use crate::error::Error;
use crate::value::Value;

/// The PostgreSQL type a column of `ty` goes out as; what has no type of its own goes out
/// as its text.
pub(super) fn pg_type(ty: &DataType) -> Type {
    match ty {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Type::INT8,
        DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Type::BYTEA,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Null => Type::UNKNOWN,
        _ => Type::TEXT,
    }
}

/// The fields of a result of `schema`, each in `format` (text when none is given).
pub(super) fn fields(schema: &Schema, format: Option<&Format>) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let format = format.map_or(FieldFormat::Text, |f| f.format_for(i));
            FieldInfo::new(
                field.name().clone(),
                None,
                None,
                pg_type(field.data_type()),
                format,
            )
        })
        .collect()
}

/// Batches read ahead of the encoding, at most this many.
const READ_AHEAD: usize = 4;

/// The rows of `stream` as data rows of `fields`, as they come: a task of their own reads
/// the batches (the query runs there) and hands them over a bounded channel to the
/// connection's task, which encodes them to the wire. When the connection stops taking
/// rows (the client left), the reader stops and the query's work is dropped.
pub(super) fn streamed(
    mut stream: SendableRecordBatchStream,
    fields: Arc<Vec<FieldInfo>>,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    let (batches, taken) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        loop {
            let batch = tokio::select! {
                batch = stream.next() => batch,
                () = batches.closed() => break,
            };
            let Some(batch) = batch else { break };
            let failed = batch.is_err();
            if batches.send(batch).await.is_err() || failed {
                break;
            }
        }
    });
    futures::stream::unfold((taken, fields), |(mut taken, fields)| async move {
        let rows: Vec<PgWireResult<DataRow>> = match taken.recv().await? {
            Ok(batch) => match rows(&batch, &fields) {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(err) => vec![Err(err)],
            },
            Err(err) => vec![Err(super::conn::user_error(&Error::from_datafusion(err)))],
        };
        Some((futures::stream::iter(rows), (taken, fields)))
    })
    .flatten()
}

/// The rows of `batch` as data rows of `fields`.
pub(super) fn rows(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> PgWireResult<Vec<DataRow>> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let mut encoder = DataRowEncoder::new(Arc::clone(fields));
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for ((column, formatter), field) in
            batch.columns().iter().zip(&formatters).zip(fields.iter())
        {
            encode(&mut encoder, column.as_ref(), formatter, field, row)?;
        }
        out.push(encoder.take_row());
    }
    Ok(out)
}

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

fn encode(
    encoder: &mut DataRowEncoder,
    column: &dyn Array,
    formatter: &ArrayFormatter<'_>,
    field: &FieldInfo,
    row: usize,
) -> PgWireResult<()> {
    if column.is_null(row) {
        return encoder.encode_field(&None::<i32>);
    }
    match column.data_type() {
        DataType::Boolean => encoder.encode_field(&column.as_boolean().value(row)),
        DataType::Int8 => {
            encoder.encode_field(&i16::from(column.as_primitive::<Int8Type>().value(row)))
        }
        DataType::Int16 => encoder.encode_field(&column.as_primitive::<Int16Type>().value(row)),
        DataType::UInt8 => {
            encoder.encode_field(&i16::from(column.as_primitive::<UInt8Type>().value(row)))
        }
        DataType::Int32 => encoder.encode_field(&column.as_primitive::<Int32Type>().value(row)),
        DataType::UInt16 => {
            encoder.encode_field(&i32::from(column.as_primitive::<UInt16Type>().value(row)))
        }
        DataType::Int64 => encoder.encode_field(&column.as_primitive::<Int64Type>().value(row)),
        DataType::UInt32 => {
            encoder.encode_field(&i64::from(column.as_primitive::<UInt32Type>().value(row)))
        }
        DataType::UInt64 => {
            let value = column.as_primitive::<UInt64Type>().value(row);
            let value = i64::try_from(value).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            encoder.encode_field(&value)
        }
        DataType::Float32 => encoder.encode_field(&column.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => encoder.encode_field(&column.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => encoder.encode_field(&column.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => encoder.encode_field(&column.as_string::<i64>().value(row)),
        DataType::Utf8View => encoder.encode_field(&column.as_string_view().value(row)),
        DataType::Binary => encoder.encode_field(&column.as_binary::<i32>().value(row)),
        DataType::LargeBinary => encoder.encode_field(&column.as_binary::<i64>().value(row)),
        DataType::BinaryView => encoder.encode_field(&column.as_binary_view().value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
            match field.format() {
                // Binary: microseconds since PostgreSQL's epoch, as an int8 is sent.
                FieldFormat::Binary => encoder.encode_field_with_type_and_format(
                    &micros.saturating_sub(PG_EPOCH_MICROS),
                    &Type::INT8,
                    FieldFormat::Binary,
                    field.format_options(),
                ),
                FieldFormat::Text => {
                    encoder.encode_field(&formatter.value(row).to_string().replacen('T', " ", 1))
                }
            }
        }
        _ => encoder.encode_field(&formatter.value(row).to_string()),
    }
}

#[cfg(test)]
fn micros(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// Parameter `i` of `portal`, read as `ty` (what the client declared, or what the engine
/// inferred), as the engine's value.
pub(super) fn parameter<S: Clone>(portal: &Portal<S>, i: usize, ty: &Type) -> PgWireResult<Value> {
    let value = match *ty {
        Type::BOOL => portal.parameter::<bool>(i, ty)?.map(Value::Boolean),
        Type::INT2 => portal
            .parameter::<i16>(i, ty)?
            .map(|v| Value::Int32(i32::from(v))),
        Type::INT4 => portal.parameter::<i32>(i, ty)?.map(Value::Int32),
        Type::INT8 => portal.parameter::<i64>(i, ty)?.map(Value::Int64),
        Type::FLOAT4 => portal
            .parameter::<f32>(i, ty)?
            .map(|v| Value::Float64(f64::from(v))),
        Type::FLOAT8 => portal.parameter::<f64>(i, ty)?.map(Value::Float64),
        Type::BYTEA => portal.parameter::<Vec<u8>>(i, ty)?.map(Value::Bytes),
        // Binary: microseconds since PostgreSQL's epoch; text: cast to the parameter's type.
        Type::TIMESTAMP if portal.parameter_format.is_binary(i) => portal
            .parameter::<i64>(i, &Type::INT8)?
            .map(|m| Value::Timestamp(m.saturating_add(PG_EPOCH_MICROS))),
        // Text, and types the engine has not: their text, cast to the parameter's type.
        _ => portal.parameter::<String>(i, &Type::TEXT)?.map(Value::Text),
    };
    Ok(value.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_count_microseconds_from_the_epoch() {
        let offset = |m: u64| SystemTime::UNIX_EPOCH + Duration::from_micros(m);
        assert_eq!(micros(offset(1_700_000_000_123_456)), 1_700_000_000_123_456);
        assert_eq!(
            micros(SystemTime::UNIX_EPOCH - Duration::from_secs(86_400)),
            -86_400_000_000
        );
        assert_eq!(micros(offset(PG_EPOCH_MICROS as u64)), PG_EPOCH_MICROS);
    }

    #[test]
    fn every_engine_type_has_its_own_postgres_type() {
        for (arrow, pg) in [
            (DataType::Boolean, Type::BOOL),
            (DataType::Int32, Type::INT4),
            (DataType::Int64, Type::INT8),
            (DataType::Float64, Type::FLOAT8),
            (DataType::Utf8, Type::TEXT),
            (DataType::Binary, Type::BYTEA),
            (
                DataType::Timestamp(TimeUnit::Microsecond, None),
                Type::TIMESTAMP,
            ),
        ] {
            assert_eq!(pg_type(&arrow), pg);
        }
    }
}
