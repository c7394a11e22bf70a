// probe.wgsl: the adapter's measured peaks, which `wgvae bench kernels` divides every row by
// (its roofline columns). Flat index = x + y * (groups in x) * 64, as elsewhere.
//   fma_peak  v1: each invocation runs `iters` rounds of 4 independent vec4 multiply-adds
//                 (a = a m + c) in registers and stores one vec4 at the end: no memory traffic
//                 to speak of. 4 chains of vec4 are 16 independent FMAs per lane: enough to
//                 hide the FMA latency, and on llvmpipe (each vec4 component an 8-lane AVX2
//                 register) 16 registers plus m and c, where 8 chains spilled. Peak FLOP/s.
//   copy_vec4 v1: dst[i] = src[i], one vec4 per invocation: peak bandwidth (read + write).
// m and c come from the uniform block, so no compiler can fold the chains away.

struct ProbeParams {
    n: u32,
    iters: u32,
    m: f32,
    c: f32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: ProbeParams;

@compute @workgroup_size(64)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    // a start that differs per invocation (i mod 1024 / 1024 is exact in f32)
    let s = f32(i % 1024u) * 0.0009765625;
    var a0 = vec4<f32>(s, s + 0.125, s + 0.25, s + 0.375);
    var a1 = a0 + vec4<f32>(0.5);
    var a2 = a0 + vec4<f32>(1.0);
    var a3 = a0 + vec4<f32>(1.5);
    let m = vec4<f32>(p.m);
    let c = vec4<f32>(p.c);
    for (var r = 0u; r < p.iters; r++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
    }
    dst[i] = ((a0 + a1) + a2) + a3;
}

@compute @workgroup_size(64)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.n) {
        return;
    }
    dst[i] = src[i];
}
