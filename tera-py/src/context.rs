//! Python values to a Tera context, converted directly to `serde_json::Value`.

use pyo3::exceptions::{PyOverflowError, PyRecursionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deeper nesting than this is refused rather than risk the native stack (a dict holding itself).
const MAX_DEPTH: usize = 128;

/// The Tera context of a dict with `str` keys; errors name the key path, e.g. `context['a'][2]`.
pub fn from_python(dict: &Bound<'_, PyDict>) -> PyResult<tera::Context> {
    let map = dict_to_map(dict, &mut String::from("context"), 0)?;
    tera::Context::from_value(Value::Object(map)).map_err(|err| PyValueError::new_err(err.to_string()))
}

fn dict_to_map(dict: &Bound<'_, PyDict>, path: &mut String, depth: usize) -> PyResult<Map<String, Value>> {
    let mut map = Map::with_capacity(dict.len());
    let len = path.len();
    for (key, item) in dict.iter() {
        let Ok(key) = key.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "{path}: a Tera context key must be a str, not {} ({})",
                key.get_type().name()?,
                key.repr()?
            )));
        };
        path.push_str(&format!("[{}]", key.repr()?));
        let value = to_json(&item, path, depth + 1)?;
        path.truncate(len);
        map.insert(key.to_str()?.to_owned(), value);
    }
    Ok(map)
}

fn to_json(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyRecursionError::new_err(format!(
            "{path}: nested more than {MAX_DEPTH} levels deep (does a container hold itself?)"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(i) = i.extract::<i64>() {
            return Ok(i.into());
        }
        return i.extract::<u64>().map(Value::from).map_err(|_| {
            PyOverflowError::new_err(format!("{path}: {i} is outside the integers Tera holds (i64, u64)"))
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return match Number::from_f64(f.value()) {
            Some(number) => Ok(Value::Number(number)),
            None => {
                Err(PyValueError::new_err(format!("{path}: {} cannot be used in a Tera context", f.repr()?)))
            }
        };
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return dict_to_map(dict, path, depth).map(Value::Object);
    }
    let items = if let Ok(list) = obj.cast::<PyList>() {
        list.iter().collect::<Vec<_>>()
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        tuple.iter().collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{path}: cannot use a {} in a Tera context",
            obj.get_type().name()?
        )));
    };
    let len = path.len();
    let mut array = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        path.push_str(&format!("[{index}]"));
        array.push(to_json(item, path, depth + 1)?);
        path.truncate(len);
    }
    Ok(Value::Array(array))
}
