//! The storage layer against a model: every sequence of writes reads back as a map of the
//! newest versions would, per table and per user; and data survives a reopen.

use std::collections::BTreeMap;

use kalam::Table;
use kalam_engine::{Durability, Scope, Storage, TableNumber, WriteSet};
use proptest::prelude::*;

fn rows(
    storage: &Storage,
    table: TableNumber,
    scope: Scope<'_>,
    prefix: &[u8],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    storage
        .scan(table, scope, prefix)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn newest_version_wins_and_deletes_hide() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let t = TableNumber(1);
    let mut set = WriteSet::new();
    set.put_row(t, Scope::Shared, b"\x01", b"one".to_vec());
    set.put_row(t, Scope::Shared, b"\x02", b"two".to_vec());
    assert_eq!(storage.write(&set).unwrap(), 1);

    let mut set = WriteSet::new();
    set.put_row(t, Scope::Shared, b"\x01", b"uno".to_vec());
    set.delete_row(t, Scope::Shared, b"\x02");
    assert_eq!(storage.write(&set).unwrap(), 2);

    assert_eq!(
        storage.get(t, Scope::Shared, b"\x01").unwrap().as_deref(),
        Some(&b"uno"[..])
    );
    assert_eq!(storage.get(t, Scope::Shared, b"\x02").unwrap(), None);
    assert_eq!(
        rows(&storage, t, Scope::Shared, b""),
        [(b"\x01".to_vec(), b"uno".to_vec())]
    );
    assert_eq!(
        storage.get(TableNumber(2), Scope::Shared, b"\x01").unwrap(),
        None,
        "other table"
    );
    // Many gets on one iterator: the live rows only.
    let mut set = WriteSet::new();
    set.put_row(t, Scope::Shared, b"\x03", b"longer".to_vec());
    storage.write(&set).unwrap();
    let keys = [
        b"\x00".to_vec(),
        b"\x01".to_vec(),
        b"\x03".to_vec(),
        b"\x02".to_vec(),
    ];
    assert_eq!(
        storage.get_many(t, Scope::Shared, &keys).unwrap(),
        [
            (b"\x01".to_vec(), b"uno".to_vec()),
            (b"\x03".to_vec(), b"longer".to_vec())
        ]
    );
}

#[test]
fn each_user_sees_only_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let t = TableNumber(9);
    let mut set = WriteSet::new();
    for user in ["al", "alice", "bob", "al\0"] {
        set.put_row(t, Scope::User(user), b"k", user.as_bytes().to_vec());
    }
    storage.write(&set).unwrap();
    for user in ["al", "alice", "bob", "al\0"] {
        let mine = rows(&storage, t, Scope::User(user), b"");
        assert_eq!(
            mine,
            [(b"k".to_vec(), user.as_bytes().to_vec())],
            "{user:?}"
        );
    }
    assert!(rows(&storage, t, Scope::User("carol"), b"").is_empty());
    assert!(
        rows(&storage, t, Scope::Shared, b"").is_empty(),
        "user rows are not shared rows"
    );
}

#[test]
fn waiting_for_background_work_returns_once_none_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let t = TableNumber(1);
    for i in 0u32..2_000 {
        let mut set = WriteSet::new();
        set.put_row(t, Scope::Shared, &i.to_be_bytes(), vec![7; 100]);
        storage.write(&set).unwrap();
    }
    let limit = std::time::Duration::from_secs(60);
    assert!(storage.wait_for_background(limit).unwrap());
    assert_eq!(rows(&storage, t, Scope::Shared, b"").len(), 2_000);
}

#[test]
fn rows_and_sequence_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open_with(dir.path(), Durability::Machine).unwrap();
        let mut set = WriteSet::new();
        set.put_row(TableNumber(3), Scope::Shared, b"a", b"1".to_vec());
        storage.write(&set).unwrap();
        storage.write(&set).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.last_seq(), 2);
    assert_eq!(
        storage
            .get(TableNumber(3), Scope::Shared, b"a")
            .unwrap()
            .as_deref(),
        Some(&b"1"[..])
    );
}

/// Keys made by a real table, so that scans by a key prefix are exercised on real keys.
#[derive(kalam::KalamTable, Clone, Debug, PartialEq)]
struct Event {
    #[column(primary_key)]
    stream: String,
    #[column(primary_key)]
    seq: i64,
    body: String,
}

#[test]
fn a_key_prefix_scans_one_range_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let t = TableNumber(4);
    let events: Vec<Event> = ["a", "ab", "b"]
        .iter()
        .flat_map(|stream| {
            [5i64, -2, 0].map(|seq| Event {
                stream: (*stream).into(),
                seq,
                body: format!("{stream}{seq}"),
            })
        })
        .collect();
    let mut set = WriteSet::new();
    for event in &events {
        set.put_row(t, Scope::Shared, &event.key(), event.to_row());
    }
    storage.write(&set).unwrap();
    let in_a: Vec<Event> = rows(&storage, t, Scope::Shared, &Event::key_prefix_stream("a"))
        .into_iter()
        .map(|(_, row)| Event::decode(&row).unwrap())
        .collect();
    let seqs: Vec<(String, i64)> = in_a.iter().map(|e| (e.stream.clone(), e.seq)).collect();
    assert_eq!(
        seqs,
        [
            ("a".to_owned(), -2),
            ("a".to_owned(), 0),
            ("a".to_owned(), 5)
        ]
    );
}

#[derive(Clone, Debug)]
enum Op {
    Put {
        table: u32,
        user: Option<u8>,
        pk: u8,
        value: u8,
    },
    Delete {
        table: u32,
        user: Option<u8>,
        pk: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let place = (0u32..2, prop::option::of(0u8..3), 0u8..6);
    prop_oneof![
        (place.clone(), any::<u8>()).prop_map(|((table, user, pk), value)| Op::Put {
            table,
            user,
            pk,
            value
        }),
        place.prop_map(|(table, user, pk)| Op::Delete { table, user, pk }),
    ]
}

fn user_name(user: Option<u8>) -> Option<String> {
    user.map(|u| format!("user{u}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reads_match_a_model(batches in prop::collection::vec(prop::collection::vec(op(), 1..5), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        // (table, user, pk) -> newest value
        let mut model: BTreeMap<(u32, Option<String>, Vec<u8>), Vec<u8>> = BTreeMap::new();
        for batch in &batches {
            let mut set = WriteSet::new();
            let mut staged = model.clone();
            for op in batch {
                match op {
                    Op::Put { table, user, pk, value } => {
                        let user = user_name(*user);
                        let scope = user.as_deref().map_or(Scope::Shared, Scope::User);
                        set.put_row(TableNumber(*table), scope, &[*pk], vec![*value]);
                        staged.insert((*table, user, vec![*pk]), vec![*value]);
                    }
                    Op::Delete { table, user, pk } => {
                        let user = user_name(*user);
                        let scope = user.as_deref().map_or(Scope::Shared, Scope::User);
                        set.delete_row(TableNumber(*table), scope, &[*pk]);
                        staged.remove(&(*table, user, vec![*pk]));
                    }
                }
            }
            storage.write(&set).unwrap();
            model = staged;
        }
        for table in 0..2 {
            for user in [None, Some(0), Some(1), Some(2)] {
                let user = user_name(user);
                let scope = user.as_deref().map_or(Scope::Shared, Scope::User);
                let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .iter()
                    .filter(|((t, u, _), _)| *t == table && *u == user)
                    .map(|((_, _, pk), v)| (pk.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(rows(&storage, TableNumber(table), scope, b""), expected.clone());
                for pk in 0..6u8 {
                    let want = expected.iter().find(|(k, _)| k == &[pk]).map(|(_, v)| v.clone());
                    prop_assert_eq!(storage.get(TableNumber(table), scope, &[pk]).unwrap(), want);
                }
            }
        }
    }
}
