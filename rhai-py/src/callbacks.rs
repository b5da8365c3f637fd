//! Python functions called from scripts: registered functions and callables passed in as values.

use std::any::TypeId;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rhai::{Dynamic, EvalAltResult, FnPtr, ImmutableString, NativeCallContext, Position};

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

/// The parameter types of each overload of `func` (see `rhai/_signature.py`).
pub fn overloads(func: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<TypeId>>> {
    let py = func.py();
    let overloads: Vec<Vec<String>> = py
        .import(intern!(py, "rhai._signature"))?
        .call_method1(intern!(py, "overloads"), (func,))?
        .extract()?;
    Ok(overloads.iter().map(|types| types.iter().map(|name| type_id(name)).collect()).collect())
}

fn type_id(rhai_type: &str) -> TypeId {
    match rhai_type {
        "bool" => TypeId::of::<bool>(),
        "int" => TypeId::of::<rhai::INT>(),
        "float" => TypeId::of::<rhai::FLOAT>(),
        "string" => TypeId::of::<ImmutableString>(),
        "blob" => TypeId::of::<rhai::Blob>(),
        "array" => TypeId::of::<rhai::Array>(),
        "map" => TypeId::of::<rhai::Map>(),
        "fn_ptr" => TypeId::of::<FnPtr>(),
        "timestamp" => TypeId::of::<std::time::Instant>(),
        _ => TypeId::of::<Dynamic>(),
    }
}
