//! The `Engine` class: limits, registered Python functions, the module folder, and running scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use pyo3::call::PyCallArgs;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rhai::{CallFnOptions, Dynamic, EvalAltResult, Position, Scope, AST};

use crate::ast::Ast;
use crate::calls::{self, Frame};
use crate::modules::ModuleFolder;
use crate::{callbacks, errors, values};

/// A Rhai engine. Scripts run under a read lock, so many threads can run at once; registering a
/// function takes the write lock, waiting (without the GIL) for running scripts to end.
#[pyclass(frozen, module = "rhai")]
pub struct Engine {
    engine: Arc<RwLock<rhai::Engine>>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (
        *,
        max_operations = None,
        max_call_levels = None,
        max_expr_depth = None,
        max_string_size = None,
        max_array_size = None,
        max_map_size = None,
        strict_variables = false,
        module_dir = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        max_operations: Option<u64>,
        max_call_levels: Option<usize>,
        max_expr_depth: Option<usize>,
        max_string_size: Option<usize>,
        max_array_size: Option<usize>,
        max_map_size: Option<usize>,
        strict_variables: bool,
        module_dir: Option<PathBuf>,
    ) -> PyResult<Self> {
        let mut engine = rhai::Engine::new();
        if let Some(n) = positive("max_operations", max_operations)? {
            engine.set_max_operations(n);
        }
        if let Some(n) = positive("max_call_levels", max_call_levels)? {
            engine.set_max_call_levels(n);
        }
        if let Some(n) = positive("max_expr_depth", max_expr_depth)? {
            engine.set_max_expr_depths(n, n);
        }
        if let Some(n) = positive("max_string_size", max_string_size)? {
            engine.set_max_string_size(n);
        }
        if let Some(n) = positive("max_array_size", max_array_size)? {
            engine.set_max_array_size(n);
        }
        if let Some(n) = positive("max_map_size", max_map_size)? {
            engine.set_max_map_size(n);
        }
        engine.set_strict_variables(strict_variables);
        let root = module_dir.map(|dir| canonical_dir(&dir)).transpose()?;
        engine.set_module_resolver(ModuleFolder::new(root));
        Ok(Engine { engine: Arc::new(RwLock::new(engine)) })
    }

    /// Make `func` callable from scripts: one overload per arity, typed by its annotations.
    fn register_fn(&self, py: Python<'_>, name: String, func: Bound<'_, PyAny>) -> PyResult<()> {
        let overloads: Vec<_> =
            callbacks::overloads(&func)?.into_iter().map(|types| (types, func.clone().unbind())).collect();
        self.change(py, move |engine| {
            for (types, func) in overloads {
                engine.register_raw_fn(&name, types, move |context, args| {
                    callbacks::call_python(&func, args, context.call_position())
                });
            }
        })
    }

    /// Send what scripts `print` to `func(text)`; `None` sends it to standard output again.
    fn on_print(&self, py: Python<'_>, func: Option<Py<PyAny>>) -> PyResult<()> {
        self.change(py, move |engine| match func {
            Some(func) => {
                engine.on_print(move |text| Python::attach(|py| report(py, &func, (text,))));
            }
            None => {
                engine.on_print(|text| println!("{text}"));
            }
        })
    }

    /// Send what scripts `debug` to `func(text, source, line, position)`; `None`: standard error.
    fn on_debug(&self, py: Python<'_>, func: Option<Py<PyAny>>) -> PyResult<()> {
        self.change(py, move |engine| match func {
            Some(func) => {
                engine.on_debug(move |text, source, position| {
                    Python::attach(|py| {
                        report(py, &func, (text, source, position.line(), position.position()))
                    })
                });
            }
            None => {
                engine.on_debug(|text, source, position| match source {
                    Some(source) => eprintln!("{source} @ {position:?} | {text}"),
                    None => eprintln!("{position:?} | {text}"),
                });
            }
        })
    }

    #[pyo3(signature = (source, *, name = None))]
    fn compile(&self, py: Python<'_>, source: &str, name: Option<&str>) -> PyResult<Ast> {
        self.compile_named(py, source, name)
    }

    fn compile_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<Ast> {
        let mut text = std::fs::read_to_string(&path).map_err(|err| read_error(&path, err))?;
        if text.starts_with("#!") {
            // Drop a shebang line but keep its line break, so that line numbers stay true.
            text.drain(..text.find('\n').unwrap_or(text.len()));
        }
        self.compile_named(py, &text, Some(&path.to_string_lossy()))
    }

    fn eval(&self, py: Python<'_>, source: &str) -> PyResult<Py<PyAny>> {
        let ast = self.compile_named(py, source, None)?;
        self.eval_ast(py, &ast)
    }

    fn eval_ast(&self, py: Python<'_>, ast: &Ast) -> PyResult<Py<PyAny>> {
        calls::run(py, self.frame(ast), |engine, ast| engine.eval_ast::<Dynamic>(ast))
    }

    fn run_ast(&self, py: Python<'_>, ast: &Ast) -> PyResult<()> {
        calls::run(py, self.frame(ast), |engine, ast| engine.run_ast(ast).map(|()| Dynamic::UNIT)).map(drop)
    }

    #[pyo3(signature = (ast, name, *args, eval_ast = true))]
    fn call_fn(
        &self,
        py: Python<'_>,
        ast: &Ast,
        name: &str,
        args: &Bound<'_, PyTuple>,
        eval_ast: bool,
    ) -> PyResult<Py<PyAny>> {
        let args = args.iter().map(|arg| values::to_rhai(&arg)).collect::<PyResult<Vec<Dynamic>>>()?;
        calls::run(py, self.frame(ast), move |engine, ast| {
            let options = CallFnOptions::new().eval_ast(eval_ast);
            let result = engine.call_fn_with_options::<Dynamic>(options, &mut Scope::new(), ast, name, args);
            // Rhai names the functions that a failed call went through, but for the first.
            result.map_err(|err| {
                EvalAltResult::ErrorInFunctionCall(name.into(), String::new(), err, Position::NONE).into()
            })
        })
    }
}

impl Engine {
    fn frame(&self, ast: &Ast) -> Frame {
        Frame { engine: self.engine.clone(), ast: ast.ast.clone() }
    }

    fn compile_named(&self, py: Python<'_>, source: &str, name: Option<&str>) -> PyResult<Ast> {
        let compiled = py.detach(|| self.engine.read_recursive().compile(source));
        let mut ast: AST = compiled.map_err(|err| errors::parse_error(py, &err, name))?;
        if let Some(name) = name {
            ast.set_source(name);
        }
        Ok(Ast { ast: Arc::new(ast) })
    }

    /// Change the engine's set-up, once no script of it runs.
    fn change(&self, py: Python<'_>, change: impl FnOnce(&mut rhai::Engine) + Send) -> PyResult<()> {
        if calls::is_running(&self.engine) {
            return Err(PyRuntimeError::new_err(
                "cannot change an engine from inside one of its own scripts",
            ));
        }
        py.detach(|| change(&mut self.engine.write()));
        Ok(())
    }
}

/// Call a print or debug callback, whose exception has nowhere to go but `sys.unraisablehook`.
fn report<'py>(py: Python<'py>, func: &Py<PyAny>, args: impl PyCallArgs<'py>) {
    if let Err(err) = func.bind(py).call1(args) {
        err.write_unraisable(py, Some(func.bind(py)));
    }
}

fn positive<T: Default + PartialEq>(name: &str, limit: Option<T>) -> PyResult<Option<T>> {
    match limit {
        Some(n) if n == T::default() => {
            Err(PyValueError::new_err(format!("{name} must be positive, or None for no limit")))
        }
        _ => Ok(limit),
    }
}

fn canonical_dir(dir: &Path) -> PyResult<PathBuf> {
    let canonical = dir.canonicalize().map_err(|err| read_error(dir, err))?;
    if !canonical.is_dir() {
        return Err(PyValueError::new_err(format!("module_dir {} is not a folder", dir.display())));
    }
    Ok(canonical)
}

fn read_error(path: &Path, err: std::io::Error) -> PyErr {
    let args = (err.raw_os_error().unwrap_or(0), err.to_string(), path.to_string_lossy().into_owned());
    match err.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
        _ => PyOSError::new_err(args),
    }
}
