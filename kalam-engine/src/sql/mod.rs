//! Splitting SQL text into statements, and the statements that are the engine's own
//! (`CREATE NAMESPACE`, `CREATE USER|SHARED TABLE`, `CREATE USER`, `SET GATE`). Everything
//! else is standard SQL for DataFusion.

mod depth;
pub(crate) mod names;
pub(crate) mod output;
pub(crate) mod params;
mod values;

pub(crate) use depth::{SHALLOW, on_deep_stack};
pub(crate) use values::InsertRows;

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::error::Error;
use crate::models::{Role, TableType};

/// Nesting deeper than this is refused with an error (instead of overflowing the stack).
const RECURSION_LIMIT: usize = 64;

/// One parsed statement.
#[derive(Debug)]
pub(crate) enum Stmt {
    CreateNamespace {
        name: String,
        if_not_exists: bool,
    },
    DropNamespace {
        name: String,
        if_exists: bool,
    },
    CreateTable {
        kind: TableType,
        statement: Statement,
    },
    CreateUser {
        id: String,
        options: UserOptions,
    },
    AlterUser {
        id: String,
        options: UserOptions,
    },
    SetGate {
        name: String,
        on: bool,
    },
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    Sql(Statement),
    /// An INSERT of rows of plain literals, its rows read as values (from
    /// [`parse_to_run`] only).
    InsertRows(Box<InsertRows>),
}

impl Stmt {
    /// Whether the statement is DDL (or `SET GATE`), which commits on its own and cannot
    /// run inside a transaction; its name if so.
    pub(crate) fn ddl(&self) -> Option<&'static str> {
        Some(match self {
            Stmt::CreateNamespace { .. } => "CREATE NAMESPACE",
            Stmt::DropNamespace { .. } => "DROP NAMESPACE",
            Stmt::CreateTable { .. } => "CREATE TABLE",
            Stmt::CreateUser { .. } => "CREATE USER",
            Stmt::AlterUser { .. } => "ALTER USER",
            Stmt::SetGate { .. } => "SET GATE",
            Stmt::Sql(Statement::CreateIndex(_)) => "CREATE INDEX",
            Stmt::Sql(Statement::CreateView(_)) => "CREATE VIEW",
            Stmt::Sql(Statement::Drop { .. }) => "DROP",
            _ => return None,
        })
    }
}

/// What `CREATE USER` and `ALTER USER` set; `None` leaves it as it is (or the default).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct UserOptions {
    pub(crate) role: Option<Role>,
    /// `PASSWORD 'text'` (`Some(Some)`) or `PASSWORD NULL` (`Some(None)`).
    pub(crate) password: Option<Option<String>>,
    /// `NOLOGIN` or `ACCOUNT LOCK` (`true`), `LOGIN` or `ACCOUNT UNLOCK` (`false`).
    pub(crate) locked: Option<bool>,
}

impl Stmt {
    /// The statement's text as logs keep it: without the password of a `CREATE USER` or
    /// `ALTER USER`.
    pub(crate) fn logged<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            Stmt::CreateUser { id, options } | Stmt::AlterUser { id, options }
                if options.password.is_some() =>
            {
                let verb = if matches!(self, Stmt::CreateUser { .. }) {
                    "CREATE"
                } else {
                    "ALTER"
                };
                format!("{verb} USER {id} PASSWORD '********'").into()
            }
            _ => text.into(),
        }
    }
}

fn word(token: &TokenWithSpan) -> Option<String> {
    match &token.token {
        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn ident(token: Option<&TokenWithSpan>) -> Result<String, Error> {
    match token.map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_some() => Ok(w.value.clone()),
        Some(Token::Word(w)) => Ok(w.value.to_ascii_lowercase()),
        Some(Token::SingleQuotedString(s)) => Ok(s.clone()),
        Some(other) => Err(Error::parse(format!("expected a name, found `{other}`"))),
        None => Err(Error::parse(
            "expected a name, found the end of the statement",
        )),
    }
}

fn expect_end(tokens: &[TokenWithSpan], at: usize) -> Result<(), Error> {
    match tokens.get(at) {
        None => Ok(()),
        Some(t) => Err(Error::parse(format!(
            "unexpected `{}` at line {}, column {}",
            t.token, t.span.start.line, t.span.start.column
        ))),
    }
}

/// A statement and its text.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) stmt: Stmt,
    /// The statement as written in the text it came from, without the `;`.
    pub(crate) text: &'a str,
    /// A bound on how deep its expressions are (see [`depth`]).
    pub(crate) depth: usize,
}

/// Parses `sql` into statements.
pub(crate) fn parse(sql: &str) -> Result<Vec<Parsed<'_>>, Error> {
    match values::tree(sql) {
        Some(insert) => Ok(vec![insert]),
        None => parse_tokens(sql),
    }
}

/// Parses `sql` into statements to be run at once: as [`parse`], but an INSERT of rows of
/// plain literals is a [`Stmt::InsertRows`], its rows read as values, which the INSERT's
/// fast path takes without a syntax tree for them.
pub(crate) fn parse_to_run(sql: &str) -> Result<Vec<Parsed<'_>>, Error> {
    match values::parse(sql) {
        Some(insert) => Ok(vec![insert]),
        None => parse(sql),
    }
}

/// Parses `sql` into statements, token by token.
fn parse_tokens(sql: &str) -> Result<Vec<Parsed<'_>>, Error> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(Error::parse_from)?;
    // The statements' tokens, moved (a bulk INSERT has thousands), without whitespace.
    let mut pieces: Vec<Vec<TokenWithSpan>> = vec![Vec::new()];
    for token in tokens {
        match token.token {
            Token::SemiColon => pieces.push(Vec::new()),
            Token::Whitespace(_) | Token::EOF => {}
            _ => {
                if let Some(piece) = pieces.last_mut() {
                    piece.push(token);
                }
            }
        }
    }
    let mut cursor = Cursor::new(sql);
    let mut statements = Vec::new();
    for piece in pieces {
        let (Some(first), Some(last)) = (piece.first(), piece.last()) else {
            continue;
        };
        let (start, end) = (
            cursor.offset(first.span.start),
            cursor.offset(last.span.end),
        );
        let text = sql.get(start..end.max(start)).unwrap_or(sql).trim();
        // Before the parser: it would build the expression, whose drop alone recurses.
        let depth = depth::of(&piece)?;
        statements.push(Parsed {
            stmt: parse_one(piece)?,
            text,
            depth,
        });
    }
    if statements.is_empty() {
        return Err(Error::parse("no statement"));
    }
    Ok(statements)
}

/// Byte offsets of token locations (lines and columns count from 1, columns in
/// characters), found walking forward from the last one: the statements of a text are
/// found in one pass over it, however many there are on a line.
struct Cursor<'a> {
    sql: &'a str,
    /// The location at `byte`.
    at: (u64, u64),
    byte: usize,
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str) -> Self {
        Cursor {
            sql,
            at: (1, 1),
            byte: 0,
        }
    }

    /// The byte offset of `location`; the end of the text for a location past it.
    fn offset(&mut self, location: Location) -> usize {
        let wanted = (location.line, location.column);
        if wanted < self.at {
            *self = Cursor::new(self.sql);
        }
        for (i, c) in self.sql[self.byte..].char_indices() {
            if self.at == wanted {
                self.byte += i;
                return self.byte;
            }
            self.at = if c == '\n' {
                (self.at.0 + 1, 1)
            } else {
                (self.at.0, self.at.1 + 1)
            };
        }
        self.byte = self.sql.len();
        self.sql.len()
    }
}

fn parse_one(mut tokens: Vec<TokenWithSpan>) -> Result<Stmt, Error> {
    let words: Vec<Option<String>> = tokens.iter().take(6).map(word).collect();
    let w = |i: usize| words.get(i).cloned().flatten().unwrap_or_default();
    match (w(0).as_str(), w(1).as_str(), w(2).as_str()) {
        ("CREATE", "NAMESPACE", _) => {
            let if_not_exists = w(2) == "IF" && w(3) == "NOT" && w(4) == "EXISTS";
            let at = if if_not_exists { 5 } else { 2 };
            let name = ident(tokens.get(at))?;
            expect_end(&tokens, at + 1)?;
            Ok(Stmt::CreateNamespace {
                name,
                if_not_exists,
            })
        }
        ("DROP", "NAMESPACE", _) => {
            let if_exists = w(2) == "IF" && w(3) == "EXISTS";
            let at = if if_exists { 4 } else { 2 };
            let name = ident(tokens.get(at))?;
            expect_end(&tokens, at + 1)?;
            Ok(Stmt::DropNamespace { name, if_exists })
        }
        ("CREATE", kind @ ("USER" | "SHARED"), "TABLE") => {
            let kind = if kind == "USER" {
                TableType::User
            } else {
                TableType::Shared
            };
            tokens.remove(1);
            Ok(Stmt::CreateTable {
                kind,
                statement: parse_standard(tokens)?,
            })
        }
        // As in every other SQL database, a plain CREATE TABLE makes one set of rows that
        // everyone allowed sees; a per-user table is asked for by name.
        ("CREATE", "TABLE", _) => Ok(Stmt::CreateTable {
            kind: TableType::Shared,
            statement: parse_standard(tokens)?,
        }),
        (verb @ ("CREATE" | "ALTER"), "USER", _) => {
            let id = ident(tokens.get(2))?;
            let options = user_options(&tokens, 3)?;
            Ok(if verb == "CREATE" {
                Stmt::CreateUser { id, options }
            } else if options == UserOptions::default() {
                return Err(Error::parse(
                    "ALTER USER sets PASSWORD, ROLE, LOGIN or NOLOGIN: name one",
                ));
            } else {
                Stmt::AlterUser { id, options }
            })
        }
        ("SET", "GATE", _) => {
            let name = ident(tokens.get(2))?;
            let mut at = 3;
            if matches!(tokens.get(at).map(|t| &t.token), Some(Token::Eq)) || w(at) == "TO" {
                at += 1;
            }
            let on = match tokens.get(at).and_then(word).as_deref() {
                Some("ON" | "TRUE") => true,
                Some("OFF" | "FALSE") => false,
                _ => {
                    return Err(Error::parse(
                        "expected `SET GATE name = on` or `SET GATE name = off`",
                    ));
                }
            };
            expect_end(&tokens, at + 1)?;
            Ok(Stmt::SetGate { name, on })
        }
        _ => transaction_control(parse_standard(tokens)?),
    }
}

/// The options of `CREATE USER name [WITH] ...` from `tokens[at..]`, in any order, each
/// once: `ROLE user|dba`, `PASSWORD 'text'|NULL`, `LOGIN`, `NOLOGIN`, `ACCOUNT LOCK|UNLOCK`.
fn user_options(tokens: &[TokenWithSpan], mut at: usize) -> Result<UserOptions, Error> {
    let mut options = UserOptions::default();
    if tokens.get(at).and_then(word).as_deref() == Some("WITH") {
        at += 1;
    }
    let twice = |what: &str| Err(Error::parse(format!("{what} is given twice")));
    while let Some(token) = tokens.get(at) {
        let option = word(token).unwrap_or_default();
        at += 1;
        match option.as_str() {
            "ROLE" => {
                let role = match ident(tokens.get(at))?.to_ascii_lowercase().as_str() {
                    "user" => Role::User,
                    "dba" => Role::Dba,
                    other => {
                        return Err(Error::parse(format!(
                            "unknown role `{other}`; roles are `user` and `dba`"
                        )));
                    }
                };
                at += 1;
                if options.role.replace(role).is_some() {
                    return twice("ROLE");
                }
            }
            "PASSWORD" => {
                let password = match tokens.get(at).map(|t| &t.token) {
                    Some(Token::SingleQuotedString(text)) => Some(text.clone()),
                    Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("NULL") => None,
                    _ => {
                        return Err(Error::parse(
                            "expected a quoted password or NULL after PASSWORD",
                        ));
                    }
                };
                at += 1;
                if options.password.replace(password).is_some() {
                    return twice("PASSWORD");
                }
            }
            "LOGIN" | "NOLOGIN" | "ACCOUNT" => {
                let locked = match option.as_str() {
                    "LOGIN" => false,
                    "NOLOGIN" => true,
                    _ => {
                        let lock = tokens.get(at).and_then(word);
                        at += 1;
                        match lock.as_deref() {
                            Some("LOCK") => true,
                            Some("UNLOCK") => false,
                            _ => {
                                return Err(Error::parse(
                                    "expected ACCOUNT LOCK or ACCOUNT UNLOCK",
                                ));
                            }
                        }
                    }
                };
                if options.locked.replace(locked).is_some() {
                    return twice("LOGIN or NOLOGIN");
                }
            }
            _ => {
                return Err(Error::parse(format!(
                    "unexpected `{}` at line {}, column {}: a user's options are ROLE, PASSWORD, \
                     LOGIN and NOLOGIN",
                    token.token, token.span.start.line, token.span.start.column
                )));
            }
        }
    }
    Ok(options)
}

/// `BEGIN`, `COMMIT` and `ROLLBACK` as the engine's own statements; every other one as
/// it is.
fn transaction_control(statement: Statement) -> Result<Stmt, Error> {
    use datafusion::sql::sqlparser::ast::{
        TransactionAccessMode, TransactionIsolationLevel as Level, TransactionMode,
    };
    match statement {
        Statement::StartTransaction { modes, .. } => {
            for mode in modes {
                match mode {
                    // Snapshot isolation gives all that these levels promise, and more.
                    TransactionMode::IsolationLevel(
                        Level::ReadUncommitted
                        | Level::ReadCommitted
                        | Level::RepeatableRead
                        | Level::Snapshot,
                    )
                    | TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => {}
                    TransactionMode::IsolationLevel(Level::Serializable) => {
                        return Err(Error::unsupported(
                            "ISOLATION LEVEL SERIALIZABLE: transactions run under snapshot \
                             isolation (REPEATABLE READ)",
                        ));
                    }
                    TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => {
                        return Err(Error::unsupported(
                            "READ ONLY transactions: begin a READ WRITE one, which reads the same",
                        ));
                    }
                }
            }
            Ok(Stmt::Begin)
        }
        Statement::Commit { chain: false, .. } => Ok(Stmt::Commit),
        Statement::Rollback {
            chain: false,
            savepoint: None,
        } => Ok(Stmt::Rollback),
        Statement::Commit { .. } | Statement::Rollback { chain: true, .. } => Err(
            Error::unsupported("AND CHAIN: end the transaction, then BEGIN another"),
        ),
        Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => Err(Error::unsupported(
            "savepoints: a transaction rolls back whole",
        )),
        other => Ok(Stmt::Sql(other)),
    }
}

fn parse_standard(tokens: Vec<TokenWithSpan>) -> Result<Statement, Error> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let statement = parser.parse_statement().map_err(Error::parse_from)?;
    if parser.peek_token().token != Token::EOF {
        return Err(Error::parse(format!(
            "unexpected `{}` after the statement",
            parser.peek_token().token
        )));
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_statements_are_recognized() {
        let parsed = parse(
            "CREATE NAMESPACE IF NOT EXISTS App; create shared table app.t (id INT PRIMARY KEY); \
             CREATE USER alice WITH ROLE dba; SET GATE audit_log = on; SELECT 1; \
             CREATE TABLE app.u (id INT PRIMARY KEY)",
        )
        .unwrap();
        let stmts: Vec<&Stmt> = parsed.iter().map(|p| &p.stmt).collect();
        assert!(
            matches!(stmts[0], Stmt::CreateNamespace { name, if_not_exists: true } if name == "app")
        );
        assert!(matches!(
            stmts[1],
            Stmt::CreateTable {
                kind: TableType::Shared,
                ..
            }
        ));
        assert!(matches!(stmts[2], Stmt::CreateUser { id, options }
            if id == "alice" && options.role == Some(Role::Dba) && options.password.is_none()));
        assert!(matches!(stmts[3], Stmt::SetGate { name, on: true } if name == "audit_log"));
        assert!(matches!(stmts[4], Stmt::Sql(_)));
        assert!(matches!(
            stmts[5],
            Stmt::CreateTable {
                kind: TableType::Shared,
                ..
            }
        ));
    }

    #[test]
    fn user_options_come_in_any_order() {
        let parsed = parse(
            "CREATE USER bob PASSWORD 'it''s' ROLE dba NOLOGIN; ALTER USER bob WITH PASSWORD NULL; \
             ALTER USER bob LOGIN; CREATE USER carol",
        )
        .unwrap();
        let options: Vec<&UserOptions> = parsed
            .iter()
            .map(|p| match &p.stmt {
                Stmt::CreateUser { options, .. } | Stmt::AlterUser { options, .. } => options,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            *options[0],
            UserOptions {
                role: Some(Role::Dba),
                password: Some(Some("it's".into())),
                locked: Some(true)
            }
        );
        assert_eq!(options[1].password, Some(None));
        assert_eq!(options[2].locked, Some(false));
        assert_eq!(*options[3], UserOptions::default());
        // The password stays out of the logs.
        let logged = parsed[0].stmt.logged(parsed[0].text);
        assert_eq!(logged, "CREATE USER bob PASSWORD '********'");
        assert_eq!(
            parsed[2].stmt.logged(parsed[2].text),
            "ALTER USER bob LOGIN"
        );
    }

    #[test]
    fn each_statement_keeps_its_own_text() {
        let sql = "SELECT 'a;b' ;\n  -- a comment\n  SELECT\n    2 ;;CREATE NAMESPACE é_ns; SELECT 'é' AS x";
        let texts: Vec<&str> = parse(sql).unwrap().iter().map(|p| p.text).collect();
        assert_eq!(
            texts,
            [
                "SELECT 'a;b'",
                "SELECT\n    2",
                "CREATE NAMESPACE é_ns",
                "SELECT 'é' AS x"
            ]
        );
    }

    #[test]
    fn bad_text_is_an_error() {
        for bad in [
            "",
            ";;",
            "SELEC 1",
            "CREATE NAMESPACE",
            "CREATE NAMESPACE a b",
            "SET GATE x = maybe",
            "CREATE USER bob ROLE king",
            "CREATE USER bob PASSWORD secret",
            "CREATE USER bob PASSWORD 'a' PASSWORD 'b'",
            "CREATE USER bob SUPERUSER",
            "ALTER USER bob",
            "ALTER USER bob ACCOUNT",
            "SELECT 'unterminated",
            &format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500)),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
