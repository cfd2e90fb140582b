//! Physical plans made once for prepared statements.
//!
//! DataFusion's physical planner wants literals where a prepared statement has
//! placeholders, so each run would plan again. Instead, every `$n` of the optimized plan
//! becomes a call of a [`ParamUdf`] that reads the run's value from the statement's
//! [`ParamSlot`], and the physical plan is built once. Each run writes its values into the
//! slot, resets the plan's run state (hash tables, dynamic filters) and executes it. Scans
//! whose pushed-down filters hold parameters choose their access path when they start,
//! reading the values through [`value_of`].

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::{Placeholder, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// The parameter values of the run in progress of one prepared statement.
#[derive(Debug, Default)]
pub(crate) struct ParamSlot {
    /// Held for the whole of a run: one run at a time uses the slot (others plan anew).
    pub(crate) run: Arc<tokio::sync::Mutex<()>>,
    values: RwLock<Vec<ScalarValue>>,
}

impl ParamSlot {
    /// Sets the values of the next run (while holding [`run`](Self::run)).
    pub(crate) fn set(&self, values: Vec<ScalarValue>) {
        *self.values.write().unwrap_or_else(PoisonError::into_inner) = values;
    }

    fn get(&self, index: usize) -> Result<ScalarValue> {
        self.values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(index)
            .cloned()
            .ok_or_else(|| DataFusionError::Internal(format!("${} has no value", index + 1)))
    }
}

/// `$n` in a physical plan: the value of parameter `n` in the current run.
#[derive(Debug)]
pub(crate) struct ParamUdf {
    name: String,
    index: usize,
    ty: DataType,
    slot: Arc<ParamSlot>,
    signature: Signature,
}

impl PartialEq for ParamUdf {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.ty == other.ty && Arc::ptr_eq(&self.slot, &other.slot)
    }
}

impl Eq for ParamUdf {}

impl Hash for ParamUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        self.ty.hash(state);
        Arc::as_ptr(&self.slot).hash(state);
    }
}

impl ScalarUDFImpl for ParamUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.ty.clone())
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.slot.get(self.index)?))
    }
}

/// `plan` with each `$n` read from `slot`; `None` when a parameter's type is unknown
/// (`types[n - 1]` is `None`) or a placeholder is not `$1`, `$2`, ...
pub(crate) fn slotted(
    plan: LogicalPlan,
    types: &[Option<DataType>],
    slot: &Arc<ParamSlot>,
) -> Option<LogicalPlan> {
    let call = |placeholder: &Placeholder| -> Option<Expr> {
        let index = placeholder
            .id
            .strip_prefix('$')?
            .parse::<usize>()
            .ok()?
            .checked_sub(1)?;
        let ty = types.get(index)?.clone()?;
        let udf = ParamUdf {
            name: placeholder.id.clone(),
            index,
            ty,
            slot: Arc::clone(slot),
            signature: Signature::nullary(Volatility::Volatile),
        };
        Some(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(udf)),
            Vec::new(),
        )))
    };
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|expr| match &expr {
                Expr::Placeholder(placeholder) => match call(placeholder) {
                    Some(call) => Ok(Transformed::yes(call)),
                    None => Err(DataFusionError::Plan("untyped parameter".into())),
                },
                _ => Ok(Transformed::no(expr)),
            })
        })
    })
    .ok()
    .map(|t| t.data)
}

/// The parameter a call stands for, if it is one.
fn param_of(expr: &Expr) -> Option<&ParamUdf> {
    match expr {
        Expr::ScalarFunction(call) => call.func.inner().downcast_ref::<ParamUdf>(),
        _ => None,
    }
}

/// Whether `expr` reads a parameter.
pub(crate) fn has_param(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|e| {
        found = param_of(e).is_some();
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// The value `expr` stands for in the current run, if it is a literal or a parameter.
pub(crate) fn value_of(expr: &Expr) -> Option<Cow<'_, ScalarValue>> {
    match expr {
        Expr::Literal(value, _) => Some(Cow::Borrowed(value)),
        _ => {
            let param = param_of(expr)?;
            param.slot.get(param.index).ok().map(Cow::Owned)
        }
    }
}
