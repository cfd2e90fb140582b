//! Random schemas, rows and statements that SQLite and the engine both accept and must
//! answer alike. Each statement is written once with `{t1}`-style table slots, filled in
//! for each side (`ns.t1` for the engine, `t1` for SQLite).
//!
//! What is left out, being a documented difference of dialect rather than a defect:
//! arithmetic on an untyped NULL (`- NULL`: an error in the engine, as in PostgreSQL;
//! generated NULLs are typed), division and remainder by a value that may be zero (an error in the engine, as in
//! PostgreSQL; NULL in SQLite), assignments to a primary key (SQLite checks uniqueness
//! row by row, the engine per statement, as PostgreSQL with deferred constraints; unique
//! indexes are therefore only on `s`, which no statement assigns), `LIKE`
//! on mixed case (case-insensitive in SQLite), a scalar subquery of several rows (the
//! first row in SQLite, an error in the engine), and output ordered only in part (the
//! harness orders both sides' rows, or the statement orders every column).

/// A small deterministic generator (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A small integer, sometimes negative.
    pub(crate) fn int(&mut self) -> i64 {
        self.below(16) as i64 - 5
    }
}

/// The tables: each has an integer primary key `a`, integers `b` and `c`, and text `s`.
pub(crate) const TABLES: [&str; 3] = ["t1", "t2", "t3"];
const INTS: [&str; 3] = ["a", "b", "c"];
const TEXTS: [&str; 6] = ["''", "'a'", "'b'", "'ab'", "'ba'", "'abc'"];

/// The schema and rows of one run: `CREATE TABLE` and `INSERT` statements, and perhaps
/// indexes.
pub(crate) fn schema(rng: &mut Rng) -> Vec<String> {
    let mut statements = Vec::new();
    for table in TABLES {
        // The indexes added since seeds were first kept draw from their own generator, so
        // that a kept seed's rows and statements stay what they were.
        let mut more = Rng::new(rng.0 ^ 0x1D3E_5EED);
        statements.push(format!(
            "CREATE TABLE {{{table}}} (a BIGINT PRIMARY KEY, b BIGINT, c BIGINT NOT NULL, s TEXT)"
        ));
        if rng.chance(50) {
            let column = rng.pick(&["b", "c", "s"]);
            statements.push(format!(
                "CREATE INDEX {table}_{column} ON {{{table}}} ({column})"
            ));
        }
        let rows = 3 + rng.below(12);
        let mut keys: Vec<i64> = (0..40).collect();
        let mut texts = Vec::new();
        let values: Vec<String> = (0..rows)
            .map(|_| {
                let key = keys.swap_remove(rng.below(keys.len()));
                let (b, c) = (nullable_int(rng), rng.int());
                let text = if rng.chance(15) {
                    "NULL"
                } else {
                    rng.pick(&TEXTS)
                };
                if text != "NULL" {
                    texts.push(text);
                }
                format!("({key}, {b}, {c}, {text})")
            })
            .collect();
        // An index on two or three columns, some descending, and a unique one on `s` when
        // its values allow (no statement assigns `s`); built before or after the rows.
        let mut indexes = Vec::new();
        if more.chance(60) {
            let mut columns = vec!["b", "c", "s"];
            let parts: Vec<String> = (0..2 + more.below(2))
                .map(|_| {
                    let column = columns.swap_remove(more.below(columns.len()));
                    let desc = if more.chance(30) { " DESC" } else { "" };
                    format!("{column}{desc}")
                })
                .collect();
            indexes.push(format!(
                "CREATE INDEX {table}_i ON {{{table}}} ({})",
                parts.join(", ")
            ));
        }
        texts.sort_unstable();
        if texts.windows(2).all(|pair| pair[0] != pair[1]) && more.chance(50) {
            let desc = if more.chance(50) { " DESC" } else { "" };
            indexes.push(format!(
                "CREATE UNIQUE INDEX {table}_u ON {{{table}}} (s{desc})"
            ));
        }
        let insert = format!("INSERT INTO {{{table}}} VALUES {}", values.join(", "));
        if more.chance(50) {
            statements.push(insert);
            statements.extend(indexes);
        } else {
            statements.extend(indexes);
            statements.push(insert);
        }
    }
    statements
}

fn nullable_int(rng: &mut Rng) -> String {
    if rng.chance(20) {
        "NULL".to_owned()
    } else {
        rng.int().to_string()
    }
}

/// What an expression may refer to: the aliases in scope, innermost last.
struct Scope {
    aliases: Vec<String>,
}

impl Scope {
    fn column(&self, rng: &mut Rng) -> String {
        let alias = rng.pick(&self.aliases);
        format!("{alias}.{}", rng.pick(&INTS))
    }

    fn text_column(&self, rng: &mut Rng) -> String {
        format!("{}.s", rng.pick(&self.aliases))
    }
}

/// Statement generation, with a counter for fresh aliases.
pub(crate) struct Generator<'a> {
    rng: &'a mut Rng,
    aliases: usize,
}

impl<'a> Generator<'a> {
    pub(crate) fn new(rng: &'a mut Rng) -> Self {
        Generator { rng, aliases: 0 }
    }

    /// True with probability `percent` / 100, from the generator's numbers.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.rng.chance(percent)
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("x{}", self.aliases)
    }

    fn table(&mut self) -> String {
        format!("{{{}}}", self.rng.pick(&TABLES))
    }

    /// An integer expression.
    fn int(&mut self, scope: &Scope, depth: usize) -> String {
        let leaf = depth == 0 || self.rng.chance(35);
        if leaf {
            return match self.rng.below(10) {
                0..=5 => scope.column(self.rng),
                // Typed: an untyped NULL under `-` is an error in the engine, as in
                // PostgreSQL ("operator is not unique: - unknown").
                6 => "CAST(NULL AS BIGINT)".to_owned(),
                _ => self.rng.int().to_string(),
            };
        }
        let d = depth - 1;
        match self.rng.below(12) {
            0 => format!("({} + {})", self.int(scope, d), self.int(scope, d)),
            1 => format!("({} - {})", self.int(scope, d), self.int(scope, d)),
            2 => format!("({} * {})", self.int(scope, d), self.int(scope, d)),
            3 => format!("(- {})", self.int(scope, d)),
            4 => format!("abs({})", self.int(scope, d)),
            5 => format!("coalesce({}, {})", self.int(scope, d), self.int(scope, d)),
            6 => format!("nullif({}, {})", self.int(scope, d), self.int(scope, d)),
            7 => format!(
                "CASE WHEN {} THEN {} ELSE {} END",
                self.predicate(scope, d),
                self.int(scope, d),
                self.int(scope, d)
            ),
            8 => format!(
                "CASE {} WHEN {} THEN {} END",
                self.int(scope, d),
                self.rng.int(),
                self.int(scope, d)
            ),
            9 => {
                let divisor = *self.rng.pick(&[1, 2, 3, -2, 7]);
                let op = self.rng.pick(&["/", "%"]);
                format!("({} {op} {divisor})", self.int(scope, d))
            }
            10 if depth >= 2 => self.scalar_subquery(scope, d, true),
            _ => scope.column(self.rng),
        }
    }

    /// A boolean expression.
    fn predicate(&mut self, scope: &Scope, depth: usize) -> String {
        let d = depth.saturating_sub(1);
        let choice = if depth == 0 {
            self.rng.below(5)
        } else {
            self.rng.below(12)
        };
        match choice {
            0 | 1 => {
                let op = self.rng.pick(&["=", "<>", "<", "<=", ">", ">="]);
                format!("{} {op} {}", self.int(scope, d), self.int(scope, d))
            }
            2 => format!(
                "{} IS {}NULL",
                self.int(scope, d),
                if self.rng.chance(50) { "NOT " } else { "" }
            ),
            3 => {
                let op = self.rng.pick(&["=", "<>", "<", ">="]);
                format!(
                    "{} {op} {}",
                    scope.text_column(self.rng),
                    self.rng.pick(&TEXTS)
                )
            }
            4 => {
                let items: Vec<String> = (0..1 + self.rng.below(4))
                    .map(|_| {
                        if self.rng.chance(10) {
                            "NULL".to_owned()
                        } else {
                            self.rng.int().to_string()
                        }
                    })
                    .collect();
                format!(
                    "{} {}IN ({})",
                    self.int(scope, d),
                    if self.rng.chance(30) { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            5 => format!(
                "{} {}BETWEEN {} AND {}",
                self.int(scope, d),
                if self.rng.chance(20) { "NOT " } else { "" },
                self.int(scope, d),
                self.int(scope, d)
            ),
            6 | 7 => format!(
                "({} AND {})",
                self.predicate(scope, d),
                self.predicate(scope, d)
            ),
            8 | 9 => format!(
                "({} OR {})",
                self.predicate(scope, d),
                self.predicate(scope, d)
            ),
            10 => format!("NOT ({})", self.predicate(scope, d)),
            _ => self.subquery_condition(scope),
        }
    }

    /// A WHERE clause: a predicate, and perhaps a subquery condition beside it, where
    /// DataFusion decorrelates it (elsewhere, under OR, in a CASE or an output, as
    /// `predicate` makes them, the engine runs it per row).
    fn filter(&mut self, scope: &Scope, depth: usize) -> String {
        let predicate = self.predicate(scope, depth);
        if !self.rng.chance(35) {
            return predicate;
        }
        let subquery = self.subquery_condition(scope);
        format!("{predicate} AND {subquery}")
    }

    fn subquery_condition(&mut self, scope: &Scope) -> String {
        match self.rng.below(3) {
            0 => {
                // IN a subquery, perhaps correlated.
                let alias = self.alias();
                let table = self.table();
                let inner = Scope {
                    aliases: vec![alias.clone()],
                };
                let mut filter = self.predicate(&inner, 0);
                let not = if self.rng.chance(25) { "NOT " } else { "" };
                if self.rng.chance(40) {
                    let op = self.correlation();
                    filter = format!("{filter} AND {alias}.c {op} {}", scope.column(self.rng));
                }
                format!(
                    "{} {not}IN (SELECT {alias}.{} FROM {table} AS {alias} WHERE {filter})",
                    self.int(scope, 0),
                    self.rng.pick(&INTS)
                )
            }
            1 => {
                // EXISTS, correlated.
                let alias = self.alias();
                let table = self.table();
                let inner = Scope {
                    aliases: vec![alias.clone()],
                };
                let op = self.correlation();
                format!(
                    "{}EXISTS (SELECT 1 FROM {table} AS {alias} WHERE {alias}.{} {op} {} AND {})",
                    if self.rng.chance(25) { "NOT " } else { "" },
                    self.rng.pick(&INTS),
                    scope.column(self.rng),
                    self.predicate(&inner, 0)
                )
            }
            _ => format!(
                "{} = {}",
                scope.column(self.rng),
                self.scalar_subquery(scope, 0, true)
            ),
        }
    }

    /// How a subquery's row relates to the outer row: mostly equality, which DataFusion
    /// decorrelates, sometimes another comparison, which the engine runs per row.
    fn correlation(&mut self) -> &'static str {
        const CORRELATIONS: [&str; 5] = ["=", "=", "<", ">=", "<>"];
        CORRELATIONS[self.rng.below(CORRELATIONS.len())]
    }

    /// An aggregated scalar subquery, perhaps correlated.
    fn scalar_subquery(&mut self, scope: &Scope, depth: usize, correlated: bool) -> String {
        let alias = self.alias();
        let table = self.table();
        let inner = Scope {
            aliases: vec![alias.clone()],
        };
        let aggregate = self.rng.pick(&["max", "min", "sum", "count"]);
        let value = self.int(&inner, depth.min(1));
        let correlation = if correlated && self.rng.chance(50) {
            let op = self.correlation();
            format!(" AND {alias}.b {op} {}", scope.column(self.rng))
        } else {
            String::new()
        };
        format!(
            "(SELECT {aggregate}({value}) FROM {table} AS {alias} WHERE {}{correlation})",
            self.predicate(&inner, 0)
        )
    }

    /// A query, and whether its rows come in an order that the harness must keep.
    pub(crate) fn query(&mut self) -> (String, bool) {
        match self.rng.below(10) {
            0..=3 => self.select(),
            4 | 5 => (self.grouped(), false),
            6 => (self.join(), false),
            7 => (self.union(), false),
            _ => self.ordered(),
        }
    }

    fn one_table(&mut self) -> (String, Scope) {
        let alias = self.alias();
        let from = format!("{} AS {alias}", self.table());
        (
            from,
            Scope {
                aliases: vec![alias],
            },
        )
    }

    fn outputs(&mut self, scope: &Scope) -> Vec<String> {
        (0..1 + self.rng.below(3))
            .map(|_| {
                if self.rng.chance(15) {
                    scope.text_column(self.rng)
                } else {
                    self.int(scope, 2)
                }
            })
            .collect()
    }

    fn select(&mut self) -> (String, bool) {
        (self.select_of(None), false)
    }

    /// A filtered SELECT of one table, of `width` columns (or one to three).
    fn select_of(&mut self, width: Option<usize>) -> String {
        let (from, scope) = self.one_table();
        let outputs = match width {
            Some(n) => (0..n).map(|_| self.int(&scope, 2)).collect(),
            None => self.outputs(&scope),
        };
        let distinct = if self.rng.chance(20) { "DISTINCT " } else { "" };
        let filter = self.filter(&scope, 2);
        format!(
            "SELECT {distinct}{} FROM {from} WHERE {filter}",
            outputs.join(", ")
        )
    }

    fn ordered(&mut self) -> (String, bool) {
        let (from, scope) = self.one_table();
        let outputs = self.outputs(&scope);
        let order: Vec<String> = (1..=outputs.len())
            .map(|i| {
                format!(
                    "{i} {}",
                    self.rng
                        .pick(&["ASC NULLS FIRST", "DESC NULLS LAST", "ASC NULLS LAST"])
                )
            })
            .collect();
        let filter = self.filter(&scope, 1);
        let limit = 1 + self.rng.below(6);
        let offset = if self.rng.chance(30) {
            format!(" OFFSET {}", self.rng.below(3))
        } else {
            String::new()
        };
        // Ties keep no order: only statements whose output is ordered in full are kept
        // as ordered; with a LIMIT, ties are made impossible by ordering the key too.
        let key = scope.aliases[0].clone() + ".a";
        (
            format!(
                "SELECT {}, {key} FROM {from} WHERE {filter} ORDER BY {}, {} LIMIT {limit}{offset}",
                outputs.join(", "),
                order.join(", "),
                outputs.len() + 1
            ),
            true,
        )
    }

    fn grouped(&mut self) -> String {
        let (from, scope) = self.one_table();
        // A key of a column: SQLite reads a constant integer key as an output position.
        let column = scope.column(self.rng);
        let key = match self.rng.below(4) {
            0 => column,
            1 => format!("({column} % 3)"),
            2 => format!("coalesce({column}, {})", self.rng.int()),
            _ => format!("({column} + {})", self.int(&scope, 1)),
        };
        let value = self.int(&scope, 1);
        let aggregate = |rng: &mut Rng, value: &str| match rng.below(6) {
            0 => "count(*)".to_owned(),
            1 => format!("count({value})"),
            2 => format!("sum({value})"),
            3 => format!("min({value})"),
            4 => format!("max({value})"),
            _ => format!("count(DISTINCT {value})"),
        };
        let first = aggregate(self.rng, &value);
        let filter = self.filter(&scope, 1);
        if self.rng.chance(25) {
            return format!("SELECT {first} FROM {from} WHERE {filter}");
        }
        let having = if self.rng.chance(40) {
            let op = self.rng.pick(&[">", "<=", "<>"]);
            format!(
                " HAVING {} {op} {}",
                aggregate(self.rng, &value),
                self.rng.int()
            )
        } else {
            String::new()
        };
        format!("SELECT {key}, {first} FROM {from} WHERE {filter} GROUP BY {key}{having}")
    }

    fn join(&mut self) -> String {
        let (left, right) = (self.alias(), self.alias());
        let scope = Scope {
            aliases: vec![left.clone(), right.clone()],
        };
        let kind = self.rng.pick(&["JOIN", "LEFT JOIN"]);
        let on = format!(
            "{left}.{} = {right}.{}",
            self.rng.pick(&INTS),
            self.rng.pick(&INTS)
        );
        let outputs = self.outputs(&scope);
        let filter = if self.rng.chance(70) {
            format!(" WHERE {}", self.filter(&scope, 1))
        } else {
            String::new()
        };
        format!(
            "SELECT {} FROM {} AS {left} {kind} {} AS {right} ON {on}{filter}",
            outputs.join(", "),
            self.table(),
            self.table()
        )
    }

    fn union(&mut self) -> String {
        let width = 1 + self.rng.below(2);
        let op = self
            .rng
            .pick(&["UNION", "UNION ALL", "EXCEPT", "INTERSECT"]);
        format!(
            "{} {op} {}",
            self.select_of(Some(width)),
            self.select_of(Some(width))
        )
    }

    /// An UPDATE, DELETE or INSERT.
    pub(crate) fn write(&mut self) -> String {
        let (table, alias) = (self.table(), self.alias());
        let scope = Scope {
            aliases: vec![alias.clone()],
        };
        match self.rng.below(5) {
            0 | 1 => {
                let column = self.rng.pick(&["b", "c"]);
                let mut value = self.int(&scope, 2);
                if *column == "c" {
                    value = format!("coalesce({value}, 0)");
                }
                let filter = self.filter(&scope, 2);
                format!("UPDATE {table} AS {alias} SET {column} = {value} WHERE {filter}")
            }
            2 | 3 => {
                let filter = self.filter(&scope, 2);
                format!("DELETE FROM {table} AS {alias} WHERE {filter}")
            }
            _ => {
                let key = 100 + self.rng.below(1_000_000);
                format!(
                    "INSERT INTO {table} VALUES ({key}, {}, {}, {})",
                    nullable_int(self.rng),
                    self.rng.int(),
                    self.rng.pick(&TEXTS)
                )
            }
        }
    }
}

/// `sql` with its table slots filled: `ns.t1` when `namespace` is `Some("ns")`, else `t1`.
pub(crate) fn render(sql: &str, namespace: Option<&str>) -> String {
    let mut out = sql.to_owned();
    for table in TABLES {
        let name = match namespace {
            Some(ns) => format!("{ns}.{table}"),
            None => table.to_owned(),
        };
        out = out.replace(&format!("{{{table}}}"), &name);
    }
    out
}
