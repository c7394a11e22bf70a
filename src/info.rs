//! `wgvae info`: the backends searched, every adapter, the chosen one, its limits and features;
//! as text or as one JSON object.

use serde::Serialize;
use std::fmt::Write as _;

use crate::error::GpuError;
use crate::gpu::context::{self, Adapters, DeviceOptions};
use crate::gpu::ops::LinearVariant;
use crate::gpu::pinning;

/// Everything `info` reports (the `--json` object).
#[derive(Debug, Serialize)]
pub struct Report {
    /// The backends searched, e.g. `["vulkan"]`.
    pub backends: Vec<&'static str>,
    pub adapters: Vec<AdapterRow>,
    /// Index of the chosen adapter in `adapters`.
    pub chosen: usize,
    /// The limits that matter to wgvae, in the order printed (a JSON object by name).
    #[serde(serialize_with = "limits_as_map")]
    pub limits: Vec<Limit>,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    pub timestamp_queries: bool,
    /// The chosen adapter's features, by their WebGPU (or `wgpu-`) names.
    pub features: Vec<String>,
    /// The linear forward kernel training uses on this adapter.
    pub linear_variant: &'static str,
    /// Where the adapter's compute threads run once a device opens (see `gpu::pinning`).
    pub compute_threads: String,
}

/// One adapter of the backends searched, at the index `--adapter N` takes.
#[derive(Debug, Serialize)]
pub struct AdapterRow {
    pub index: usize,
    pub name: String,
    pub backend: &'static str,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
}

fn limits_as_map<S: serde::Serializer>(limits: &[Limit], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(limits.iter().map(|l| (l.name, l.value)))
}

/// One of the chosen adapter's limits, by wgpu's field name.
#[derive(Debug)]
pub struct Limit {
    pub name: &'static str,
    pub value: u64,
}

/// The report for the adapter `wanted` names (or the preferred one), opened with `options` only
/// to decide on subgroups: no device is created.
pub fn report(wanted: Option<&str>, options: DeviceOptions) -> Result<Report, GpuError> {
    let adapters = Adapters::enumerate()?;
    let chosen = adapters.choose(wanted)?;
    let rows = adapters
        .list
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let info = a.get_info();
            AdapterRow {
                index,
                name: info.name,
                backend: info.backend.to_str(),
                device_type: format!("{:?}", info.device_type),
                driver: info.driver,
                driver_info: info.driver_info,
            }
        })
        .collect();
    let adapter = &adapters.list[chosen];
    let info = adapter.get_info();
    let l = adapter.limits();
    let limits = [
        ("max_buffer_size", l.max_buffer_size),
        (
            "max_storage_buffer_binding_size",
            l.max_storage_buffer_binding_size,
        ),
        (
            "max_storage_buffers_per_shader_stage",
            l.max_storage_buffers_per_shader_stage as u64,
        ),
        (
            "max_uniform_buffer_binding_size",
            l.max_uniform_buffer_binding_size,
        ),
        (
            "min_storage_buffer_offset_alignment",
            l.min_storage_buffer_offset_alignment as u64,
        ),
        (
            "max_compute_workgroup_storage_size",
            l.max_compute_workgroup_storage_size as u64,
        ),
        (
            "max_compute_invocations_per_workgroup",
            l.max_compute_invocations_per_workgroup as u64,
        ),
        (
            "max_compute_workgroup_size_x",
            l.max_compute_workgroup_size_x as u64,
        ),
        (
            "max_compute_workgroup_size_y",
            l.max_compute_workgroup_size_y as u64,
        ),
        (
            "max_compute_workgroups_per_dimension",
            l.max_compute_workgroups_per_dimension as u64,
        ),
    ]
    .into_iter()
    .map(|(name, value)| Limit { name, value })
    .collect();
    let features = adapter.features();
    Ok(Report {
        backends: context::backend_names(adapters.backends),
        adapters: rows,
        chosen,
        limits,
        subgroup_min_size: info.subgroup_min_size,
        subgroup_max_size: info.subgroup_max_size,
        timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        features: feature_names(features),
        linear_variant: LinearVariant::preferred(&info, options.subgroups_on(&info, features))
            .name(),
        compute_threads: pinning::policy(&info),
    })
}

/// Each feature of `set` by its WebGPU name (`timestamp-query`; wgpu's own ones `wgpu-...`).
fn feature_names(set: wgpu::Features) -> Vec<String> {
    set.iter_names()
        .map(|(constant, f)| f.as_str().unwrap_or(constant).to_string())
        .collect()
}

/// The report as `info` prints it.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "backends searched: {} (set WGPU_BACKEND to change)",
        r.backends.join(", ")
    );
    let _ = writeln!(out, "adapters:");
    for a in &r.adapters {
        let _ = writeln!(
            out,
            "  {} [{}] {} | backend {} | type {} | driver {} {}",
            if a.index == r.chosen { "*" } else { " " },
            a.index,
            a.name,
            a.backend,
            a.device_type,
            a.driver,
            a.driver_info
        );
    }
    let chosen = &r.adapters[r.chosen];
    let _ = writeln!(
        out,
        "chosen: [{}] {} (--adapter takes its index or part of its name)",
        chosen.index, chosen.name
    );
    let _ = writeln!(out, "limits:");
    for l in &r.limits {
        let _ = writeln!(out, "  {:<40} {}", l.name, l.value);
    }
    let _ = writeln!(
        out,
        "  {:<40} {}..{}",
        "subgroup size (min..max)", r.subgroup_min_size, r.subgroup_max_size
    );
    let _ = writeln!(
        out,
        "timestamp queries: {}",
        if r.timestamp_queries {
            "yes"
        } else {
            "no (wall-clock timing)"
        }
    );
    let _ = writeln!(out, "features ({}):", r.features.len());
    for line in wrap(&r.features, "  ", 100) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "linear forward variant for this adapter type: {} (the default; commands measure the \
         fastest per model and batch unless --no-autotune)",
        r.linear_variant
    );
    let _ = writeln!(out, "compute threads: {}", r.compute_threads);
    out
}

/// `words` joined by ", " into lines of at most `width` columns (a longer word gets a line of
/// its own), each starting with `indent`.
pub fn wrap(words: &[String], indent: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for (i, word) in words.iter().enumerate() {
        let piece = if i + 1 < words.len() {
            format!("{word},")
        } else {
            word.clone()
        };
        if !line.is_empty() && indent.len() + line.len() + 1 + piece.len() > width {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        let words: Vec<String> = (0..40).map(|i| format!("feature-{i}")).collect();
        let lines = wrap(&words, "  ", 30);
        assert!(lines.iter().all(|l| l.len() <= 30), "{lines:?}");
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>().len(),
            40
        );
        assert!(lines.last().unwrap().ends_with("feature-39"));
        assert_eq!(wrap(&[], "  ", 30), Vec::<String>::new());
    }

    #[test]
    fn features_are_named_as_webgpu_names_them() {
        let set = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F16;
        let names = feature_names(set);
        assert!(names.contains(&"timestamp-query".to_string()), "{names:?}");
        assert_eq!(names.len(), 2);
    }
}
