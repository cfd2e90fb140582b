//! An `INSERT ... VALUES` of plain literals, parsed without tokenizing its rows.
//!
//! A bulk INSERT of a hundred rows is some 1,500 tokens, each a `String` in the tokenizer
//! and a node built by the recursive-descent parser: most of the time of the statement
//! (`bulk_insert` in `kalam bench`). Its rows are the simplest of grammars, so they are read
//! here in one pass over the text; the head, `INSERT INTO name (columns) VALUES`, is still
//! parsed by the parser (with one row after it, which is then replaced), so names, quoting
//! and the statement's shape are exactly the parser's.
//!
//! Texts that are run take the rows straight into values ([`InsertRows`], one row or
//! more), which the INSERT's fast path types for their columns: no tree is built for them
//! and read back. Elsewhere, what this reads is the tree the parser would build, spans
//! included: the literals (an unsigned integer or decimal, with a minus sign or not; a
//! string between single quotes, `''` for a quote; `NULL`, `TRUE`, `FALSE`), whitespace of
//! spaces, tabs and newlines between them, an optional `;` at the end. Anything else in
//! the rows (an expression, a comment, an exponent, a second statement) and any head that
//! is not plain (quotes, comments, symbols other than `.`, `,` and parentheses) leave the
//! text to the parser. `tests` below compares both on generated texts.

use datafusion::sql::sqlparser::ast::{
    Expr, Parens, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan,
    helpers::attached_token::AttachedToken,
};
use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan};

use super::{Parsed, Stmt};

/// Rows below this many are left to the parser when it is to build the tree: the head's
/// parse would be most of it. Read as values, one row gains too (no tree to build and
/// read back, and the row's strings are not tokenized).
const MIN_TREE_ROWS: usize = 2;

/// An INSERT of rows of plain literals with its rows read as values, no syntax tree built
/// for them: what the INSERT's fast path takes. Any other path asks for [`Self::tree`].
#[derive(Debug)]
pub(crate) struct InsertRows {
    /// The INSERT as the parser reads its head, with one row of NULL for its rows.
    pub(crate) head: Statement,
    /// Each row's literals as values: integers as BIGINT, other numbers as DOUBLE, strings,
    /// booleans, NULL (what the fast paths make of a literal in a tree).
    pub(crate) rows: Vec<Vec<crate::value::Value>>,
    /// The text it was read from (this one statement), which [`Self::tree`] parses.
    text: String,
}

impl InsertRows {
    /// The statement as the parser reads it, rows and spans included (its table name as
    /// written, not qualified).
    pub(crate) fn tree(&self) -> Result<Statement, crate::error::Error> {
        let mut parsed = match tree(&self.text) {
            Some(parsed) => vec![parsed],
            None => super::parse_tokens(&self.text)?,
        };
        match (parsed.pop().map(|p| p.stmt), parsed.pop()) {
            (Some(Stmt::Sql(statement)), None) => Ok(statement),
            _ => Err(crate::error::Error::parse(
                "an INSERT of literals read as another statement",
            )),
        }
    }
}

/// `sql` as an [`InsertRows`] if it is one INSERT of rows of plain literals that read as
/// values (a number too large for a DOUBLE does not); `None` to leave it to [`tree`].
pub(super) fn parse(sql: &str) -> Option<Parsed<'_>> {
    let (parsed, rows) = read(sql, 1, false, Lit::value)?;
    let Parsed {
        stmt: Stmt::Sql(head),
        text,
        depth,
    } = parsed
    else {
        return None;
    };
    let rows = rows.into_iter().map(|row| row.content).collect();
    let stmt = Stmt::InsertRows(Box::new(InsertRows {
        head,
        rows,
        text: sql.to_owned(),
    }));
    Some(Parsed { stmt, text, depth })
}

/// `sql` parsed as the parser would, if it is one multi-row INSERT of plain literals;
/// `None` to leave it to the parser.
pub(super) fn tree(sql: &str) -> Option<Parsed<'_>> {
    let (mut parsed, rows) = read(sql, MIN_TREE_ROWS, true, |lit| Some(lit.expr()))?;
    if let Stmt::Sql(Statement::Insert(insert)) = &mut parsed.stmt
        && let Some(query) = insert.source.as_deref_mut()
        && let SetExpr::Values(values) = query.body.as_mut()
    {
        values.rows = rows;
    }
    Some(parsed)
}

/// An INSERT of at least `min_rows` rows of plain literals: the statement as the parser
/// reads its head (with one row of NULL), and its rows, each literal made a `T` by `each`
/// (`None` leaves the text to the parser), with the tokens' spans if `spans` (else empty).
fn read<'s, T>(
    sql: &'s str,
    min_rows: usize,
    spans: bool,
    mut each: impl FnMut(Lit<'s>) -> Option<T>,
) -> Option<(Parsed<'s>, Vec<Parens<Vec<T>>>)> {
    let start = sql.len() - sql.trim_start().len();
    let values_end = head_end(sql, start)?;
    let mut reader = Reader::new(sql, values_end, spans);
    let (rows, negative) = reader.rows(&mut each)?;
    if rows.len() < min_rows {
        return None;
    }
    let text = sql[start..reader.last_token_end].trim();
    // The head and one row, through the parser; a head it reads as anything but an
    // INSERT of VALUES leaves the whole text to it.
    let probe = format!("{} (NULL)", &sql[..values_end]);
    let mut parsed = super::parse_tokens(&probe).ok()?;
    if parsed.len() != 1 {
        return None;
    }
    let Parsed { stmt, depth, .. } = parsed.pop()?;
    let Stmt::Sql(Statement::Insert(insert)) = &stmt else {
        return None;
    };
    let query = insert.source.as_deref()?;
    let SetExpr::Values(values) = query.body.as_ref() else {
        return None;
    };
    if values.explicit_row || values.value_keyword || values.rows.len() != 1 {
        return None;
    }
    // The rows' depth as `depth::of` counts it: a level for the parenthesis, one more for
    // a minus sign.
    let rows_depth = if negative { 2 } else { 1 };
    let parsed = Parsed {
        stmt,
        text,
        depth: depth.max(rows_depth),
    };
    Some((parsed, rows))
}

/// A literal as read, with its place in the text.
struct Lit<'a> {
    kind: Kind<'a>,
    /// After a minus sign (a number).
    negative: bool,
    span: Span,
}

enum Kind<'a> {
    /// Digits, with a fraction or not.
    Number(&'a str),
    /// A string's text, `''` read as a quote.
    Str(String),
    /// `NULL`, `TRUE`, `FALSE`.
    Word(Value),
}

impl Lit<'_> {
    /// The literal as the parser's tree has it.
    fn expr(self) -> Expr {
        let value = match self.kind {
            Kind::Number(text) => Value::Number(text.to_owned(), false),
            Kind::Str(text) => Value::SingleQuotedString(text),
            Kind::Word(value) => value,
        };
        let expr = Expr::Value(ValueWithSpan {
            value,
            span: self.span,
        });
        if self.negative {
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(expr),
            }
        } else {
            expr
        }
    }

    /// The literal as a value, as the fast paths read one in a tree; `None` for a number
    /// too large for a DOUBLE.
    fn value(self) -> Option<crate::value::Value> {
        use crate::value::Value as V;
        match self.kind {
            Kind::Number(text) => V::of_number(text, self.negative),
            Kind::Str(text) => Some(V::Text(text)),
            Kind::Word(Value::Boolean(b)) => Some(V::Boolean(b)),
            Kind::Word(_) => Some(V::Null),
        }
    }
}

/// The byte offset just past the `VALUES` of a plain head (`INSERT INTO name [(columns)]
/// VALUES`) that starts at `start`.
fn head_end(sql: &str, start: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    if !sql[start..].get(..6)?.eq_ignore_ascii_case("INSERT") {
        return None;
    }
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() || b == b'_' {
            let word_start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if sql[word_start..i].eq_ignore_ascii_case("VALUES") {
                return Some(i);
            }
        } else if b.is_ascii_digit()
            || matches!(b, b' ' | b'\t' | b'\n' | b'.' | b',' | b'(' | b')')
        {
            i += 1;
        } else {
            return None;
        }
    }
    None
}

/// Reads the rows after `VALUES`, with the tokenizer's locations if asked: lines and
/// columns from 1, columns in characters.
struct Reader<'a> {
    sql: &'a str,
    at: usize,
    /// Whether tokens get their locations; rows read as values need none.
    spans: bool,
    /// The line and column of byte `located`, counted up to `at` when a location is asked.
    line: u64,
    column: u64,
    located: usize,
    /// The byte offset just past the last token read.
    last_token_end: usize,
}

impl<'a> Reader<'a> {
    /// A reader at byte `at` of `sql`, which the parser's tokens before it reach; locating
    /// its tokens if `spans`.
    fn new(sql: &'a str, at: usize, spans: bool) -> Self {
        Reader {
            sql,
            at,
            spans,
            line: 1,
            column: 1,
            located: 0,
            last_token_end: at,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.sql.as_bytes().get(self.at).copied()
    }

    /// Where the reader is, if it locates tokens (else an empty location).
    fn location(&mut self) -> Location {
        if !self.spans {
            return Location::empty();
        }
        // One pass over the bytes since the last location: mostly a literal's few.
        for &b in &self.sql.as_bytes()[self.located..self.at] {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: a character starts here.
                self.column += 1;
            }
        }
        self.located = self.at;
        Location::new(self.line, self.column)
    }

    /// Moves past one character.
    fn bump(&mut self) {
        let len = match self.peek() {
            None => 0,
            Some(b) if b.is_ascii() => 1,
            Some(_) => self.sql[self.at..].chars().next().map_or(0, char::len_utf8),
        };
        self.pass(len);
    }

    /// Moves past the next `len` bytes, which end on a character's boundary.
    fn pass(&mut self, len: usize) {
        self.at += len;
    }

    /// Skips spaces, tabs and newlines; anything else the tokenizer calls whitespace
    /// (comments, other line ends) is not read here.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
            self.bump();
        }
    }

    /// A one-character token.
    fn symbol(&mut self, symbol: u8, token: Token) -> Option<AttachedToken> {
        if self.peek() != Some(symbol) {
            return None;
        }
        let start = self.location();
        self.bump();
        self.last_token_end = self.at;
        Some(AttachedToken(TokenWithSpan::new(
            token,
            Span::new(start, self.location()),
        )))
    }

    /// `(row), (row) ...` to the end of the text (an optional `;` and whitespace after),
    /// and whether any value has a minus sign.
    fn rows<T>(
        &mut self,
        each: &mut impl FnMut(Lit<'a>) -> Option<T>,
    ) -> Option<(Vec<Parens<Vec<T>>>, bool)> {
        let mut rows: Vec<Parens<Vec<T>>> = Vec::new();
        let mut negative = false;
        loop {
            self.skip_whitespace();
            let row_start = self.at;
            let opening_token = self.symbol(b'(', Token::LParen)?;
            // Rows are as wide as the first, as a rule.
            let mut content = Vec::with_capacity(rows.first().map_or(4, |row| row.content.len()));
            loop {
                self.skip_whitespace();
                let lit = self.value()?;
                negative |= lit.negative;
                content.push(each(lit)?);
                self.skip_whitespace();
                if self.symbol(b',', Token::Comma).is_none() {
                    break;
                }
            }
            let closing_token = self.symbol(b')', Token::RParen)?;
            rows.push(Parens {
                opening_token,
                content,
                closing_token,
            });
            if rows.len() == 1 {
                // As many more as rows of the first one's length fit in the rest.
                let row_len = self.at - row_start + 1;
                rows.reserve((self.sql.len() - self.at) / row_len);
            }
            self.skip_whitespace();
            if self.symbol(b',', Token::Comma).is_none() {
                break;
            }
        }
        if self.peek() == Some(b';') {
            self.bump();
            self.skip_whitespace();
        }
        (self.at == self.sql.len()).then_some((rows, negative))
    }

    /// A literal.
    fn value(&mut self) -> Option<Lit<'a>> {
        if self.peek() == Some(b'-') {
            self.bump();
            // `--` starts a comment.
            if self.peek() == Some(b'-') {
                return None;
            }
            self.skip_whitespace();
            return Some(Lit {
                negative: true,
                ..self.number()?
            });
        }
        match self.peek()? {
            b'0'..=b'9' => self.number(),
            b'\'' => self.string(),
            _ => self.word(),
        }
    }

    /// Digits, with a fraction or not.
    fn number(&mut self) -> Option<Lit<'a>> {
        let (start, from) = (self.location(), self.at);
        self.digits()?;
        if self.peek() == Some(b'.') {
            self.bump();
            self.digits()?;
        }
        let text = &self.sql[from..self.at];
        self.literal_end()?;
        Some(self.lit(Kind::Number(text), start))
    }

    fn digits(&mut self) -> Option<()> {
        let count = self.sql.as_bytes()[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.pass(count);
        (count > 0).then_some(())
    }

    /// `'text'`, a quote within written `''`.
    fn string(&mut self) -> Option<Lit<'a>> {
        let start = self.location();
        self.bump();
        let mut text = String::new();
        loop {
            let rest = &self.sql[self.at..];
            let quote = rest.find('\'')?;
            text.reserve_exact(quote);
            text.push_str(&rest[..quote]);
            self.pass(quote);
            self.bump();
            if self.peek() == Some(b'\'') {
                text.push('\'');
                self.bump();
            } else {
                break;
            }
        }
        self.literal_end()?;
        Some(self.lit(Kind::Str(text), start))
    }

    /// `NULL`, `TRUE` or `FALSE`, in any case.
    fn word(&mut self) -> Option<Lit<'a>> {
        let (start, from) = (self.location(), self.at);
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.bump();
        }
        let word = &self.sql[from..self.at];
        let value = if word.eq_ignore_ascii_case("NULL") {
            Value::Null
        } else if word.eq_ignore_ascii_case("TRUE") {
            Value::Boolean(true)
        } else if word.eq_ignore_ascii_case("FALSE") {
            Value::Boolean(false)
        } else {
            return None;
        };
        self.literal_end()?;
        Some(self.lit(Kind::Word(value), start))
    }

    /// A literal ends where whitespace, a comma or a closing parenthesis follows: `1a`,
    /// `'a''b'` read wrong, `1.5e3`, `'a' 'b'` and the like are left to the parser.
    fn literal_end(&mut self) -> Option<()> {
        let ends = matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b',' | b')'));
        self.last_token_end = self.at;
        ends.then_some(())
    }

    fn lit(&mut self, kind: Kind<'a>, start: Location) -> Lit<'a> {
        Lit {
            kind,
            negative: false,
            span: Span::new(start, self.location()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Both parses of `sql`, as their debug forms (spans included).
    fn both(sql: &str) -> (Option<String>, String) {
        let fast = tree(sql).map(|p| format!("{p:?}"));
        let parser = match super::super::parse_tokens(sql) {
            Ok(parsed) if parsed.len() == 1 => format!("{:?}", parsed[0]),
            Ok(parsed) => format!("{} statements", parsed.len()),
            Err(e) => format!("error: {e}"),
        };
        (fast, parser)
    }

    #[test]
    fn reads_the_tree_the_parser_builds() {
        for sql in [
            "INSERT INTO sb.bulk (id, k, c, pad) VALUES (1, 2, 'a', 'b'), (3, -4, 'c''d', '')",
            "  insert into T values(1,NULL,true),(2 , - 3.25 ,FALSE) ;  ",
            "INSERT INTO t\n  VALUES\n\t(1, 'line\nbreak', 'é ü ✓'),\n  (-0, 'back\\slash', null);",
            "INSERT INTO app.t (a) VALUES (007), (123456789012345678901234567890)",
        ] {
            let (fast, parser) = both(sql);
            assert_eq!(fast.as_deref(), Some(parser.as_str()), "{sql}");
            // Read as values, the tree asked of it is the same.
            let Some(Parsed {
                stmt: Stmt::InsertRows(rows),
                ..
            }) = parse(sql)
            else {
                panic!("{sql}: not read as values");
            };
            let tree = format!("{:?}", Stmt::Sql(rows.tree().unwrap()));
            assert_eq!(
                tree,
                format!("{:?}", self::tree(sql).unwrap().stmt),
                "{sql}"
            );
        }
    }

    #[test]
    fn reads_rows_as_the_values_their_literals_denote() {
        use crate::value::Value as V;
        let sql = "INSERT INTO t VALUES (1, - 2.5, 'a''b', 007), \
                   (NULL, TRUE, -9223372036854775808, 123456789012345678901234567890)";
        let Some(Parsed {
            stmt: Stmt::InsertRows(rows),
            ..
        }) = parse(sql)
        else {
            panic!("not read as values");
        };
        assert_eq!(
            rows.rows,
            [
                vec![
                    V::Int64(1),
                    V::Float64(-2.5),
                    V::Text("a'b".into()),
                    V::Int64(7)
                ],
                vec![
                    V::Null,
                    V::Boolean(true),
                    V::Int64(i64::MIN),
                    V::Float64(1.2345678901234568e29)
                ],
            ]
        );
        // A number no DOUBLE holds is the tree's, where it is an error.
        let huge = format!("INSERT INTO t VALUES (1), ({})", "9".repeat(400));
        assert!(parse(&huge).is_none());
        assert!(tree(&huge).is_some());
    }

    #[test]
    fn leaves_anything_else_to_the_parser() {
        // One row: the parser's tree, but read as values.
        let one = "INSERT INTO t VALUES (1, 2)";
        assert!(tree(one).is_none());
        let Some(Parsed {
            stmt: Stmt::InsertRows(rows),
            ..
        }) = parse(one)
        else {
            panic!("one row not read as values");
        };
        use crate::value::Value as V;
        assert_eq!(rows.rows, [vec![V::Int64(1), V::Int64(2)]]);
        assert_eq!(
            format!("{:?}", Stmt::Sql(rows.tree().unwrap())),
            format!("{:?}", super::super::parse_tokens(one).unwrap()[0].stmt)
        );
        for sql in [
            // Not plain literals, or not plain text around them.
            "INSERT INTO t VALUES (1, 2), (1 + 1, 2)",
            "INSERT INTO t VALUES (1, 2), (1.5e3, 2)",
            "INSERT INTO t VALUES (1, 2), (.5, 2)",
            "INSERT INTO t VALUES (1, 2), (+5, 2)",
            "INSERT INTO t VALUES (1, 2), (--5\n, 2)",
            "INSERT INTO t VALUES (1, 2), (1, 'a' 'b')",
            "INSERT INTO t VALUES (1, 2), (1, 'open",
            "INSERT INTO t VALUES (1, 2), (1, x)",
            "INSERT INTO t VALUES (1, 2), (1, 2,)",
            "INSERT INTO t VALUES (1, 2), ()",
            "INSERT INTO t VALUES (1, 2), (3, 4) RETURNING id",
            "INSERT INTO t VALUES (1, 2), (3, 4); SELECT 1",
            "INSERT INTO t VALUES (1, 2),\r\n(3, 4)",
            "INSERT INTO t VALUES (1, 2), (3, 4) -- done",
            // Heads that are not plain.
            "INSERT INTO \"t\" VALUES (1, 2), (3, 4)",
            "INSERT INTO t /* x */ VALUES (1, 2), (3, 4)",
            "INSERT INTO values VALUES (1, 2), (3, 4)",
            "INSERT INTO t SELECT 1 UNION VALUES (1, 2), (3, 4)",
            "INSERT INTO t VALUES ROW(1, 2), ROW(3, 4)",
            "SELECT * FROM t WHERE x IN (VALUES (1), (2))",
        ] {
            assert_eq!(tree(sql).map(|p| format!("{p:?}")), None, "{sql}");
            assert!(parse(sql).is_none(), "{sql}");
        }
    }

    /// A literal's text, as a client writes it.
    fn literal() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            (any::<u32>(), 0u32..1000).prop_map(|(a, b)| format!("{a}.{b:03}")),
            "[ -~é\n]{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
            prop::sample::select(vec!["NULL", "null", "TRUE", "false", "True"])
                .prop_map(str::to_owned),
            (any::<u16>(), prop::sample::select(vec!["-", "- ", "-\n"]))
                .prop_map(|(n, minus)| format!("{minus}{n}")),
        ]
    }

    fn space() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", " ", "  ", "\n", "\t", " \n  "])
    }

    proptest! {
        #[test]
        fn generated_inserts_read_as_the_parser_reads_them(
            rows in prop::collection::vec(prop::collection::vec((literal(), space(), space()), 3), 2..6),
            columns in prop::bool::ANY,
            lead in space(),
            end in prop::sample::select(vec!["", ";", " ;\n", "\n"]),
        ) {
            let mut sql = format!("{lead}INSERT INTO app.items{} VALUES", if columns { " (a, b, c)" } else { "" });
            for (i, row) in rows.iter().enumerate() {
                sql.push_str(if i == 0 { " (" } else { ",\n(" });
                for (j, (value, before, after)) in row.iter().enumerate() {
                    if j > 0 {
                        sql.push(',');
                    }
                    sql.push_str(before);
                    sql.push_str(value);
                    sql.push_str(after);
                }
                sql.push(')');
            }
            sql.push_str(end);
            let (fast, parser) = both(&sql);
            prop_assert_eq!(fast.as_deref(), Some(parser.as_str()), "{}", sql);
        }
    }
}
