//! Every shader file parses and validates with naga, as the device will compile it; no GPU.

use std::path::Path;

use wgvae::gpu::kernels::{Kernel, ShaderFile};

/// `source`, the text of `file` (alone or with its prefix), parsed and validated.
fn validate(file: ShaderFile, source: &str) -> naga::Module {
    // the *_sg.wgsl files need subgroups (the device compiles them only where it has them);
    // every other file must validate without any capability
    let name = file.name();
    let capabilities = if file.needs_subgroups() {
        naga::valid::Capabilities::SUBGROUP
    } else {
        naga::valid::Capabilities::empty()
    };
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
    module
}

#[test]
fn every_shader_file_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).expect("shaders/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        found += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file = ShaderFile::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("{name} is not in ShaderFile::ALL, so no kernel can use it"));
        // The file on disk is the one embedded in the binary.
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(
            file.source().ends_with(on_disk.as_str()),
            "{name}: embedded text differs from disk"
        );
        validate(file, &file.source());
        // Files compiled after another (rng.wgsl, conv.wgsl) are checked with it; the rest also
        // stand alone.
        if file.prefix().is_none() {
            validate(file, &on_disk);
        }
    }
    assert!(
        found >= ShaderFile::ALL.len(),
        "found only {found} shader files in {}",
        dir.display()
    );
}

#[test]
fn every_kernel_entry_point_exists_with_its_bindings() {
    for kernel in Kernel::ALL {
        let spec = kernel.spec();
        let module = validate(spec.file, &spec.file.source());
        let entry = module
            .entry_points
            .iter()
            .find(|e| e.name == spec.entry)
            .unwrap_or_else(|| panic!("{}: no entry point {}", spec.file.name(), spec.entry));
        assert_eq!(
            entry.stage,
            naga::ShaderStage::Compute,
            "{} is not a compute entry",
            spec.entry
        );
        // Every binding the layout declares is one some global in the file declares.
        for &(binding, _) in spec.bindings {
            let declared = module.global_variables.iter().any(|(_, g)| {
                g.binding
                    .as_ref()
                    .is_some_and(|b| b.group == 0 && b.binding == binding)
            });
            assert!(declared, "{}: binding {binding} not declared", spec.entry);
        }
    }
}
