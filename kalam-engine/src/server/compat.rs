//! What PostgreSQL clients send besides their own SQL: `SET` and `SHOW` of session
//! settings, and the functions that name the session (`current_user`, `version()`).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::sql::sqlparser::ast::{
    Expr, Function, FunctionArguments, Ident, SelectItem, Set, SetExpr, Statement,
    Value as SqlValue, ValueWithSpan, visit_expressions_mut,
};

use crate::error::Error;
use crate::result::QueryResult;

/// The server's version, as `version()` and the `server_version` parameter give it: the
/// PostgreSQL release whose protocol and behaviour clients should expect.
pub(super) const SERVER_VERSION: &str = "15.0";

/// A session's settings, as `SET` leaves them and `SHOW` reads them.
#[derive(Debug)]
pub(super) struct Settings {
    values: BTreeMap<String, String>,
}

/// Settings clients set on connect, with PostgreSQL's defaults; any other is unknown.
const KNOWN: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "repeatable read"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("intervalstyle", "postgres"),
    ("lock_timeout", "0"),
    ("search_path", "public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "repeatable read"),
];

/// What a statement is to the session, before the engine sees it.
#[derive(Debug)]
pub(super) enum Intercepted {
    /// `SET name = value`: the session's setting changes (`search_path`: its namespace).
    Set { name: String, value: String },
    /// `SHOW name`: the setting, as a one-row result.
    Show(QueryResult),
}

impl Settings {
    pub(super) fn new(search_path: &str) -> Self {
        let mut values: BTreeMap<String, String> = KNOWN
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        values.insert("search_path".to_owned(), search_path.to_owned());
        Settings { values }
    }

    pub(super) fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_owned(), value);
    }

    /// `SET` and `SHOW` of a setting, `SET TRANSACTION` of an isolation the engine gives;
    /// `None` for any other statement.
    pub(super) fn intercept(&self, statement: &Statement) -> Option<Result<Intercepted, Error>> {
        match statement {
            Statement::Set(Set::SingleAssignment {
                variable, values, ..
            }) => {
                let name = variable.to_string().to_ascii_lowercase();
                let value = values
                    .iter()
                    .map(setting_text)
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(
                    self.known(&name)
                        .map(|name| Intercepted::Set { name, value }),
                )
            }
            Statement::Set(Set::SetTimeZone { value, .. }) => Some(Ok(Intercepted::Set {
                name: "timezone".to_owned(),
                value: setting_text(value),
            })),
            Statement::Set(Set::SetNames { charset_name, .. }) => Some(Ok(Intercepted::Set {
                name: "client_encoding".to_owned(),
                value: charset_name.to_string(),
            })),
            Statement::Set(Set::SetTransaction { .. }) => Some(Ok(Intercepted::Set {
                name: "transaction_isolation".to_owned(),
                value: self.values["transaction_isolation"].clone(),
            })),
            Statement::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|i| i.value.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = match name.as_str() {
                    "time zone" => "timezone".to_owned(),
                    "transaction isolation level" => "transaction_isolation".to_owned(),
                    _ => name,
                };
                Some(
                    self.known(&name).and_then(|name| {
                        one_value(&name, &self.values[&name]).map(Intercepted::Show)
                    }),
                )
            }
            _ => None,
        }
    }

    fn known(&self, name: &str) -> Result<String, Error> {
        if self.values.contains_key(name) {
            Ok(name.to_owned())
        } else {
            Err(Error::UnknownSetting(name.to_owned()))
        }
    }
}

/// A setting's value as `SHOW` gives it: strings without their quotes.
fn setting_text(expr: &Expr) -> String {
    match expr {
        Expr::Value(ValueWithSpan {
            value: SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s),
            ..
        }) => s.clone(),
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

/// A one-row, one-column text result.
pub(super) fn one_value(name: &str, value: &str) -> Result<QueryResult, Error> {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(StringArray::from(vec![value.to_owned()]))],
    )
    .map_err(Error::execution_from)?;
    Ok(QueryResult::new(schema, vec![batch]))
}

/// A parameter of SQL's `EXECUTE name (..)`: a literal, cast to the parameter's type when
/// it is bound.
pub(super) fn literal(expr: &Expr) -> Result<crate::value::Value, Error> {
    use crate::value::Value;
    use datafusion::sql::sqlparser::ast::UnaryOperator;
    let number = |text: &str, negative: bool| {
        let text = if negative {
            format!("-{text}")
        } else {
            text.to_owned()
        };
        text.parse::<i64>()
            .map(Value::Int64)
            .or_else(|_| text.parse::<f64>().map(Value::Float64))
            .map_err(|_| Error::parameters(format!("`{text}` is not a number")))
    };
    match expr {
        Expr::Value(ValueWithSpan { value, .. }) => match value {
            SqlValue::Number(text, _) => number(text, false),
            SqlValue::SingleQuotedString(text) => Ok(Value::Text(text.clone())),
            SqlValue::Boolean(b) => Ok(Value::Boolean(*b)),
            SqlValue::Null => Ok(Value::Null),
            other => Err(Error::parameters(format!(
                "EXECUTE takes literals as parameters, not `{other}`"
            ))),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(ValueWithSpan {
                value: SqlValue::Number(text, _),
                ..
            }) => number(text, true),
            other => Err(Error::parameters(format!(
                "EXECUTE takes literals as parameters, not `-{other}`"
            ))),
        },
        other => Err(Error::parameters(format!(
            "EXECUTE takes literals as parameters, not `{other}`"
        ))),
    }
}

/// Who the session is: what the functions that name it give.
#[derive(Debug)]
pub(super) struct Identity<'a> {
    pub(super) user: &'a str,
    pub(super) database: &'a str,
    pub(super) schema: Option<&'a str>,
    pub(super) pid: i32,
}

/// `statement` with the functions that name the session (`current_user`, `session_user`,
/// `user`, `current_database()`, `current_schema()`, `current_catalog`, `version()`,
/// `pg_backend_pid()`) replaced by their values, so that they work anywhere in a query.
pub(super) fn name_the_session(statement: &mut Statement, who: &Identity<'_>) {
    // As a column of its own, each is named after its function, as in PostgreSQL.
    if let Statement::Query(query) = statement
        && let SetExpr::Select(select) = query.body.as_mut()
    {
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(Expr::Function(function)) = item
                && let Some(value) = session_value(function, who)
                && let [name] = function.name.0.as_slice()
                && let Some(name) = name.as_ident()
            {
                let alias = Ident::new(name.value.to_ascii_lowercase());
                *item = SelectItem::ExprWithAlias { expr: value, alias };
            }
        }
    }
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::Function(function) = expr
            && let Some(value) = session_value(function, who)
        {
            *expr = value;
        }
        ControlFlow::<()>::Continue(())
    });
}

fn session_value(function: &Function, who: &Identity<'_>) -> Option<Expr> {
    let [name] = function.name.0.as_slice() else {
        return None;
    };
    let name = name.as_ident()?.value.to_ascii_lowercase();
    let no_args = match &function.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    if !no_args {
        return None;
    }
    let text = |s: &str| Some(Expr::value(SqlValue::SingleQuotedString(s.to_owned())));
    match name.as_str() {
        "current_user" | "session_user" | "user" | "current_role" => text(who.user),
        "current_database" | "current_catalog" => text(who.database),
        "current_schema" => match who.schema {
            Some(schema) => text(schema),
            None => Some(Expr::value(SqlValue::Null)),
        },
        "version" => text(&format!(
            "PostgreSQL {SERVER_VERSION} (kalam {}) on the kalam engine",
            env!("CARGO_PKG_VERSION")
        )),
        "pg_backend_pid" => Some(Expr::value(SqlValue::Number(who.pid.to_string(), false))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{self, Stmt};

    fn statement(sql: &str) -> Statement {
        match sql::parse(sql).unwrap().pop().unwrap().stmt {
            Stmt::Sql(statement) => statement,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_and_show_known_settings() {
        let settings = Settings::new("app");
        let Some(Ok(Intercepted::Set { name, value })) =
            settings.intercept(&statement("SET search_path TO other, public"))
        else {
            panic!()
        };
        assert_eq!(
            (name.as_str(), value.as_str()),
            ("search_path", "other, public")
        );
        let Some(Ok(Intercepted::Show(result))) =
            settings.intercept(&statement("SHOW search_path"))
        else {
            panic!()
        };
        assert!(result.to_string().contains("| app "), "{result}");
        let Some(Err(err)) = settings.intercept(&statement("SET no_such_thing = 1")) else {
            panic!()
        };
        assert_eq!(err.sqlstate(), "42704");
        assert!(settings.intercept(&statement("SELECT 1")).is_none());
    }

    #[test]
    fn session_functions_become_values() {
        let mut s =
            statement("SELECT current_user, version(), current_database(), upper(user) FROM t");
        let who = Identity {
            user: "alice",
            database: "app",
            schema: Some("app"),
            pid: 7,
        };
        name_the_session(&mut s, &who);
        let text = s.to_string();
        assert!(
            text.starts_with("SELECT 'alice' AS current_user, 'PostgreSQL 15.0 (kalam "),
            "{text}"
        );
        assert!(
            text.ends_with(" AS version, 'app' AS current_database, upper('alice') FROM t"),
            "{text}"
        );
    }
}
