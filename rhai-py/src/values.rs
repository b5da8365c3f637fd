//! Values crossing between Python and Rhai, both ways (the table in `rhai/__init__.pyi`).

use std::time::Instant;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyRange, PyRangeMethods, PyString, PyTuple,
};
use rhai::{Array, Blob, Dynamic, ImmutableString, Map, INT};

use crate::calls::Frame;
use crate::{callbacks, fn_ptr};

/// A Rhai `timestamp()`: a point on the monotonic clock.
#[pyclass(frozen, module = "rhai")]
pub struct Timestamp {
    instant: Instant,
}

#[pymethods]
impl Timestamp {
    /// Seconds since the timestamp was taken.
    #[getter]
    fn elapsed(&self) -> f64 {
        self.instant.elapsed().as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!("<rhai.Timestamp {:.3}s ago>", self.elapsed())
    }
}

/// Convert a Rhai value to Python. Function pointers keep `frame`, where they can be called.
pub fn to_python<'py>(py: Python<'py>, value: &Dynamic, frame: &Frame) -> PyResult<Bound<'py, PyAny>> {
    if value.is_shared() {
        return to_python(py, &value.flatten_clone(), frame);
    }
    if value.is_unit() {
        return Ok(py.None().into_bound(py));
    }
    if let Ok(b) = value.as_bool() {
        return Ok(PyBool::new(py, b).to_owned().into_any());
    }
    if let Ok(i) = value.as_int() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    if let Ok(f) = value.as_float() {
        return Ok(PyFloat::new(py, f).into_any());
    }
    if let Ok(s) = value.as_immutable_string_ref() {
        return Ok(PyString::new(py, s.as_str()).into_any());
    }
    if let Ok(c) = value.as_char() {
        return Ok(c.into_pyobject(py)?.into_any());
    }
    if let Ok(array) = value.as_array_ref() {
        let items = array.iter().map(|item| to_python(py, item, frame)).collect::<PyResult<Vec<_>>>()?;
        return Ok(PyList::new(py, items)?.into_any());
    }
    if let Ok(map) = value.as_map_ref() {
        let dict = PyDict::new(py);
        for (key, item) in map.iter() {
            dict.set_item(key.as_str(), to_python(py, item, frame)?)?;
        }
        return Ok(dict.into_any());
    }
    if let Ok(blob) = value.as_blob_ref() {
        return Ok(PyBytes::new(py, &blob).into_any());
    }
    if value.is_fnptr() {
        let ptr = value.clone_cast::<rhai::FnPtr>();
        return Ok(Bound::new(py, fn_ptr::FnPtr::new(ptr, frame.clone()))?.into_any());
    }
    if value.is_timestamp() {
        let instant = value.clone_cast::<Instant>();
        return Ok(Bound::new(py, Timestamp { instant })?.into_any());
    }
    if let Some(range) = value.read_lock::<std::ops::Range<INT>>() {
        return Ok(PyRange::new(py, range.start as isize, range.end as isize)?.into_any());
    }
    if let Some(range) = value.read_lock::<std::ops::RangeInclusive<INT>>() {
        let end = range.end().checked_add(1).ok_or_else(|| {
            PyOverflowError::new_err(format!(
                "the Rhai range ..={} has no end as a Python range",
                range.end()
            ))
        })?;
        return Ok(PyRange::new(py, *range.start() as isize, end as isize)?.into_any());
    }
    Err(PyTypeError::new_err(format!(
        "cannot convert the Rhai value of type '{}' to Python",
        value.type_name()
    )))
}

/// Convert a Python value to Rhai; a callable becomes a function pointer that calls it.
pub fn to_rhai(obj: &Bound<'_, PyAny>) -> PyResult<Dynamic> {
    if obj.is_none() {
        return Ok(Dynamic::UNIT);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(b.is_true().into());
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return i.extract::<INT>().map(Dynamic::from).map_err(|_| {
            PyOverflowError::new_err(format!("{i} is outside the range of Rhai integers (64-bit signed)"))
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value().into());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(ImmutableString::from(s.to_str()?).into());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Dynamic::from_blob(Blob::from(b.as_bytes())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Dynamic::from_blob(b.to_vec()));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(|item| to_rhai(&item)).collect::<PyResult<Array>>().map(Dynamic::from_array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().map(|item| to_rhai(&item)).collect::<PyResult<Array>>().map(Dynamic::from_array);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let key = key.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "Rhai map keys are strings, not {}",
                    key.repr().map_or_else(|_| "?".into(), |r| r.to_string())
                ))
            })?;
            map.insert(key.to_str()?.into(), to_rhai(&item)?);
        }
        return Ok(Dynamic::from_map(map));
    }
    if let Ok(ptr) = obj.cast::<fn_ptr::FnPtr>() {
        return ptr.get().to_rhai().map(Dynamic::from);
    }
    if let Ok(timestamp) = obj.cast::<Timestamp>() {
        return Ok(Dynamic::from_timestamp(timestamp.get().instant));
    }
    if let Ok(range) = obj.cast::<PyRange>() {
        if range.step()? == 1 {
            return Ok(Dynamic::from(range.start()? as INT..range.stop()? as INT));
        }
    }
    if obj.is_callable() {
        return callbacks::fn_ptr_to(obj).map(Dynamic::from);
    }
    Err(PyTypeError::new_err(format!(
        "cannot convert a Python value of type '{}' to Rhai",
        obj.get_type().name()?
    )))
}
