//! The literals of a statement's text as values, and whether one is plainly of a type:
//! what the fast paths and the kept plans of texts use a literal for, and when.

use datafusion::arrow::datatypes::DataType;
use datafusion::sql::sqlparser::ast::{self, Expr as SqlExpr, UnaryOperator};

use crate::value::Value;

/// A literal as the value its text denotes: integers as BIGINT, other numbers as
/// DOUBLE, strings, TRUE and FALSE, NULL; `None` for anything else (an expression, a
/// typed string such as `DATE '..'`, a number too large for a DOUBLE).
pub(super) fn literal(expr: &SqlExpr) -> Option<Value> {
    let (value, negative) = match expr {
        SqlExpr::Value(value) => (&value.value, false),
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            SqlExpr::Value(value) if matches!(value.value, ast::Value::Number(..)) => {
                (&value.value, true)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(match value {
        ast::Value::Number(text, false) => Value::of_number(text, negative)?,
        ast::Value::SingleQuotedString(text) => Value::Text(text.clone()),
        ast::Value::Boolean(b) => Value::Boolean(*b),
        ast::Value::Null => Value::Null,
        _ => return None,
    })
}

/// `value`, a [`literal`], as a value of type `ty` when it is plainly one: an integer
/// that an INT holds, an integer or another number for a DOUBLE, a string for a TEXT,
/// TRUE or FALSE for a BOOLEAN, NULL for any. `None` otherwise: a string for a number,
/// anything for a timestamp, where SQL's casts decide.
pub(super) fn plainly(value: Value, ty: &DataType) -> Option<Value> {
    Some(match (value, ty) {
        (Value::Null, _) => Value::Null,
        (Value::Int64(n), DataType::Int32) => Value::Int32(i32::try_from(n).ok()?),
        (value @ Value::Int64(_), DataType::Int64)
        | (value @ Value::Float64(_), DataType::Float64)
        | (value @ Value::Text(_), DataType::Utf8)
        | (value @ Value::Boolean(_), DataType::Boolean) => value,
        #[allow(clippy::cast_precision_loss)]
        (Value::Int64(n), DataType::Float64) => Value::Float64(n as f64),
        _ => return None,
    })
}
