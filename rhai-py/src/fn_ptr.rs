//! Rhai function pointers and closures, called from Python.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rhai::Dynamic;

use crate::calls::{self, Frame};
use crate::values;

/// A Rhai function pointer or closure, with the engine and script it came from.
#[pyclass(frozen, module = "rhai")]
pub struct FnPtr {
    pub ptr: rhai::FnPtr,
    frame: Frame,
}

impl FnPtr {
    pub fn new(ptr: rhai::FnPtr, frame: Frame) -> Self {
        FnPtr { ptr, frame }
    }
}

#[pymethods]
impl FnPtr {
    #[getter]
    fn name(&self) -> &str {
        self.ptr.fn_name()
    }

    #[pyo3(signature = (*args))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let args = args.iter().map(|arg| values::to_rhai(&arg)).collect::<PyResult<Vec<Dynamic>>>()?;
        let ptr = self.ptr.clone();
        calls::run(py, self.frame.clone(), move |engine, ast| ptr.call::<Dynamic>(engine, ast, args))
    }

    fn __repr__(&self) -> String {
        format!("<rhai.FnPtr {}>", self.ptr.fn_name())
    }
}
