//! A compiled script, and what it says of its own functions.

use std::sync::Arc;

use pyo3::prelude::*;

/// A compiled script. Shared, never changed: one AST can run on many threads at once.
#[pyclass(frozen, name = "AST", module = "rhai")]
pub struct Ast {
    pub ast: Arc<rhai::AST>,
}

#[pymethods]
impl Ast {
    #[getter]
    fn source(&self) -> Option<&str> {
        self.ast.source()
    }

    /// The script functions defined at the top level, sorted by name and arity.
    fn functions(&self) -> Vec<FnInfo> {
        let mut functions: Vec<FnInfo> = self
            .ast
            .iter_functions()
            .map(|f| FnInfo {
                name: f.name.to_owned(),
                params: f.params.iter().map(|p| (*p).to_owned()).collect(),
            })
            .collect();
        functions.sort_by(|a, b| (&a.name, a.params.len()).cmp(&(&b.name, b.params.len())));
        functions
    }

    fn __repr__(&self) -> String {
        match self.ast.source() {
            Some(source) => format!("<rhai.AST {source}>"),
            None => "<rhai.AST>".to_owned(),
        }
    }
}

/// A function defined by a script: its name and its parameters' names.
#[pyclass(frozen, get_all, name = "FnInfo", module = "rhai")]
pub struct FnInfo {
    name: String,
    params: Vec<String>,
}

#[pymethods]
impl FnInfo {
    fn __repr__(&self) -> String {
        format!("<rhai.FnInfo {}({})>", self.name, self.params.join(", "))
    }
}
