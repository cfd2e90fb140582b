//! The table `benches/table.rs` measures, and its hand-written twins: a storage key, a row
//! encoder and decoder, and Arrow batches both ways, written the way a careful engineer
//! would. `tests/table_twins.rs` checks that they produce what the generated code does.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, UInt8Builder,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt8Array,
};
use kalam::{ArrowTable, DecodeError, KalamTable, RowValue};

#[derive(KalamTable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[table(name = "jobs", namespace = "system")]
pub(crate) struct Job {
    #[column(primary_key)]
    pub(crate) namespace: String,
    #[column(primary_key)]
    pub(crate) job_id: i64,
    pub(crate) status: u8,
    pub(crate) created_at: i64,
    pub(crate) progress: f64,
    pub(crate) name: String,
    pub(crate) note: Option<String>,
    pub(crate) payload: Vec<u8>,
}

pub(crate) fn rows(n: usize) -> Vec<Job> {
    (0..n as i64)
        .map(|i| Job {
            namespace: format!("ns{}", i % 7),
            job_id: i * 7919 - 40_000,
            status: (i % 5) as u8,
            created_at: 1_700_000_000_000 + i,
            progress: i as f64 / 3.0,
            name: format!("flush-table-{i}"),
            note: (i % 3 == 0).then(|| format!("note {i}")),
            payload: vec![(i % 256) as u8; (i % 32) as usize],
        })
        .collect()
}

/// The key format written by hand: escaped, terminated string; sign-flipped big-endian.
pub(crate) fn key_by_hand(job: &Job) -> Vec<u8> {
    let nuls = job.namespace.bytes().filter(|&b| b == 0).count();
    let mut out = Vec::with_capacity(job.namespace.len() + nuls + 2 + 8);
    for &b in job.namespace.as_bytes() {
        if b == 0 {
            out.extend_from_slice(&[0, 0xFF]);
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&((job.job_id as u64) ^ (1 << 63)).to_be_bytes());
    out
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bytes_by_hand(bytes: &[u8], out: &mut Vec<u8>) {
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// The row format written by hand.
pub(crate) fn encode_by_hand(job: &Job, out: &mut Vec<u8>) {
    out.reserve(1 + 5 + job.namespace.len() + 8 + 1 + 8 + 8 + 5 + job.name.len() + 6 + 64);
    out.push(1);
    bytes_by_hand(job.namespace.as_bytes(), out);
    out.extend_from_slice(&job.job_id.to_le_bytes());
    out.push(job.status);
    out.extend_from_slice(&job.created_at.to_le_bytes());
    out.extend_from_slice(&job.progress.to_le_bytes());
    bytes_by_hand(job.name.as_bytes(), out);
    match &job.note {
        None => out.push(0),
        Some(note) => {
            out.push(1);
            bytes_by_hand(note.as_bytes(), out);
        }
    }
    bytes_by_hand(&job.payload, out);
}

pub(crate) fn decode_by_hand(bytes: &[u8]) -> Result<Job, DecodeError> {
    let mut input = bytes;
    if input.first() != Some(&1) {
        return Err(DecodeError::InvalidTag(input.first().copied().unwrap_or(0)));
    }
    input = &input[1..];
    // The codecs of the primitives are the shared, public ones; what differs is the glue.
    let namespace = String::decode_row(&mut input)?;
    let job_id = i64::decode_row(&mut input)?;
    let status = u8::decode_row(&mut input)?;
    let created_at = i64::decode_row(&mut input)?;
    let progress = f64::decode_row(&mut input)?;
    let name = String::decode_row(&mut input)?;
    let note = Option::<String>::decode_row(&mut input)?;
    let payload = Vec::<u8>::decode_row(&mut input)?;
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes(input.len()));
    }
    Ok(Job {
        namespace,
        job_id,
        status,
        created_at,
        progress,
        name,
        note,
        payload,
    })
}

pub(crate) fn batch_by_hand(rows: &[Job]) -> RecordBatch {
    let text = |f: fn(&Job) -> usize| rows.iter().map(f).sum::<usize>();
    let mut namespace = StringBuilder::with_capacity(rows.len(), text(|j| j.namespace.len()));
    let mut job_id = Int64Builder::with_capacity(rows.len());
    let mut status = UInt8Builder::with_capacity(rows.len());
    let mut created_at = Int64Builder::with_capacity(rows.len());
    let mut progress = Float64Builder::with_capacity(rows.len());
    let mut name = StringBuilder::with_capacity(rows.len(), text(|j| j.name.len()));
    let mut note =
        StringBuilder::with_capacity(rows.len(), text(|j| j.note.as_ref().map_or(0, String::len)));
    let mut payload = BinaryBuilder::with_capacity(rows.len(), text(|j| j.payload.len()));
    for job in rows {
        namespace.append_value(&job.namespace);
        job_id.append_value(job.job_id);
        status.append_value(job.status);
        created_at.append_value(job.created_at);
        progress.append_value(job.progress);
        name.append_value(&job.name);
        note.append_option(job.note.as_deref());
        payload.append_value(&job.payload);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(namespace.finish()),
        Arc::new(job_id.finish()),
        Arc::new(status.finish()),
        Arc::new(created_at.finish()),
        Arc::new(progress.finish()),
        Arc::new(name.finish()),
        Arc::new(note.finish()),
        Arc::new(payload.finish()),
    ];
    RecordBatch::try_new(Job::schema(), columns).expect("valid batch")
}

pub(crate) fn rows_by_hand(batch: &RecordBatch) -> Vec<Job> {
    fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .expect("column")
    }
    let namespace: &StringArray = col(batch, "namespace");
    let job_id: &Int64Array = col(batch, "job_id");
    let status: &UInt8Array = col(batch, "status");
    let created_at: &Int64Array = col(batch, "created_at");
    let progress: &Float64Array = col(batch, "progress");
    let name: &StringArray = col(batch, "name");
    let note: &StringArray = col(batch, "note");
    let payload: &BinaryArray = col(batch, "payload");
    (0..batch.num_rows())
        .map(|i| Job {
            namespace: namespace.value(i).to_owned(),
            job_id: job_id.value(i),
            status: status.value(i),
            created_at: created_at.value(i),
            progress: progress.value(i),
            name: name.value(i).to_owned(),
            note: (!note.is_null(i)).then(|| note.value(i).to_owned()),
            payload: payload.value(i).to_vec(),
        })
        .collect()
}
