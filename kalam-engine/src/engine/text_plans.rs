//! Plans of queries sent as text, kept by a session: a client that does not prepare its
//! statements (`sysbench --db-ps-mode=disable`, psql, most scripts) sends the same query
//! again and again with other literals, and each would be planned and optimized anew.
//!
//! A query's comparisons of a column with literals in its WHERE (`id = 5`,
//! `k BETWEEN 10 AND 20`, `c IN ('a', 'b')`, under AND, OR and NOT) become parameters;
//! the query so written is prepared once, as [`Engine::prepare`] prepares it, and run
//! with the literals as values. It is used only when each literal is plainly of the type
//! the plan gives its parameter (an integer for an INT that holds it, a string for a
//! TEXT, ...): anything else runs as the text says, through the general path, so that
//! casts and errors are the literal's own. A query that does not prepare in that form is
//! remembered as such and always runs as written. Any change to the catalog drops them
//! all.
//!
//! [`Engine::prepare`]: super::Engine::prepare

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, Expr as SqlExpr, SetExpr, Statement, UnaryOperator,
};

use super::Engine;
use super::literal::{literal, plainly};
use super::prepared::Prepared;
use crate::session::QueryUser;
use crate::sql;
use crate::value::Value;

/// How many queries a session keeps the plans of; past that, it starts again.
const CAPACITY: usize = 128;

/// A session's plans of queries sent as text, by their text with parameters for
/// literals.
#[derive(Debug, Default)]
pub(crate) struct TextPlans {
    /// The catalog's generation the plans were made in.
    generation: u64,
    /// `None`: the query does not prepare with parameters for its literals.
    plans: HashMap<String, Option<Arc<Prepared>>>,
}

/// A query written with parameters for its literals, and the literals' values.
pub(crate) struct Parameterized {
    text: String,
    statement: Statement,
    values: Vec<Value>,
}

impl Parameterized {
    /// `statement` with its WHERE's literals made parameters; `None` if it is not a
    /// query, has none, or holds parameters of its own.
    pub(crate) fn of(statement: &Statement) -> Option<Self> {
        let Statement::Query(query) = statement else {
            return None;
        };
        let mut query = query.clone();
        let SetExpr::Select(select) = query.body.as_mut() else {
            return None;
        };
        let selection = select.selection.as_mut()?;
        let mut values = Vec::new();
        if !parameterize(selection, &mut values) || values.is_empty() {
            return None;
        }
        let statement = Statement::Query(query);
        Some(Parameterized {
            text: statement.to_string(),
            statement,
            values,
        })
    }
}

/// Makes the literals compared with columns in `expr` parameters, numbered after
/// `values`, whose values it appends; `false` if `expr` holds a parameter already.
fn parameterize(expr: &mut SqlExpr, values: &mut Vec<Value>) -> bool {
    match expr {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => parameterize(left, values) && parameterize(right, values),
        SqlExpr::Nested(inner)
        | SqlExpr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => parameterize(inner, values),
        SqlExpr::BinaryOp {
            left,
            op:
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq,
            right,
        } => {
            if is_column(left) {
                replace(right, values)
            } else if is_column(right) {
                replace(left, values)
            } else {
                !holds_placeholder(left) && !holds_placeholder(right)
            }
        }
        SqlExpr::Between {
            expr, low, high, ..
        } if is_column(expr) => replace(low, values) && replace(high, values),
        SqlExpr::InList { expr, list, .. } if is_column(expr) => {
            list.iter_mut().all(|item| replace(item, values))
        }
        other => !holds_placeholder(other),
    }
}

fn is_column(expr: &SqlExpr) -> bool {
    matches!(
        expr,
        SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)
    )
}

/// Whether `expr`, as written, names a parameter (`$1`): a text that holds one is not
/// numbered again.
fn holds_placeholder(expr: &SqlExpr) -> bool {
    expr.to_string().contains('$')
}

/// `expr` made the next parameter if it is a literal value; `false` if it is a
/// parameter already.
fn replace(expr: &mut SqlExpr, values: &mut Vec<Value>) -> bool {
    let value = match literal(expr) {
        // NULL stays written: its comparisons are never true, and the plan may say so.
        Some(Value::Null) => return true,
        Some(value) => value,
        None => return !holds_placeholder(expr),
    };
    values.push(value);
    *expr = SqlExpr::value(ast::Value::Placeholder(format!("${}", values.len())));
    true
}

impl TextPlans {
    /// How many forms of query it keeps plans for (or knows to have none).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.plans.len()
    }

    /// The prepared form of `query` and the values to run it with, if it has one (made
    /// now for `user`, outside any transaction, if it was not seen before) and its
    /// literals are plainly of its parameters' types. `depth`: the query's (see
    /// [`sql::Parsed`]).
    pub(crate) async fn plan(
        &mut self,
        engine: &Engine,
        user: &Arc<QueryUser>,
        query: Parameterized,
        depth: usize,
    ) -> Option<(Arc<Prepared>, Vec<Value>)> {
        let generation = engine.shared.catalog.generation();
        if generation != self.generation || self.plans.len() >= CAPACITY {
            self.plans.clear();
            self.generation = generation;
        }
        let Parameterized {
            text,
            statement,
            values,
        } = query;
        let prepared = match self.plans.get(&text) {
            Some(prepared) => prepared.clone()?,
            None => {
                let parsed = sql::Parsed {
                    stmt: sql::Stmt::Sql(statement),
                    text: &text,
                    depth,
                };
                let prepared = engine
                    .prepare_for(Arc::clone(user), &text, Some(parsed), None)
                    .await
                    .ok()
                    .filter(|p| p.param_types().len() == values.len())
                    .map(|p| Arc::new(p.unlogged()));
                // Made in the generation it was read in, or not kept.
                if engine.shared.catalog.generation() == generation {
                    self.plans.insert(text, prepared.clone());
                }
                prepared?
            }
        };
        let values = values
            .into_iter()
            .zip(prepared.param_types())
            .map(|(value, ty)| plainly(value, ty.as_ref()?))
            .collect::<Option<Vec<_>>>()?;
        Some((prepared, values))
    }
}

#[cfg(test)]
mod tests {
    use super::Parameterized;
    use crate::sql::{self, Stmt};
    use crate::{Engine, UserId};

    #[test]
    fn a_session_keeps_one_plan_per_form_until_the_catalog_changes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let root = UserId::new("root").unwrap();
        engine
            .sql_blocking(
                &root,
                "CREATE NAMESPACE app;
                 CREATE SHARED TABLE app.t (id INT PRIMARY KEY, k BIGINT, c TEXT);
                 INSERT INTO app.t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')",
            )
            .unwrap();
        let mut session = engine.session(&root).unwrap();
        for i in 0..5 {
            let sql = format!(
                "SELECT SUM(k) FROM app.t WHERE id BETWEEN {i} AND {}",
                i + 1
            );
            session.sql_blocking(&sql).unwrap();
        }
        assert_eq!(session.kept_plans(), 1);
        // A fast path needs no plan; a literal of another type runs as written.
        session
            .sql_blocking("SELECT c FROM app.t WHERE id = 3")
            .unwrap();
        assert_eq!(session.kept_plans(), 1);
        let rows = session
            .sql_blocking("SELECT id FROM app.t WHERE c > 'a' AND k < 25")
            .unwrap();
        assert_eq!(rows.num_rows(), 1);
        assert_eq!(session.kept_plans(), 2);
        session.sql_blocking("CREATE INDEX ON app.t (k)").unwrap();
        session
            .sql_blocking("SELECT SUM(k) FROM app.t WHERE id BETWEEN 1 AND 2")
            .unwrap();
        assert_eq!(session.kept_plans(), 1);
    }

    fn written(text: &str) -> Option<(String, usize)> {
        let Stmt::Sql(statement) = sql::parse(text).unwrap().remove(0).stmt else {
            panic!("{text} is not SQL");
        };
        Parameterized::of(&statement).map(|p| (p.text, p.values.len()))
    }

    #[test]
    fn literals_compared_with_columns_become_parameters() {
        let cases = [
            (
                "SELECT c FROM app.t WHERE id BETWEEN 5 AND 10 ORDER BY c LIMIT 3",
                Some((
                    "SELECT c FROM app.t WHERE id BETWEEN $1 AND $2 ORDER BY c LIMIT 3",
                    2,
                )),
            ),
            (
                "SELECT count(k) FROM app.t WHERE k BETWEEN 1 AND 2 OR NOT (-3 < k) OR c IN ('a', 'b')",
                Some((
                    "SELECT count(k) FROM app.t WHERE k BETWEEN $1 AND $2 OR NOT ($3 < k) OR c IN ($4, $5)",
                    5,
                )),
            ),
            (
                "SELECT * FROM app.t AS x WHERE x.f >= 1.5 AND x.b = TRUE AND x.c = NULL",
                Some((
                    "SELECT * FROM app.t AS x WHERE x.f >= $1 AND x.b = $2 AND x.c = NULL",
                    2,
                )),
            ),
            // Literals elsewhere stay: they may decide types or shapes.
            ("SELECT k + 1 FROM app.t WHERE k + 1 = 2", None),
            ("SELECT c FROM app.t", None),
            ("SELECT c FROM app.t WHERE c LIKE 'a%'", None),
            // A text with parameters of its own is left as it is.
            ("SELECT c FROM app.t WHERE id = $1 AND k = 2", None),
            ("INSERT INTO app.t (id) VALUES (1)", None),
        ];
        for (text, expected) in cases {
            let expected = expected.map(|(t, n)| (t.to_owned(), n));
            assert_eq!(written(text), expected, "{text}");
        }
    }
}
