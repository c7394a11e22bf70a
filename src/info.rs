//! `wgvae info`: every adapter, the chosen one, its limits and features.

use crate::error::GpuError;
use crate::gpu::context;
use crate::gpu::ops::LinearVariant;

pub fn run(wanted: Option<&str>) -> Result<(), GpuError> {
    let instance = context::instance();
    let adapters = context::list_adapters(&instance);
    let chosen = context::choose_adapter(&adapters, wanted)?;
    println!(
        "backends searched: {:?} (set WGPU_BACKEND to change)",
        context::backends()
    );
    println!("adapters:");
    for (i, a) in adapters.iter().enumerate() {
        let info = a.get_info();
        println!(
            "  {} [{i}] {} | backend {:?} | type {:?} | driver {} {}",
            if i == chosen { "*" } else { " " },
            info.name,
            info.backend,
            info.device_type,
            info.driver,
            info.driver_info
        );
    }
    let adapter = &adapters[chosen];
    let info = adapter.get_info();
    let l = adapter.limits();
    println!("chosen: [{chosen}] {}", info.name);
    println!("limits:");
    let rows: [(&str, u64); 11] = [
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
        ("subgroup size (min..max)", info.subgroup_min_size as u64),
    ];
    for (name, value) in rows {
        if name.starts_with("subgroup") {
            println!("  {name:<40} {value}..{}", info.subgroup_max_size);
        } else {
            println!("  {name:<40} {value}");
        }
    }
    let features = adapter.features();
    println!("features:");
    println!(
        "  timestamp queries: {}",
        if features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            "yes"
        } else {
            "no (wall-clock timing)"
        }
    );
    println!("  all: {features:?}");
    println!(
        "linear forward variant for this adapter: {}",
        LinearVariant::preferred(&info).name()
    );
    Ok(())
}
