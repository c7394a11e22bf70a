//! `wgvae._wgvae`: the native half of the Python package `wgvae`. The Python half
//! (`python/wgvae/__init__.py`) checks arrays and views them with numpy; this half takes their
//! bytes, calls the library as the command line does, and releases the GIL for GPU work.

mod device;
mod errors;
mod functions;
mod model;
mod pixels;
mod training;

use pyo3::prelude::*;

#[pymodule]
fn _wgvae(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<errors::Error>())?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(device::adapters, m)?)?;
    m.add_function(wrap_pyfunction!(functions::read_image, m)?)?;
    m.add_function(wrap_pyfunction!(functions::write_image, m)?)?;
    m.add_function(wrap_pyfunction!(functions::degrade, m)?)?;
    m.add_function(wrap_pyfunction!(functions::enhance, m)?)?;
    m.add_function(wrap_pyfunction!(functions::image_grid, m)?)?;
    m.add_function(wrap_pyfunction!(functions::builtin_models, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    Ok(())
}
