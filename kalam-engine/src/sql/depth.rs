//! How deep a statement's expressions go, from its tokens, and the stack to run it on.
//!
//! The parser refuses nesting deeper than its recursion limit, but a chain of binary
//! operators (`1 + 1 + ... + 1`, `a = 1 OR a = 2 OR ...`) it builds in a loop, one level of
//! the expression tree per operator; DataFusion's planner, optimizer and formatting then
//! walk that tree recursively, as does dropping it. A bound on the depth is counted on the
//! tokens, before any tree exists: each open parenthesis is a level, and so is each
//! operator since the last comma or clause at its parenthesis level (`a = 1 OR a = 2` is
//! three). A statement beyond [`MAX_DEPTH`] levels is refused, and one beyond [`SHALLOW`]
//! runs on a stack of its own, sized for its depth, so that it cannot overflow the stack of
//! the thread that runs it (a tokio worker has 2 MiB).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::Error;

/// The most levels an expression may have. Counting every operator of a chain, this takes
/// about what SQLite's default expression depth (1,000) takes: an `OR` of 1,000
/// equalities, a sum of 2,000 terms.
const MAX_DEPTH: usize = 2000;

/// Statements at most this deep run on the caller's stack.
pub(crate) const SHALLOW: usize = 48;

/// The stack a statement of depth `depth` runs on: room for the deepest recursion over
/// its tree in a build without optimizations, the least frugal with its stack.
fn stack_for(depth: usize) -> usize {
    (1 << 20) + depth * (24 << 10)
}

/// Words that join two expressions (or follow one, as `IS` does): each adds a level.
const OPERATOR_WORDS: &[&str] = &[
    "AND", "OR", "XOR", "NOT", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "COLLATE", "DIV", "AT",
    "SIMILAR", "REGEXP", "RLIKE", "GLOB", "MATCH", "ESCAPE", "OVERLAPS",
];

/// Words after which a new expression starts.
const SEPARATOR_WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "BY",
    "LIMIT",
    "OFFSET",
    "VALUES",
    "SET",
    "ON",
    "USING",
    "WHEN",
    "THEN",
    "ELSE",
    "AS",
    "JOIN",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "RETURNING",
    "WINDOW",
    "PARTITION",
];

/// A bound on the depth of the deepest expression in a statement's tokens; an error if it
/// is beyond [`MAX_DEPTH`]. Each open parenthesis (or `CASE`) is a level, and so is each
/// operator since the last separator (a comma, a clause) at its parenthesis level.
pub(super) fn of(tokens: &[TokenWithSpan]) -> Result<usize, Error> {
    // For each open level: the depth it opened at, and the operators run so far in it.
    let mut levels: Vec<(usize, usize)> = vec![(0, 0)];
    let mut deepest = 0;
    for token in tokens {
        let word = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        };
        let top = levels.len() - 1;
        let (base, run) = levels[top];
        match (&token.token, word.as_deref()) {
            (Token::LParen | Token::LBracket, _) | (_, Some("CASE")) => {
                levels.push((base + run + 1, 0));
            }
            (Token::RParen | Token::RBracket, _) | (_, Some("END")) => {
                if levels.len() > 1 {
                    levels.pop();
                }
            }
            (Token::Comma, _) => levels[top].1 = 0,
            (_, Some(w)) if SEPARATOR_WORDS.contains(&w) => levels[top].1 = 0,
            (_, Some(w)) if OPERATOR_WORDS.contains(&w) => levels[top].1 += 1,
            (
                Token::Word(_)
                | Token::Number(..)
                | Token::SingleQuotedString(_)
                | Token::DoubleQuotedString(_)
                | Token::NationalStringLiteral(_)
                | Token::HexStringLiteral(_)
                | Token::Placeholder(_)
                | Token::Period
                | Token::Whitespace(_),
                _,
            ) => {}
            // Any other symbol is an operator, or counted as one to be safe.
            _ => levels[top].1 += 1,
        }
        let (base, run) = levels[levels.len() - 1];
        deepest = deepest.max(base + run);
        if deepest > MAX_DEPTH {
            return Err(Error::TooComplex(format!(
                "the expression at line {}, column {} is more than {MAX_DEPTH} levels deep \
                 (each parenthesis is a level, and each operator of a chain such as \
                 `a = 1 OR a = 2 OR ...`); split it, or use `IN (...)` for a list of alternatives",
                token.span.start.line, token.span.start.column
            )));
        }
    }
    Ok(deepest)
}

/// Runs `future` on a stack sized for `depth`, if it is deeper than [`SHALLOW`].
pub(crate) async fn on_deep_stack<F: Future>(depth: usize, future: F) -> F::Output {
    if depth <= SHALLOW {
        future.await
    } else {
        DeepStack {
            future: Box::pin(future),
            stack: stack_for(depth),
        }
        .await
    }
}

/// A future each poll of which runs on a fresh stack of `stack` bytes.
struct DeepStack<F> {
    future: Pin<Box<F>>,
    stack: usize,
}

impl<F: Future> Future for DeepStack<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let stack = self.stack;
        let future = self.future.as_mut();
        stacker::grow(stack, move || future.poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;

    use super::*;

    fn depth(sql: &str) -> Result<usize, Error> {
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        of(&tokens)
    }

    #[test]
    fn chains_and_nesting_count_lists_do_not() {
        assert_eq!(depth("SELECT 1").unwrap(), 0);
        assert_eq!(depth("SELECT 1 + 2 * 3, 4").unwrap(), 2);
        assert_eq!(depth("SELECT f(a + (b - c))").unwrap(), 4);
        let chain = format!("SELECT {}", vec!["1"; 2_000].join(" + "));
        assert_eq!(depth(&chain).unwrap(), 1_999);
        let ors = format!("SELECT 1 WHERE {}", vec!["a = 1"; 1_000].join(" OR "));
        assert_eq!(depth(&ors).unwrap(), 1_999);
        let list = format!("SELECT 1 IN ({})", vec!["1"; 100_000].join(", "));
        assert_eq!(depth(&list).unwrap(), 2);
        let values = format!(
            "INSERT INTO t VALUES {}",
            vec!["(1 + 1, 2)"; 10_000].join(", ")
        );
        assert_eq!(depth(&values).unwrap(), 2);
        let ors = format!("SELECT 1 WHERE {}", vec!["a = 1"; 1_001].join(" OR "));
        assert!(matches!(depth(&ors), Err(Error::TooComplex(_))));
        let casts = format!("SELECT 1{}", "::INT".repeat(2_001));
        assert!(depth(&casts).is_err());
    }
}
