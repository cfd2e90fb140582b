//! The hand-written twins that `benches/table.rs` measures the generated code against write
//! the same keys, rows and batches, and read them back to the same rows: a ratio between
//! them compares like with like.

#![cfg(feature = "arrow")]

#[path = "../benches/twins/table.rs"]
mod twins;

use kalam::{ArrowTable, Table};

use twins::{Job, batch_by_hand, decode_by_hand, encode_by_hand, key_by_hand, rows, rows_by_hand};

#[test]
fn keys_and_rows_are_the_bytes_the_twins_write() {
    let jobs = rows(1_000);
    for job in &jobs {
        assert_eq!(job.key(), key_by_hand(job), "{job:?}");
        let (mut generated, mut by_hand) = (Vec::new(), Vec::new());
        job.encode(&mut generated);
        encode_by_hand(job, &mut by_hand);
        assert_eq!(generated, by_hand, "{job:?}");
        assert_eq!(&decode_by_hand(&generated).unwrap(), job);
        assert_eq!(&Job::decode(&by_hand).unwrap(), job);
    }
}

#[test]
fn batches_are_the_ones_the_twins_build_and_read() {
    let jobs = rows(1_000);
    let generated = Job::to_record_batch(&jobs).unwrap();
    let by_hand = batch_by_hand(&jobs);
    assert_eq!(generated, by_hand);
    assert_eq!(Job::from_record_batch(&by_hand).unwrap(), jobs);
    assert_eq!(rows_by_hand(&generated), jobs);
}
