//! Rhai function pointers and closures, called from Python.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rhai::{Dynamic, NativeCallContext};

use crate::calls::{self, Frame};
use crate::values;

/// A Rhai function pointer or closure, with the engine and script it came from.
#[pyclass(frozen, module = "rhai")]
pub struct FnPtr {
    ptr: rhai::FnPtr,
    frame: Frame,
}

impl FnPtr {
    pub fn new(ptr: rhai::FnPtr, frame: Frame) -> Self {
        FnPtr { ptr, frame }
    }

    /// This function as a Rhai value: a pointer that calls it in its own script, wherever it goes.
    pub fn to_rhai(&self) -> PyResult<rhai::FnPtr> {
        let (ptr, frame) = (self.ptr.clone(), self.frame.clone());
        // A closure's generated name is not one a pointer can be made with.
        let name = Some(ptr.fn_name()).filter(|name| rhai::FnPtr::new(*name).is_ok()).unwrap_or("closure");
        let name = name.to_owned();
        let call = move |_: NativeCallContext, args: &mut [&mut Dynamic]| {
            let args: Vec<Dynamic> = args.iter().map(|arg| (**arg).clone()).collect();
            calls::within(&frame, |engine, ast| ptr.call::<Dynamic>(engine, ast, args))
        };
        #[allow(deprecated)] // `from_fn` is marked volatile, not deprecated
        rhai::FnPtr::from_fn(name, call).map_err(|err| PyTypeError::new_err(err.to_string()))
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
