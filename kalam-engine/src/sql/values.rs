//! A multi-row `INSERT ... VALUES` of plain literals, parsed without tokenizing its rows.
//!
//! A bulk INSERT of a hundred rows is some 1,500 tokens, each a `String` in the tokenizer
//! and a node built by the recursive-descent parser: most of the time of the statement
//! (`bulk_insert` in `kalam bench`). Its rows are the simplest of grammars, so they are read
//! here in one pass over the text; the head, `INSERT INTO name (columns) VALUES`, is still
//! parsed by the parser (with one row after it, which is then replaced), so names, quoting
//! and the statement's shape are exactly the parser's.
//!
//! What this reads is the tree the parser would build, spans included: the literals (an
//! unsigned integer or decimal, with a minus sign or not; a string between single quotes,
//! `''` for a quote; `NULL`, `TRUE`, `FALSE`), whitespace of spaces, tabs and newlines
//! between them, an optional `;` at the end. Anything else in the rows (an expression, a
//! comment, an exponent, a second statement) and any head that is not plain (quotes,
//! comments, symbols other than `.`, `,` and parentheses) leave the text to the parser.
//! `tests` below compares both on generated texts.

use datafusion::sql::sqlparser::ast::{
    Expr, Parens, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan,
    helpers::attached_token::AttachedToken,
};
use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan};

use super::{Parsed, Stmt};

/// Rows below this many are left to the parser: the head's parse would be most of it.
const MIN_ROWS: usize = 2;

/// `sql` parsed as the parser would, if it is one multi-row INSERT of plain literals;
/// `None` to leave it to the parser.
pub(super) fn parse(sql: &str) -> Option<Parsed<'_>> {
    let start = sql.len() - sql.trim_start().len();
    let values_end = head_end(sql, start)?;
    let mut reader = Reader::new(sql, values_end);
    let (rows, negative) = reader.rows()?;
    if rows.len() < MIN_ROWS {
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
    let Parsed {
        mut stmt, depth, ..
    } = parsed.pop()?;
    let Stmt::Sql(Statement::Insert(insert)) = &mut stmt else {
        return None;
    };
    let query = insert.source.as_deref_mut()?;
    let SetExpr::Values(values) = query.body.as_mut() else {
        return None;
    };
    if values.explicit_row || values.value_keyword || values.rows.len() != 1 {
        return None;
    }
    values.rows = rows;
    // The rows' depth as `depth::of` counts it: a level for the parenthesis, one more for
    // a minus sign.
    let rows_depth = if negative { 2 } else { 1 };
    Some(Parsed {
        stmt,
        text,
        depth: depth.max(rows_depth),
    })
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

/// Reads the rows after `VALUES`, keeping the tokenizer's locations: lines and columns from
/// 1, columns in characters.
struct Reader<'a> {
    sql: &'a str,
    at: usize,
    line: u64,
    column: u64,
    /// The byte offset just past the last token read.
    last_token_end: usize,
}

impl<'a> Reader<'a> {
    /// A reader at byte `at` of `sql`, which the parser's tokens before it reach.
    fn new(sql: &'a str, at: usize) -> Self {
        let before = &sql[..at];
        let line = 1 + before.matches('\n').count() as u64;
        let column = 1 + before
            .rsplit_once('\n')
            .map_or(before, |(_, last)| last)
            .chars()
            .count() as u64;
        Reader {
            sql,
            at,
            line,
            column,
            last_token_end: at,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.sql.as_bytes().get(self.at).copied()
    }

    fn location(&self) -> Location {
        Location::new(self.line, self.column)
    }

    /// Moves past one character.
    fn bump(&mut self) {
        match self.peek() {
            None => {}
            Some(b'\n') => {
                self.at += 1;
                self.line += 1;
                self.column = 1;
            }
            Some(b) if b.is_ascii() => {
                self.at += 1;
                self.column += 1;
            }
            Some(_) => self.pass(self.sql[self.at..].chars().next().map_or(0, char::len_utf8)),
        }
    }

    /// Moves past the next `len` bytes, which end on a character's boundary.
    fn pass(&mut self, len: usize) {
        let chunk = &self.sql[self.at..self.at + len];
        let chars = |text: &str| {
            if text.is_ascii() {
                text.len() as u64
            } else {
                text.chars().count() as u64
            }
        };
        match chunk.rfind('\n') {
            None => self.column += chars(chunk),
            Some(last) => {
                self.line += chunk.bytes().filter(|&b| b == b'\n').count() as u64;
                self.column = 1 + chars(&chunk[last + 1..]);
            }
        }
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
    fn rows(&mut self) -> Option<(Vec<Parens<Vec<Expr>>>, bool)> {
        let mut rows = Vec::new();
        let mut negative = false;
        loop {
            self.skip_whitespace();
            let opening_token = self.symbol(b'(', Token::LParen)?;
            let mut content = Vec::new();
            loop {
                self.skip_whitespace();
                let (value, minus) = self.value()?;
                negative |= minus;
                content.push(value);
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

    /// A literal, and whether it has a minus sign.
    fn value(&mut self) -> Option<(Expr, bool)> {
        if self.peek() == Some(b'-') {
            self.bump();
            // `--` starts a comment.
            if self.peek() == Some(b'-') {
                return None;
            }
            self.skip_whitespace();
            let number = self.number()?;
            let expr = Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(number),
            };
            return Some((expr, true));
        }
        let expr = match self.peek()? {
            b'0'..=b'9' => self.number()?,
            b'\'' => self.string()?,
            _ => self.word()?,
        };
        Some((expr, false))
    }

    /// Digits, with a fraction or not.
    fn number(&mut self) -> Option<Expr> {
        let (start, from) = (self.location(), self.at);
        self.digits()?;
        if self.peek() == Some(b'.') {
            self.bump();
            self.digits()?;
        }
        let text = &self.sql[from..self.at];
        self.literal_end()?;
        Some(self.spanned(Value::Number(text.to_owned(), false), start))
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
    fn string(&mut self) -> Option<Expr> {
        let start = self.location();
        self.bump();
        let mut text = String::new();
        loop {
            let rest = &self.sql[self.at..];
            let quote = rest.find('\'')?;
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
        Some(self.spanned(Value::SingleQuotedString(text), start))
    }

    /// `NULL`, `TRUE` or `FALSE`, in any case.
    fn word(&mut self) -> Option<Expr> {
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
        Some(self.spanned(value, start))
    }

    /// A literal ends where whitespace, a comma or a closing parenthesis follows: `1a`,
    /// `'a''b'` read wrong, `1.5e3`, `'a' 'b'` and the like are left to the parser.
    fn literal_end(&mut self) -> Option<()> {
        let ends = matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b',' | b')'));
        self.last_token_end = self.at;
        ends.then_some(())
    }

    fn spanned(&self, value: Value, start: Location) -> Expr {
        Expr::Value(ValueWithSpan {
            value,
            span: Span::new(start, self.location()),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Both parses of `sql`, as their debug forms (spans included).
    fn both(sql: &str) -> (Option<String>, String) {
        let fast = parse(sql).map(|p| format!("{p:?}"));
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
        }
    }

    #[test]
    fn leaves_anything_else_to_the_parser() {
        for sql in [
            // One row: the parser's.
            "INSERT INTO t VALUES (1, 2)",
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
            assert_eq!(parse(sql).map(|p| format!("{p:?}")), None, "{sql}");
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
