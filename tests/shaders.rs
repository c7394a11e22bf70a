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

/// `forward_reg8x8` -> `ForwardReg8x8`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// One name per kernel variant: the Rust name is the WGSL entry point in CamelCase, after the
/// file's family where the entry does not already say it (`linear.wgsl`'s `forward_reg8x8` is
/// `LinearForwardReg8x8`; `conv.wgsl`'s `conv_direct_4x16` is `ConvDirect4x16`).
#[test]
fn kernel_names_spell_their_entry_points() {
    let mut entries = std::collections::HashSet::new();
    for kernel in Kernel::ALL {
        let spec = kernel.spec();
        let stem = spec.file.name().trim_end_matches(".wgsl");
        let family = camel(stem.trim_end_matches("_sg"));
        let entry = camel(spec.entry);
        assert!(
            kernel.name() == entry || kernel.name() == format!("{family}{entry}"),
            "{} names {} in {}: call it {entry} or {family}{entry}",
            kernel.name(),
            spec.entry,
            spec.file.name()
        );
        assert!(entries.insert(spec.entry), "two kernels run {}", spec.entry);
    }
}

/// Every kernel's CPU twin is a public function of the crate and its GPU-vs-CPU test is a test
/// function in `tests/`; the README's kernel index has a row per shader file naming every entry.
#[test]
fn every_kernel_has_a_cpu_twin_a_test_and_an_index_row() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let readme = read(&root.join("README.md"));
    let index = readme
        .split("## Kernel index")
        .nth(1)
        .expect("README has a \"## Kernel index\" section")
        .split("\n## ")
        .next()
        .unwrap();
    for kernel in Kernel::ALL {
        let twin = kernel.cpu_twin();
        let (module, function) = twin.rsplit_once("::").unwrap();
        let source = read(&root.join("src").join(module.replace("::", "/") + ".rs"));
        assert!(
            source.contains(&format!("pub fn {function}("))
                || source.contains(&format!("pub fn {function}<")),
            "{}: no `pub fn {function}` in src/{module}",
            kernel.name()
        );
        let (file, test) = kernel.test().split_once("::").unwrap();
        let tests = read(&root.join("tests").join(format!("{file}.rs")));
        assert!(
            tests.contains(&format!("#[test]\nfn {test}()")),
            "{}: no #[test] fn {test} in tests/{file}.rs",
            kernel.name()
        );
        let spec = kernel.spec();
        let row = index
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", spec.file.name())))
            .unwrap_or_else(|| panic!("README's kernel index has no row for {}", spec.file.name()));
        assert!(
            row.contains(&format!("`{}`", spec.entry)),
            "README's kernel index row for {} does not name {}",
            spec.file.name(),
            spec.entry
        );
    }
}
