//! The generated data: `sbtest1` as sysbench fills it, and the typed table of the typed
//! tests, from a seeded generator so that both engines (and every run) see the same rows.

use crate::Value;

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub(crate) fn range(&mut self, low: i64, high: i64) -> i64 {
        let span = high.wrapping_sub(low) as u64;
        if span == u64::MAX {
            return self.next_u64() as i64;
        }
        low.wrapping_add((self.next_u64() % (span + 1)) as i64)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// sysbench's `c` and `pad` strings: `groups` groups of 11 digits joined by `-`.
    pub(crate) fn digits(&mut self, groups: usize) -> String {
        let mut out = String::with_capacity(groups * 12);
        for group in 0..groups {
            if group > 0 {
                out.push('-');
            }
            for _ in 0..11 {
                out.push(char::from(b'0' + (self.next_u64() % 10) as u8));
            }
        }
        out
    }
}

/// The namespace both tables live in (SQLite's statements drop it).
pub(crate) const NAMESPACE: &str = "sb";

/// `sbtest1` and its secondary index on `k`.
pub(crate) const SBTEST_DDL: [&str; 2] = [
    "CREATE SHARED TABLE sb.sbtest1 (id BIGINT PRIMARY KEY, k BIGINT NOT NULL, \
     c VARCHAR(120) NOT NULL, pad VARCHAR(60) NOT NULL)",
    "CREATE INDEX k_1 ON sb.sbtest1 (k)",
];

/// The table `bulk_insert` fills, shaped like `sbtest1`.
pub(crate) const BULK_DDL: &str = "CREATE SHARED TABLE sb.bulk (id BIGINT PRIMARY KEY, k BIGINT NOT NULL, \
     c VARCHAR(120) NOT NULL, pad VARCHAR(60) NOT NULL)";

pub(crate) const SBTEST_INSERT: &str =
    "INSERT INTO sb.sbtest1 (id, k, c, pad) VALUES ($1, $2, $3, $4)";

/// A row of `sbtest1`: `k` uniform in `1..=rows`, as sysbench draws it.
pub(crate) fn sbtest_row(rng: &mut Rng, id: i64, rows: i64) -> Vec<Value> {
    vec![
        Value::Int64(id),
        Value::Int64(rng.range(1, rows)),
        Value::Text(rng.digits(10)),
        Value::Text(rng.digits(5)),
    ]
}

/// The typed table: the columns of the typed sysbench tests, in the types the engine has.
/// `(name, SQL type)`; MySQL's unsigned and medium integers take the next wider type.
pub(crate) const TYPED_COLUMNS: [(&str, &str); 24] = [
    ("id", "BIGINT PRIMARY KEY"),
    ("tiny_int_col", "TINYINT NOT NULL"),
    ("unsigned_tiny_int_col", "SMALLINT NOT NULL"),
    ("small_int_col", "SMALLINT NOT NULL"),
    ("unsigned_small_int_col", "INT NOT NULL"),
    ("medium_int_col", "INT NOT NULL"),
    ("unsigned_medium_int_col", "INT NOT NULL"),
    ("int_col", "INT NOT NULL"),
    ("unsigned_int_col", "BIGINT NOT NULL"),
    ("big_int_col", "BIGINT NOT NULL"),
    ("unsigned_big_int_col", "BIGINT NOT NULL"),
    ("decimal_col", "DOUBLE NOT NULL"),
    ("float_col", "REAL NOT NULL"),
    ("double_col", "DOUBLE NOT NULL"),
    ("bit_col", "BOOLEAN NOT NULL"),
    ("char_col", "CHAR(1) NOT NULL"),
    ("var_char_col", "VARCHAR(64) NOT NULL"),
    ("tiny_text_col", "TEXT NOT NULL"),
    ("text_col", "TEXT NOT NULL"),
    ("medium_text_col", "TEXT NOT NULL"),
    ("long_text_col", "TEXT NOT NULL"),
    ("year_col", "INT NOT NULL"),
    ("blob_col", "BLOB NOT NULL"),
    ("timestamp_col", "TIMESTAMP NOT NULL"),
];

pub(crate) fn typed_ddl() -> [String; 2] {
    let columns: Vec<String> = TYPED_COLUMNS
        .iter()
        .map(|(name, ty)| format!("{name} {ty}"))
        .collect();
    [
        format!("CREATE SHARED TABLE sb.typed ({})", columns.join(", ")),
        "CREATE INDEX big_int_1 ON sb.typed (big_int_col)".to_owned(),
    ]
}

pub(crate) fn typed_insert() -> String {
    let names: Vec<&str> = TYPED_COLUMNS.iter().map(|(name, _)| *name).collect();
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO sb.typed ({}) VALUES ({})",
        names.join(", "),
        params.join(", ")
    )
}

/// A row of the typed table, drawn as sysbench's typed tests draw theirs.
pub(crate) fn typed_row(rng: &mut Rng, id: i64) -> Vec<Value> {
    const WORDS: [&str; 3] = ["val0", "val1", "val2"];
    let word = |rng: &mut Rng| Value::Text(WORDS[rng.range(0, 2) as usize].to_owned());
    let int = |rng: &mut Rng, low: i64, high: i64| Value::Int32(rng.range(low, high) as i32);
    vec![
        Value::Int64(id),
        int(rng, -128, 127),
        int(rng, 0, 255),
        int(rng, -32768, 32767),
        int(rng, 0, 65535),
        int(rng, -8_388_608, 8_388_607),
        int(rng, 0, 16_777_215),
        int(rng, i64::from(i32::MIN), i64::from(i32::MAX)),
        Value::Int64(rng.range(0, 4_294_967_295)),
        Value::Int64(rng.range(-(1 << 62), (1 << 62) - 1)),
        Value::Int64(rng.range(0, i64::MAX)),
        Value::Float64(rng.unit()),
        Value::Float64(rng.unit()),
        Value::Float64(rng.unit()),
        Value::Boolean(rng.range(0, 1) == 1),
        Value::Text(char::from(rng.range(0x30, 0x5A) as u8).to_string()),
        word(rng),
        word(rng),
        word(rng),
        word(rng),
        word(rng),
        int(rng, 1901, 2155),
        Value::Bytes(rng.next_u64().to_le_bytes().to_vec()),
        Value::Timestamp(rng.range(0, 4_102_444_800_000_000)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_seeded_and_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let x = a.range(-5, 5);
            assert_eq!(x, b.range(-5, 5));
            assert!((-5..=5).contains(&x));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        let c = a.digits(10);
        assert_eq!(c.len(), 119);
        assert_eq!(c.matches('-').count(), 9);
    }

    #[test]
    fn a_typed_row_has_a_value_per_column() {
        let row = typed_row(&mut Rng::new(1), 1);
        assert_eq!(row.len(), TYPED_COLUMNS.len());
        assert!(typed_insert().ends_with("$24)"));
    }
}
