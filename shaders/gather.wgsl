// gather.wgsl: build a training batch on the GPU.
//   gather_batch  out[r, c] = data[perm[cursor + r] * dim + c] / 255 as f32; the dataset is the
//                 u8 images packed four to a u32 word (little-endian), uploaded once.
//   advance_step  step += 1, cursor += batch, slot += 1: run last in each recorded step, so a
//                 submit can hold several steps without the host touching the state.

struct GatherParams {
    rows: u32,
    dim: u32,
    scale: f32,
    _pad: u32,
}

struct StepState {
    step: u32,
    cursor: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> state: StepState;
@group(0) @binding(4) var<uniform> p: GatherParams;

@compute @workgroup_size(64)
fn gather_batch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let cursor = state.cursor;
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.rows * p.dim) {
        return;
    }
    let r = i / p.dim;
    let c = i - r * p.dim;
    let byte_index = perm[cursor + r] * p.dim + c;
    let word = data[byte_index / 4u];
    let byte = (word >> (8u * (byte_index % 4u))) & 0xFFu;
    out[i] = f32(byte) * p.scale;
}

// gather_batch_vec4: four pixels of one row per invocation from one data word (dim a multiple
// of 4, which the builder checks, so a row starts on a word): a quarter of the per-lane loads.
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn gather_batch_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // read before any branch: one load for all lanes on llvmpipe, not a per-lane loop (adam.wgsl)
    let cursor = state.cursor;
    let i = gid.x + gid.y * nwg.x * 64u;
    let dim4 = p.dim / 4u;
    if (i >= p.rows * dim4) {
        return;
    }
    let r = i / dim4;
    let c4 = i - r * dim4;
    let word = data[perm[cursor + r] * dim4 + c4];
    let bytes = (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFFu);
    out4[i] = vec4<f32>(bytes) * p.scale;
}

struct AdvanceParams {
    batch: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> adv_state: StepState;
@group(0) @binding(1) var<uniform> ap: AdvanceParams;

@compute @workgroup_size(1)
fn advance_step() {
    adv_state.step += 1u;
    adv_state.cursor += ap.batch;
    adv_state.slot += 1u;
}
