//! `#[derive(KalamTable)]` against hand-written twins: storage keys, rows (and serde with
//! bincode), and Arrow record batches both ways. Same rows, same formats.
//!
//! ```sh
//! cargo bench --features arrow --bench table && python3 scripts/bench-ratios.py
//! ```

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, UInt8Builder,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt8Array,
};
use criterion::{Criterion, criterion_group, criterion_main};
use kalam::{ArrowTable, DecodeError, KalamTable, RowValue, Table};

#[derive(KalamTable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[table(name = "jobs", namespace = "system")]
struct Job {
    #[column(primary_key)]
    namespace: String,
    #[column(primary_key)]
    job_id: i64,
    status: u8,
    created_at: i64,
    progress: f64,
    name: String,
    note: Option<String>,
    payload: Vec<u8>,
}

fn rows(n: usize) -> Vec<Job> {
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
fn key_by_hand(job: &Job) -> Vec<u8> {
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
fn encode_by_hand(job: &Job, out: &mut Vec<u8>) {
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

fn decode_by_hand(bytes: &[u8]) -> Result<Job, DecodeError> {
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

fn batch_by_hand(rows: &[Job]) -> RecordBatch {
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

fn rows_by_hand(batch: &RecordBatch) -> Vec<Job> {
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

fn table(c: &mut Criterion) {
    let jobs = rows(1_000);
    // The twins write the same bytes and batches: checked once here.
    for job in &jobs {
        assert_eq!(job.key(), key_by_hand(job));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        job.encode(&mut a);
        encode_by_hand(job, &mut b);
        assert_eq!(a, b);
        assert_eq!(decode_by_hand(&a).unwrap(), *job);
    }
    assert_eq!(Job::to_record_batch(&jobs).unwrap(), batch_by_hand(&jobs));
    let config = bincode::config::standard();

    let mut key = c.benchmark_group("key");
    key.bench_function("generated", |b| {
        b.iter(|| jobs.iter().map(|j| black_box(j.key()).len()).sum::<usize>());
    });
    key.bench_function("by_hand", |b| {
        b.iter(|| {
            jobs.iter()
                .map(|j| black_box(key_by_hand(j)).len())
                .sum::<usize>()
        });
    });
    key.finish();

    let mut encode = c.benchmark_group("row_encode");
    let mut buf = Vec::with_capacity(1 << 20);
    encode.bench_function("generated", |b| {
        b.iter(|| {
            buf.clear();
            jobs.iter().for_each(|j| j.encode(&mut buf));
            buf.len()
        });
    });
    encode.bench_function("by_hand", |b| {
        b.iter(|| {
            buf.clear();
            jobs.iter().for_each(|j| encode_by_hand(j, &mut buf));
            buf.len()
        });
    });
    encode.bench_function("serde_bincode", |b| {
        b.iter(|| {
            buf.clear();
            for j in &jobs {
                bincode::serde::encode_into_std_write(j, &mut buf, config).unwrap();
            }
            buf.len()
        });
    });
    encode.finish();

    let generated: Vec<Vec<u8>> = jobs.iter().map(Table::to_row).collect();
    let serialized: Vec<Vec<u8>> = jobs
        .iter()
        .map(|j| bincode::serde::encode_to_vec(j, config).unwrap())
        .collect();
    let mut decode = c.benchmark_group("row_decode");
    decode.bench_function("generated", |b| {
        b.iter(|| {
            generated
                .iter()
                .map(|r| Job::decode(r).unwrap().job_id)
                .sum::<i64>()
        });
    });
    decode.bench_function("by_hand", |b| {
        b.iter(|| {
            generated
                .iter()
                .map(|r| decode_by_hand(r).unwrap().job_id)
                .sum::<i64>()
        });
    });
    decode.bench_function("serde_bincode", |b| {
        b.iter(|| {
            serialized
                .iter()
                .map(|r| {
                    bincode::serde::decode_from_slice::<Job, _>(r, config)
                        .unwrap()
                        .0
                        .job_id
                })
                .sum::<i64>()
        });
    });
    decode.finish();

    let mut to_batch = c.benchmark_group("to_record_batch");
    to_batch.bench_function("generated", |b| {
        b.iter(|| Job::to_record_batch(black_box(&jobs)).unwrap().num_rows());
    });
    to_batch.bench_function("by_hand", |b| {
        b.iter(|| batch_by_hand(black_box(&jobs)).num_rows());
    });
    to_batch.finish();

    let batch = batch_by_hand(&jobs);
    let mut from_batch = c.benchmark_group("from_record_batch");
    from_batch.bench_function("generated", |b| {
        b.iter(|| Job::from_record_batch(black_box(&batch)).unwrap().len());
    });
    from_batch.bench_function("by_hand", |b| {
        b.iter(|| rows_by_hand(black_box(&batch)).len());
    });
    from_batch.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = table
}
criterion_main!(benches);
