//! Arguments as Python callers write them, and JSON documents as Python values.
//!
//! Frames are a frame list (`"1001-1100"`, `"1001,1005,1010-1020x2"`) or any iterable
//! of ints; paths are a `str`, an `os.PathLike`, or an iterable of them. Reports are
//! handed over as the very documents the CLI prints with `--json`, turned into dicts
//! and lists, so there is one shape to learn.

use crate::errors;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::path::PathBuf;

/// `None`, a frame list, or an iterable of ints: the frames, sorted and distinct.
pub fn frames(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if obj.is_instance_of::<PyString>() {
        let spec: String = obj.extract()?;
        return smartcache::frames::parse_frames(&spec)
            .map(Some)
            .map_err(|e| errors::frames(obj.py(), &e));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "frames must be a frame list such as \"1001-1100\" or an iterable of ints, not {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        let f: i64 = item.extract().map_err(|_| {
            PyTypeError::new_err(format!("a frame must be an int, not {}", type_name(&item)))
        })?;
        out.push(f);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// One path (`str` or `os.PathLike`) or an iterable of them.
pub fn paths(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(p) = obj.extract::<PathBuf>() {
        return Ok(vec![p]);
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a path or an iterable of paths, not {}",
            type_name(obj)
        ))
    })?;
    iter.map(|item| {
        let item = item?;
        item.extract::<PathBuf>()
            .map_err(|_| PyTypeError::new_err(format!("expected a path, not {}", type_name(&item))))
    })
    .collect()
}

/// The name of `obj`'s type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A JSON value as the Python value `json.loads` would give.
pub fn json(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
            _ => n
                .as_f64()
                .unwrap_or(f64::NAN)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json(py, x)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(o) => {
            let dict = PyDict::new(py);
            for (k, x) in o {
                dict.set_item(k, json(py, x)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// `value` serialized the way the CLI prints it with `--json` (pretty, keys sorted).
pub fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}
