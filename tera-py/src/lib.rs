//! Python binding of the Tera template engine: the real Rust crate `tera`, with its default features.
//!
//! The Python package `tera` owns the public names; this extension module `tera._tera` provides them.

mod context;

use std::error::Error as _;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::import_exception!(tera._errors, TeraError);

/// Render one template text with `context`, autoescaping off; `name` is the template's name in
/// Tera's error messages.
#[pyfunction]
#[pyo3(signature = (template, context, *, name = "template"))]
fn render(py: Python<'_>, template: &str, context: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let context = context.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "a Tera context is a dict with str keys, not {}",
            context.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    let context = context::from_python(context)?;
    py.detach(|| render_text(template, context, name)).map_err(TeraError::new_err)
}

/// Tera's own rendering, as Babel does it: the template registered under `name`, no autoescaping.
/// A failure is Tera's whole error chain, joined with ": ".
fn render_text(template: &str, context: tera::Context, name: &str) -> Result<String, String> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_template(name, template)
        .and_then(|()| tera.render(name, &context))
        .map_err(|err| chain(&err))
}

/// The error's message followed by those of its sources.
fn chain(err: &tera::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[pymodule]
fn _tera(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(render, module)?)?;
    Ok(())
}
