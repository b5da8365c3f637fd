//! Python functions called from scripts: registered functions and callables passed in as values.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rhai::{Dynamic, EvalAltResult, FnPtr, NativeCallContext, Position};

use crate::{calls, values};

/// Call `func` with the script's arguments, taking the GIL for the call.
///
/// An exception becomes a Rhai runtime error that the script can `catch`.
pub fn call_python(
    func: &Py<PyAny>,
    args: &[&mut Dynamic],
    position: Position,
) -> Result<Dynamic, Box<EvalAltResult>> {
    Python::attach(|py| {
        let frame = calls::current_frame();
        let outcome = args
            .iter()
            .map(|arg| values::to_python(py, arg, &frame))
            .collect::<PyResult<Vec<_>>>()
            .and_then(|args| func.bind(py).call1(PyTuple::new(py, args)?))
            .and_then(|result| values::to_rhai(&result));
        outcome.map_err(|err| {
            EvalAltResult::ErrorRuntime(calls::raise_in_script(py, err).into(), position).into()
        })
    })
}

/// A function pointer that calls a Python callable, so scripts can `call` it like any other.
pub fn fn_ptr_to(callable: &Bound<'_, PyAny>) -> PyResult<FnPtr> {
    let func = callable.clone().unbind();
    let call = move |context: NativeCallContext, args: &mut [&mut Dynamic]| {
        call_python(&func, args, context.call_position())
    };
    // Scripts see the callable's own name where it is a valid Rhai function name (not a lambda).
    let name = callable
        .getattr(intern!(callable.py(), "__name__"))
        .and_then(|name| name.extract::<String>())
        .ok()
        .filter(|name| FnPtr::new(name.as_str()).is_ok())
        .unwrap_or_else(|| "python_callable".to_owned());
    #[allow(deprecated)] // `from_fn` is marked volatile, not deprecated
    FnPtr::from_fn(name, call).map_err(|err| PyTypeError::new_err(err.to_string()))
}

/// The arities at which `func` can be called with positional arguments, fewest first.
pub fn arities(func: &Bound<'_, PyAny>) -> PyResult<std::ops::RangeInclusive<usize>> {
    let py = func.py();
    let inspect = py.import(intern!(py, "inspect"))?;
    let signature = inspect.call_method1(intern!(py, "signature"), (func,))?;
    let parameter = inspect.getattr(intern!(py, "Parameter"))?;
    let positional = [
        parameter.getattr(intern!(py, "POSITIONAL_ONLY"))?,
        parameter.getattr(intern!(py, "POSITIONAL_OR_KEYWORD"))?,
    ];
    let var_positional = parameter.getattr(intern!(py, "VAR_POSITIONAL"))?;
    let keyword_only = parameter.getattr(intern!(py, "KEYWORD_ONLY"))?;
    let empty = parameter.getattr(intern!(py, "empty"))?;
    let (mut required, mut total) = (0, 0);
    for param in
        signature.getattr(intern!(py, "parameters"))?.call_method0(intern!(py, "values"))?.try_iter()?
    {
        let param = param?;
        let kind = param.getattr(intern!(py, "kind"))?;
        if kind.eq(&var_positional)? {
            return Err(PyTypeError::new_err(format!(
                "cannot register {}: a function taking *args has no fixed arity; wrap it in one that has",
                func.repr()?
            )));
        }
        let has_default = !param.getattr(intern!(py, "default"))?.is(&empty);
        if kind.eq(&keyword_only)? && !has_default {
            return Err(PyTypeError::new_err(format!(
                "cannot register {}: scripts pass arguments by position, and it requires keyword '{}'",
                func.repr()?,
                param.getattr(intern!(py, "name"))?
            )));
        }
        if positional.iter().any(|p| kind.eq(p).unwrap_or(false)) {
            total += 1;
            required += usize::from(!has_default);
        }
    }
    Ok(required..=total)
}
