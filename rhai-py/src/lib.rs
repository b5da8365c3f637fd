//! Python binding of the Rhai scripting engine: the real Rust crate `rhai`, built with `sync`.
//!
//! The Python package `rhai` owns the public names; this extension module `rhai._rhai` provides them.

mod ast;
mod callbacks;
mod calls;
mod engine;
mod errors;
mod fn_ptr;
mod modules;
mod values;

use pyo3::prelude::*;

#[pymodule]
fn _rhai(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<engine::Engine>()?;
    module.add_class::<ast::Ast>()?;
    module.add_class::<ast::FnInfo>()?;
    module.add_class::<fn_ptr::FnPtr>()?;
    module.add_class::<values::Timestamp>()?;
    Ok(())
}
