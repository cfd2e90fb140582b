//! `#[derive(KalamTable)]`: storage keys, rows and (with the `arrow` feature) record
//! batches, round-tripped for every supported type, and key order checked against value
//! order.

use kalam::{DecodeError, KalamTable, Table};
use proptest::prelude::*;

#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "jobs", namespace = "system", version = 3)]
struct Job {
    #[column(primary_key)]
    namespace: String,
    #[column(primary_key)]
    job_id: i64,
    #[column(name = "kind")]
    job_type: u8,
    active: bool,
    progress: f64,
    ratio: f32,
    small: i16,
    medium: u32,
    payload: Vec<u8>,
    note: Option<String>,
    retries: Option<u16>,
    tiny: i8,
    count: i32,
    big: u64,
    word: u16,
    #[column(skip)]
    cached: Vec<String>,
}

fn job() -> impl Strategy<Value = Job> {
    (
        "(\\PC|\\x00){0,8}",
        any::<i64>(),
        any::<u8>(),
        any::<bool>(),
        any::<f64>(),
        any::<f32>(),
        (any::<i16>(), any::<u32>()),
        prop::collection::vec(any::<u8>(), 0..16),
        prop::option::of("\\PC{0,6}"),
        any::<Option<u16>>(),
        any::<(i8, i32, u64, u16)>(),
    )
        .prop_map(
            |(
                namespace,
                job_id,
                job_type,
                active,
                progress,
                ratio,
                (small, medium),
                payload,
                note,
                retries,
                (tiny, count, big, word),
            )| Job {
                namespace,
                job_id,
                job_type,
                active,
                progress,
                ratio,
                small,
                medium,
                payload,
                note,
                retries,
                tiny,
                count,
                big,
                word,
                cached: Vec::new(),
            },
        )
}

/// Equality that treats NaN as equal to itself, bit for bit.
fn same(a: &Job, b: &Job) -> bool {
    let floats =
        a.progress.to_bits() == b.progress.to_bits() && a.ratio.to_bits() == b.ratio.to_bits();
    let mut a = a.clone();
    let mut b = b.clone();
    (a.progress, a.ratio, b.progress, b.ratio) = (0.0, 0.0, 0.0, 0.0);
    floats && a == b
}

#[test]
fn metadata() {
    assert_eq!(
        (Job::NAME, Job::NAMESPACE, Job::ROW_VERSION),
        ("jobs", "system", 3)
    );
    let names: Vec<&str> = Job::COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "namespace",
            "job_id",
            "kind",
            "active",
            "progress",
            "ratio",
            "small",
            "medium",
            "payload",
            "note",
            "retries",
            "tiny",
            "count",
            "big",
            "word"
        ]
    );
    let keys: Vec<(&str, Option<usize>)> = Job::COLUMNS
        .iter()
        .filter(|c| c.key_position.is_some())
        .map(|c| (c.name, c.key_position))
        .collect();
    assert_eq!(keys, [("namespace", Some(0)), ("job_id", Some(1))]);
    assert!(
        Job::COLUMNS
            .iter()
            .find(|c| c.name == "note")
            .unwrap()
            .nullable
    );
}

proptest! {
    #[test]
    fn rows_round_trip(job in job()) {
        let row = job.to_row();
        prop_assert_eq!(row.len(), job.encoded_len());
        prop_assert_eq!(row[0], 3, "version byte first");
        let back = Job::decode(&row).unwrap();
        prop_assert!(same(&back, &job), "{:?} != {:?}", back, job);
        prop_assert!(back.cached.is_empty(), "skipped fields come back as Default");
    }

    #[test]
    fn truncated_and_corrupt_rows_are_errors(job in job(), cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>()) {
        let row = job.to_row();
        let cut = cut.index(row.len());
        prop_assert!(Job::decode(&row[..cut]).is_err());
        let mut corrupt = row.clone();
        let at = flip.0.index(corrupt.len());
        corrupt[at] ^= flip.1 | 1;
        // Either an error or some row: never a panic.
        let _ = Job::decode(&corrupt);
        let mut longer = row;
        longer.push(0);
        prop_assert_eq!(Job::decode(&longer).unwrap_err(), DecodeError::TrailingBytes(1));
    }

    #[test]
    fn arbitrary_bytes_decode_to_an_error_or_to_exactly_themselves(
        bytes in prop::collection::vec(any::<u8>(), 0..80),
        prefix_of in job(),
    ) {
        for input in [bytes.clone(), [prefix_of.to_row(), bytes].concat()] {
            if let Ok(job) = Job::decode(&input) {
                prop_assert_eq!(job.to_row(), input, "one encoding per row");
            }
        }
    }

    #[test]
    fn keys_sort_like_primary_keys(a in job(), b in job()) {
        let by_value = (&a.namespace, a.job_id).cmp(&(&b.namespace, b.job_id));
        prop_assert_eq!(by_value, a.key().cmp(&b.key()));
        prop_assert_eq!(a.key(), Job::key_for(&a.namespace, &a.job_id));
        prop_assert_eq!(a.key().len(), a.key_len());
        prop_assert!(a.key().starts_with(&Job::key_prefix_namespace(&a.namespace)));
        // Keys decode back to their values.
        let key = a.key();
        let mut input = &key[..];
        prop_assert_eq!(<String as kalam::KeyPart>::decode_key(&mut input).unwrap(), a.namespace.clone());
        prop_assert_eq!(<i64 as kalam::KeyPart>::decode_key(&mut input).unwrap(), a.job_id);
        prop_assert!(input.is_empty());
    }
}

#[test]
fn wrong_version_is_reported() {
    let mut row = job_example().to_row();
    row[0] = 2;
    assert_eq!(
        Job::decode(&row).unwrap_err(),
        DecodeError::WrongVersion {
            expected: 3,
            found: 2
        }
    );
    assert!(Job::decode(&[]).is_err());
}

#[test]
fn a_prefix_key_bounds_a_range_scan() {
    let mut keys: Vec<Vec<u8>> = ["a", "ab", "a\0", "b"]
        .iter()
        .flat_map(|ns| [-1i64, 0, 7].map(|id| Job::key_for(ns, &id)))
        .collect();
    keys.sort();
    // Key functions take a `String` column as `&str`, as a hand-written API would.
    let prefix = Job::key_prefix_namespace("a");
    let in_a: Vec<&Vec<u8>> = keys.iter().filter(|k| k.starts_with(&prefix)).collect();
    assert_eq!(
        in_a.len(),
        3,
        "only namespace \"a\", not \"ab\" or \"a\\0\""
    );
    // Contiguous in key order.
    let first = keys.iter().position(|k| k.starts_with(&prefix)).unwrap();
    assert!(
        keys[first..first + 3]
            .iter()
            .all(|k| k.starts_with(&prefix))
    );
}

/// An enum stored as text through `ColumnVia`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Queued,
    Running,
    Done,
}

impl kalam::ColumnVia<String> for Status {
    fn to_repr(&self) -> String {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Done => "done",
        }
        .to_owned()
    }

    fn from_repr(repr: String) -> Result<Self, String> {
        match repr.as_str() {
            "queued" => Ok(Status::Queued),
            "running" => Ok(Status::Running),
            "done" => Ok(Status::Done),
            other => Err(format!("unknown status `{other}`")),
        }
    }
}

/// A newtype key stored as its integer.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
struct JobId(u64);

impl kalam::ColumnVia<u64> for JobId {
    fn to_repr(&self) -> u64 {
        self.0
    }
    fn from_repr(repr: u64) -> Result<Self, String> {
        Ok(JobId(repr))
    }
}

#[derive(KalamTable, Clone, Debug, PartialEq)]
struct Task {
    #[column(primary_key, via = u64)]
    id: JobId,
    #[column(via = String)]
    status: Status,
}

#[test]
fn via_columns_convert_both_ways() {
    let tasks = [
        Task {
            id: JobId(2),
            status: Status::Running,
        },
        Task {
            id: JobId(10),
            status: Status::Done,
        },
    ];
    for task in &tasks {
        assert_eq!(Task::decode(&task.to_row()).unwrap(), *task);
    }
    assert!(
        tasks[0].key() < tasks[1].key(),
        "keys sort by the stored integer"
    );
    assert_eq!(Task::key_for(&JobId(2)), tasks[0].key());
    // A stored value the type refuses is an error that carries its message.
    let mut row = Vec::new();
    row.push(Task::ROW_VERSION);
    kalam::RowValue::encode_row(&7u64, &mut row);
    kalam::RowValue::encode_row(&"lost".to_owned(), &mut row);
    assert_eq!(
        Task::decode(&row).unwrap_err(),
        DecodeError::Invalid("unknown status `lost`".into())
    );
}

fn job_example() -> Job {
    Job {
        namespace: "system".into(),
        job_id: -5,
        job_type: 2,
        active: true,
        progress: 0.5,
        ratio: f32::NAN,
        small: i16::MIN,
        medium: u32::MAX,
        payload: vec![0, 255, 0],
        note: Some("日本\0".into()),
        retries: None,
        tiny: i8::MIN,
        count: i32::MAX,
        big: u64::MAX,
        word: 0,
        cached: vec!["x".into()],
    }
}

#[cfg(feature = "arrow")]
mod arrow {
    use super::*;
    use kalam::{ArrowTable, BatchError};

    proptest! {
        #[test]
        fn batches_round_trip(jobs in prop::collection::vec(job(), 0..20)) {
            let batch = Job::to_record_batch(&jobs).unwrap();
            prop_assert_eq!(batch.num_rows(), jobs.len());
            let back = Job::from_record_batch(&batch).unwrap();
            prop_assert_eq!(back.len(), jobs.len());
            for (a, b) in back.iter().zip(&jobs) {
                prop_assert!(same(a, b), "{:?} != {:?}", a, b);
            }
        }
    }

    #[test]
    fn via_columns_in_batches() {
        let tasks = vec![
            Task {
                id: JobId(1),
                status: Status::Queued,
            },
            Task {
                id: JobId(3),
                status: Status::Done,
            },
        ];
        let batch = Task::to_record_batch(&tasks).unwrap();
        assert_eq!(
            Task::schema()
                .field_with_name("status")
                .unwrap()
                .data_type()
                .to_string(),
            "Utf8"
        );
        assert_eq!(Task::from_record_batch(&batch).unwrap(), tasks);
    }

    #[test]
    fn schema_types_nullability_and_metadata() {
        let schema = Job::schema();
        assert!(
            std::sync::Arc::ptr_eq(&schema, &Job::schema()),
            "built once"
        );
        assert_eq!(schema.metadata()["kalam.table"], "jobs");
        assert_eq!(schema.metadata()["kalam.namespace"], "system");
        let field = |name: &str| schema.field_with_name(name).unwrap().clone();
        assert_eq!(field("job_id").data_type().to_string(), "Int64");
        assert_eq!(field("namespace").data_type().to_string(), "Utf8");
        assert_eq!(field("payload").data_type().to_string(), "Binary");
        assert_eq!(field("kind").data_type().to_string(), "UInt8");
        assert!(field("note").is_nullable() && !field("job_id").is_nullable());
        assert!(schema.field_with_name("cached").is_err(), "skipped");
    }

    #[test]
    fn a_null_in_a_non_nullable_column_is_an_error() {
        #[derive(KalamTable, Debug)]
        struct MaybeIds {
            #[column(primary_key)]
            namespace: String,
            job_id: Option<i64>,
        }
        #[derive(KalamTable, Debug)]
        struct StrictIds {
            #[column(primary_key)]
            namespace: String,
            job_id: i64,
        }
        let rows = [
            MaybeIds {
                namespace: "a".into(),
                job_id: Some(1),
            },
            MaybeIds {
                namespace: "b".into(),
                job_id: None,
            },
        ];
        let batch = MaybeIds::to_record_batch(&rows).unwrap();
        let err = StrictIds::from_record_batch(&batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `job_id` is null at row 1, but it is not nullable"
        );
    }

    #[test]
    fn a_mismatched_batch_is_an_error() {
        let batch = Job::to_record_batch(&[job_example()]).unwrap();
        let without = batch.project(&[0, 1]).unwrap();
        assert!(matches!(
            Job::from_record_batch(&without),
            Err(BatchError::MissingColumn("kind"))
        ));

        #[derive(KalamTable, Debug)]
        struct Narrow {
            #[column(primary_key)]
            namespace: String,
            #[column(primary_key)]
            job_id: i32,
        }
        let err = Narrow::from_record_batch(&batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `job_id` is Int64 in the batch, but the table declares Int32"
        );
    }
}

/// A table keyed by bytes: its key functions take `&[u8]`.
#[derive(KalamTable, Clone, Debug, PartialEq)]
struct Blob {
    #[column(primary_key)]
    hash: Vec<u8>,
    #[column(primary_key)]
    part: u32,
    data: Vec<u8>,
}

#[test]
fn byte_keys_are_taken_as_slices() {
    let blob = Blob {
        hash: vec![0, 1, 0xff],
        part: 2,
        data: b"payload".to_vec(),
    };
    assert_eq!(Blob::key_for(&[0, 1, 0xff], &2), blob.key());
    let prefix = Blob::key_prefix_hash(&blob.hash);
    assert!(blob.key().starts_with(&prefix));
    assert!(!Blob::key_for(&[0, 1], &2).starts_with(&prefix));
}

/// A node id, stored as its integer; a group's leader is one or none.
#[derive(Clone, Copy, Debug, PartialEq)]
struct NodeId(u64);

impl kalam::ColumnVia<u64> for NodeId {
    fn to_repr(&self) -> u64 {
        self.0
    }
    fn from_repr(repr: u64) -> Result<Self, String> {
        if repr == 0 {
            Err("node 0 does not exist".to_owned())
        } else {
            Ok(NodeId(repr))
        }
    }
}

#[derive(KalamTable, Clone, Debug, PartialEq)]
struct Group {
    #[column(primary_key)]
    id: u32,
    #[column(via = u64)]
    leader_node_id: Option<NodeId>,
}

#[test]
fn via_converts_through_an_option() {
    let groups = [
        Group {
            id: 1,
            leader_node_id: Some(NodeId(7)),
        },
        Group {
            id: 2,
            leader_node_id: None,
        },
    ];
    for group in &groups {
        assert_eq!(&Group::decode(&group.to_row()).unwrap(), group);
    }
    // Stored as an optional u64: the same bytes as a plain `Option<u64>` column.
    let mut plain = vec![Group::ROW_VERSION];
    kalam::RowValue::encode_row(&1u32, &mut plain);
    kalam::RowValue::encode_row(&Some(7u64), &mut plain);
    assert_eq!(groups[0].to_row(), plain);
    let leader = &Group::COLUMNS[1];
    assert!(leader.nullable, "{leader:?}");
    // A stored value the conversion refuses is a decode error, not a panic.
    let mut bad = vec![Group::ROW_VERSION];
    kalam::RowValue::encode_row(&3u32, &mut bad);
    kalam::RowValue::encode_row(&Some(0u64), &mut bad);
    assert!(Group::decode(&bad).is_err());
    #[cfg(feature = "arrow")]
    {
        use kalam::ArrowTable;
        let batch = Group::to_record_batch(&groups).unwrap();
        assert_eq!(batch.column(1).null_count(), 1);
        assert_eq!(Group::from_record_batch(&batch).unwrap(), groups);
    }
}

// A model evolving: version 2 adds two columns, version 3 one more. Rows of every version
// since 1 read as version 3, the added columns at their defaults.
#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "accounts")]
struct AccountV1 {
    #[column(primary_key)]
    id: i64,
    owner: String,
}

#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "accounts", version = 2)]
struct AccountV2 {
    #[column(primary_key)]
    id: i64,
    owner: String,
    #[column(since = 2, default = 100)]
    limit: i64,
    #[column(since = 2)]
    email: Option<String>,
}

#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "accounts", version = 3)]
struct Account {
    #[column(primary_key)]
    id: i64,
    owner: String,
    #[column(since = 2, default = 100)]
    limit: i64,
    #[column(since = 2)]
    email: Option<String>,
    #[column(since = 3, default = String::from("eur"))]
    currency: String,
}

#[test]
fn rows_of_older_versions_read_with_defaults() {
    assert_eq!((Account::OLDEST_VERSION, Account::ROW_VERSION), (1, 3));
    assert_eq!(AccountV1::OLDEST_VERSION, 1);
    let since: Vec<u8> = Account::COLUMNS.iter().map(|c| c.since).collect();
    assert_eq!(since, [0, 0, 2, 2, 3]);
    let optional: Vec<bool> = Account::COLUMNS.iter().map(|c| c.optional).collect();
    assert_eq!(optional, [false, false, false, true, false]);

    let v1 = AccountV1 {
        id: 1,
        owner: "ada".into(),
    };
    let v2 = AccountV2 {
        id: 2,
        owner: "bob".into(),
        limit: 5,
        email: Some("b@x".into()),
    };
    let v3 = Account {
        id: 3,
        owner: "cy".into(),
        limit: 9,
        email: None,
        currency: "usd".into(),
    };
    assert_eq!(
        Account::decode(&v1.to_row()).unwrap(),
        Account {
            id: 1,
            owner: "ada".into(),
            limit: 100,
            email: None,
            currency: "eur".into(),
        }
    );
    assert_eq!(
        Account::decode(&v2.to_row()).unwrap(),
        Account {
            id: 2,
            owner: "bob".into(),
            limit: 5,
            email: Some("b@x".into()),
            currency: "eur".into(),
        }
    );
    assert_eq!(Account::decode(&v3.to_row()).unwrap(), v3);
    // Newer rows are not read by older code, and no version before the first is read.
    assert_eq!(
        AccountV2::decode(&v3.to_row()).unwrap_err(),
        DecodeError::WrongVersion {
            expected: 2,
            found: 3
        }
    );
    let mut zero = v1.to_row();
    zero[0] = 0;
    assert!(Account::decode(&zero).is_err());
    // A version-1 row with version 2's byte is short of the added columns: an error.
    let mut short = v1.to_row();
    short[0] = 2;
    assert!(Account::decode(&short).is_err());

    #[cfg(feature = "arrow")]
    {
        use kalam::__private::arrow_array::{Array, cast::AsArray, types::Int64Type};
        use kalam::ArrowDecoder;
        let mut decoder = ArrowDecoder::<Account>::new(&[4, 2, 3], 3).unwrap();
        for row in [v1.to_row(), v2.to_row(), v3.to_row()] {
            decoder.push(&row).unwrap();
        }
        let batch = decoder.finish().unwrap();
        let currency = batch.column(0).as_string::<i32>();
        assert_eq!(
            (0..3).map(|r| currency.value(r)).collect::<Vec<_>>(),
            ["eur", "eur", "usd"]
        );
        let limit = batch.column(1).as_primitive::<Int64Type>();
        assert_eq!(limit.values().to_vec(), [100, 5, 9]);
        assert_eq!(batch.column(2).null_count(), 2);
        assert!(decoder.push(&short).is_err());
    }
}

#[cfg(feature = "arrow")]
mod decoder {
    use super::*;
    use kalam::{ArrowDecoder, ArrowTable, BatchError};

    proptest! {
        /// Rows decoded straight into Arrow equal the batch built from the structs, for
        /// any projection (in any order, a column twice).
        #[test]
        fn decoded_rows_equal_built_batches(
            jobs in prop::collection::vec(job(), 0..12),
            projection in prop::collection::vec(0..15usize, 1..8),
        ) {
            let mut decoder = ArrowDecoder::<Job>::new(&projection, jobs.len()).unwrap();
            for job in &jobs {
                decoder.push(&job.to_row()).unwrap();
            }
            prop_assert_eq!(decoder.len(), jobs.len());
            let decoded = decoder.finish().unwrap();
            let built = Job::to_record_batch(&jobs).unwrap().project(&projection).unwrap();
            prop_assert_eq!(&decoded, &built);
            // The decoder starts over: a second batch holds only what follows.
            prop_assert!(decoder.is_empty());
            prop_assert_eq!(decoder.finish().unwrap().num_rows(), 0);
        }

        /// Truncated and altered rows are errors, never a panic.
        #[test]
        fn corrupt_rows_never_panic(job in job(), cut in 0usize..64, flip in any::<(usize, u8)>()) {
            let row = job.to_row();
            let mut decoder = ArrowDecoder::<Job>::new(&[0, 9, 3], 1).unwrap();
            let cut = cut % row.len();
            prop_assert!(decoder.push(&row[..cut]).is_err());
            let mut altered = row.clone();
            let at = flip.0 % altered.len();
            altered[at] ^= flip.1;
            let mut decoder = ArrowDecoder::<Job>::new(&[0, 9, 3], 1).unwrap();
            let _ = decoder.push(&altered);
        }
    }

    #[test]
    fn a_projection_out_of_range_is_an_error() {
        let err = ArrowDecoder::<Job>::new(&[1, 15], 0).unwrap_err();
        assert!(
            matches!(
                err,
                BatchError::NoColumn {
                    index: 15,
                    columns: 15
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "no column 15: the table has 15 (numbered from 0)"
        );
    }

    #[test]
    fn via_columns_decode_as_stored() {
        let tasks = [
            Task {
                id: JobId(4),
                status: Status::Done,
            },
            Task {
                id: JobId(9),
                status: Status::Queued,
            },
        ];
        let mut decoder = ArrowDecoder::<Task>::new(&[1, 0], 2).unwrap();
        for task in &tasks {
            decoder.push(&task.to_row()).unwrap();
        }
        let built = Task::to_record_batch(&tasks)
            .unwrap()
            .project(&[1, 0])
            .unwrap();
        assert_eq!(decoder.finish().unwrap(), built);
    }
}
