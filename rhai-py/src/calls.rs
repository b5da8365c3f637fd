//! The calls from Python into Rhai, and what a running script needs from the call that started it.
//!
//! Rhai calls back into Python on the thread that runs the script. Two things travel along on that
//! thread: the frame (engine and script), so that a function pointer handed to Python can later be
//! called in the right place; and the Python exceptions raised by callbacks, so that the one which
//! ends the script becomes the `__cause__` of the error its caller sees.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::RwLock;
use pyo3::prelude::*;
use rhai::{Dynamic, EvalAltResult, ImmutableString, AST};

use crate::{errors, values};

/// A running script's engine and compiled script.
#[derive(Clone)]
pub struct Frame {
    pub engine: Arc<RwLock<rhai::Engine>>,
    pub ast: Arc<AST>,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static RAISED: RefCell<Vec<(ImmutableString, PyErr)>> = const { RefCell::new(Vec::new()) };
}

/// Run `script` on the frame's engine with the GIL released, and convert what it returns.
pub fn run(
    py: Python<'_>,
    frame: Frame,
    script: impl FnOnce(&rhai::Engine, &AST) -> Result<Dynamic, Box<EvalAltResult>> + Send,
) -> PyResult<Py<PyAny>> {
    let first_raised = RAISED.with_borrow(Vec::len);
    let result = py.detach(|| within(&frame, script));
    let raised = RAISED.with_borrow_mut(|raised| raised.split_off(first_raised));
    match result {
        Ok(value) => values::to_python(py, &value, &frame).map(Bound::unbind),
        Err(err) => Err(errors::eval_error(py, *err, &frame, raised)),
    }
}

/// Run `script` on the frame's engine, as the innermost script of this thread.
pub fn within<R>(frame: &Frame, script: impl FnOnce(&rhai::Engine, &AST) -> R) -> R {
    let _entered = Entered::push(frame);
    let engine = frame.engine.read_recursive();
    script(&engine, &frame.ast)
}

/// The frame of the innermost script running on this thread.
///
/// Rhai calls into Python only while a script started by `run` is running, so there is one.
pub fn current_frame() -> Frame {
    FRAMES.with_borrow(|frames| frames.last().cloned()).expect("Rhai calls back only from a running script")
}

/// Whether a script of `engine` is running on this thread (registering then would deadlock).
pub fn is_running(engine: &Arc<RwLock<rhai::Engine>>) -> bool {
    FRAMES.with_borrow(|frames| frames.iter().any(|frame| Arc::ptr_eq(&frame.engine, engine)))
}

/// Keep a callback's exception, and return the text that the script sees in its place.
///
/// The text is matched back by identity, not by content, when the error reaches Python.
pub fn raise_in_script(py: Python<'_>, err: PyErr) -> ImmutableString {
    let text: ImmutableString = describe(py, &err).into();
    RAISED.with_borrow_mut(|raised| raised.push((text.clone(), err)));
    text
}

/// What a script sees of a Python exception: its message, or its class name if it has none.
fn describe(py: Python<'_>, err: &PyErr) -> String {
    match err.value(py).str().map(|text| text.to_string()) {
        Ok(text) if !text.is_empty() => text,
        _ => err.get_type(py).name().map_or_else(|_| "Exception".to_owned(), |name| name.to_string()),
    }
}

/// The frame stack entry of one `run`, popped however the script ends.
struct Entered;

impl Entered {
    fn push(frame: &Frame) -> Self {
        FRAMES.with_borrow_mut(|frames| frames.push(frame.clone()));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        FRAMES.with_borrow_mut(|frames| frames.pop());
    }
}

/// The exception a callback raised whose text the script threw on, if `thrown` is one.
pub fn cause_of(thrown: &Dynamic, raised: Vec<(ImmutableString, PyErr)>) -> Option<PyErr> {
    let thrown = thrown.as_immutable_string_ref().ok()?;
    raised.into_iter().rev().find(|(text, _)| text.ptr_eq(&thrown)).map(|(_, err)| err)
}
