//! Rhai errors as the Python exceptions of `rhai._errors`, with their place in the script.

use std::fmt::Debug;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use rhai::{EvalAltResult, ImmutableString, Position};

use crate::calls::{self, Frame};
use crate::values;

/// The Python exception for a script that failed to compile.
pub fn parse_error(py: Python<'_>, err: &rhai::ParseError, source: Option<&str>) -> PyErr {
    let fields = Fields {
        kind: variant_name(&*err.0),
        source: source.map(str::to_owned),
        position: err.1,
        function: None,
    };
    fields.raise(py, "ParseError", err.0.to_string(), None)
}

/// The Python exception for a script that failed while running.
///
/// The error is reported where it happened: inside the innermost function call and module.
/// `raised` are the exceptions of the callbacks of this run; the one the script failed on
/// becomes the exception's `__cause__`.
pub fn eval_error(
    py: Python<'_>,
    err: EvalAltResult,
    frame: &Frame,
    raised: Vec<(ImmutableString, PyErr)>,
) -> PyErr {
    let mut source = frame.ast.source().map(str::to_owned);
    let mut function = None;
    let mut current = err;
    let mut err = loop {
        current = match current {
            EvalAltResult::ErrorInFunctionCall(name, fn_source, inner, _) => {
                function = Some(name);
                if !fn_source.is_empty() {
                    source = Some(fn_source);
                }
                *inner
            }
            EvalAltResult::ErrorInModule(_, inner, _)
                if matches!(*inner, EvalAltResult::ErrorModuleNotFound(..)) =>
            {
                break *inner
            }
            EvalAltResult::ErrorInModule(module, inner, _) => {
                source = Some(module);
                *inner
            }
            innermost => break innermost,
        };
    };
    let position = err.take_position();
    let mut fields = Fields { kind: variant_name(&err), source, position, function };
    match err {
        EvalAltResult::ErrorParsing(parse, _) => {
            fields.kind = variant_name(&parse);
            fields.raise(py, "ParseError", parse.to_string(), None)
        }
        EvalAltResult::ErrorRuntime(ref thrown, _) => {
            let value = values::to_python(py, thrown, frame).ok().map(Bound::unbind);
            let exception =
                fields.raise(py, "EvalError", err.to_string(), Some(value.unwrap_or_else(|| py.None())));
            exception.set_cause(py, calls::cause_of(thrown, raised));
            exception
        }
        _ => fields.raise(py, "EvalError", err.to_string(), Some(py.None())),
    }
}

/// Where an error happened, and its Rhai variant.
struct Fields {
    kind: String,
    source: Option<String>,
    position: Position,
    function: Option<String>,
}

impl Fields {
    fn raise(self, py: Python<'_>, class: &str, message: String, value: Option<Py<PyAny>>) -> PyErr {
        let build = || -> PyResult<PyErr> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("kind", self.kind)?;
            kwargs.set_item("source", self.source)?;
            kwargs.set_item("line", self.position.line())?;
            kwargs.set_item("position", self.position.position())?;
            kwargs.set_item("function", self.function)?;
            if let Some(value) = value {
                kwargs.set_item("value", value)?;
            }
            let exception = error_class(py, class)?.call((message,), Some(&kwargs))?;
            Ok(PyErr::from_value(exception))
        };
        build().unwrap_or_else(|err| err)
    }
}

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("rhai._errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// The name of an error's variant, as Rhai itself names it for `catch`: `ErrorRuntime(..)` -> `ErrorRuntime`.
fn variant_name(err: &impl Debug) -> String {
    let debug = format!("{err:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}
