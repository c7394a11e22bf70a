//! Keeps a software adapter's compute threads on separate CPUs.
//!
//! lavapipe (Mesa's Vulkan on the CPU) runs each dispatch on a pool of worker threads, one per
//! CPU by default, that sleep and wake at every dispatch. Linux's scheduler can wake them all on
//! the same CPU and then leave them there: on the project's 2-core Intel VM a whole training
//! run landed at half speed about one run in two, both workers on one CPU with half a core each
//! (`BENCHMARKS.md`, "Steady speed"). Pinning worker `i` to the `i`-th CPU the process may use
//! rules that placement out; it changes nothing where the scheduler already spreads them.
//!
//! The workers are found by how Mesa 22.3 starts them: threads named like the thread that
//! opened the adapter, started after the rasterizer's `llvmpipe-N` threads, while the adapter
//! was enumerated and opened. Where that layout is not seen (another driver, another Mesa,
//! another OS), nothing is pinned and [`Pinning::note`] says so. `WGVAE_PIN_THREADS=0` turns
//! it off.

/// The threads of this process, by id, in the order they started (Linux; empty elsewhere).
pub fn threads() -> Vec<i32> {
    imp::threads()
}

/// What was pinned where, or why nothing was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pinning {
    /// (thread id, CPU) for each compute thread pinned.
    pub pinned: Vec<(i32, usize)>,
    /// Why nothing was pinned, when nothing was.
    pub skipped: Option<&'static str>,
}

impl Pinning {
    fn skipped(why: &'static str) -> Self {
        Pinning {
            pinned: Vec::new(),
            skipped: Some(why),
        }
    }

    /// One line for `info` and benchmarks: "2 compute threads pinned to CPUs 0, 1".
    pub fn note(&self) -> String {
        match self.skipped {
            Some(why) => format!("compute threads not pinned: {why}"),
            None => {
                let cpus: Vec<String> = self.pinned.iter().map(|(_, c)| c.to_string()).collect();
                format!(
                    "{} compute threads pinned to CPUs {} (WGVAE_PIN_THREADS=0 leaves them to \
                     the scheduler)",
                    self.pinned.len(),
                    cpus.join(", ")
                )
            }
        }
    }
}

/// Whether `info` names a CPU adapter whose workers this module knows (lavapipe).
pub fn is_lavapipe(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
        && (info.driver.contains("llvmpipe") || info.name.contains("llvmpipe"))
}

/// The CPUs the process may run on, when lavapipe's workers on the adapter `info` describes
/// are to be pinned to them; else why not.
fn pinnable_cpus(info: &wgpu::AdapterInfo) -> Result<Vec<usize>, &'static str> {
    if !is_lavapipe(info) {
        return Err("not a lavapipe adapter");
    }
    if std::env::var_os("WGVAE_PIN_THREADS").is_some_and(|v| v == "0") {
        return Err("WGVAE_PIN_THREADS=0");
    }
    if !cfg!(target_os = "linux") {
        return Err("thread placement is only managed on Linux");
    }
    let cpus = imp::allowed_cpus();
    if cpus.len() < 2 {
        return Err("the process may run on one CPU only");
    }
    Ok(cpus)
}

/// What opening a device on the adapter `info` describes will do with its compute threads
/// (`wgvae info`, which opens none).
pub fn policy(info: &wgpu::AdapterInfo) -> String {
    match pinnable_cpus(info) {
        Ok(cpus) => {
            let list: Vec<String> = cpus.iter().map(|c| c.to_string()).collect();
            format!(
                "lavapipe's workers are pinned in turn to CPUs {} when a device opens (the \
                 scheduler can leave them all on one CPU, at half speed; WGVAE_PIN_THREADS=0 \
                 leaves them to it)",
                list.join(", ")
            )
        }
        Err(why) => format!("left to the scheduler: {why}"),
    }
}

/// Where [`pin_compute_threads`] puts each compute thread started since `before` (from
/// [`threads`]): (thread id, CPU), each on its own CPU of those the process may run on (round
/// robin past the last); or why none is pinned.
fn plan(before: &[i32], info: &wgpu::AdapterInfo) -> Result<Vec<(i32, usize)>, &'static str> {
    let cpus = pinnable_cpus(info)?;
    let workers = imp::workers_since(before)?;
    if workers.is_empty() {
        return Err("no new lavapipe worker threads found");
    }
    Ok(workers
        .iter()
        .enumerate()
        .map(|(i, &tid)| (tid, cpus[i % cpus.len()]))
        .collect())
}

/// Pins the compute threads started since `before` as [`plan`] places them, when the adapter
/// is lavapipe.
pub fn pin_compute_threads(before: &[i32], info: &wgpu::AdapterInfo) -> Pinning {
    match plan(before, info) {
        Err(why) => Pinning::skipped(why),
        Ok(placed) if placed.iter().all(|&(tid, cpu)| imp::pin(tid, cpu)) => Pinning {
            pinned: placed,
            skipped: None,
        },
        Ok(_) => Pinning::skipped("the system refused to pin a thread"),
    }
}

/// Of `started` (thread ids with their names, in start order) the ones [`pin_compute_threads`]
/// takes for lavapipe's workers: after the last `llvmpipe-N` thread, named `own` (like the
/// thread that opened the adapter), not in `before`.
pub fn pick_workers(started: &[(i32, String)], before: &[i32], own: &str) -> Vec<i32> {
    let new: Vec<&(i32, String)> = started
        .iter()
        .filter(|(t, _)| !before.contains(t))
        .collect();
    let Some(last_raster) = new.iter().rposition(|(_, n)| n.starts_with("llvmpipe-")) else {
        return Vec::new();
    };
    new[last_raster + 1..]
        .iter()
        .filter(|(_, n)| n == own)
        .map(|(t, _)| *t)
        .collect()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs;

    pub fn threads() -> Vec<i32> {
        let mut tids: Vec<i32> = fs::read_dir("/proc/self/task")
            .map(|dir| {
                dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // thread ids grow with start time until they wrap, which the pool's few do not meet
        tids.sort_unstable();
        tids
    }

    fn name(path: &str) -> Option<String> {
        Some(fs::read_to_string(path).ok()?.trim_end().to_string())
    }

    pub fn workers_since(before: &[i32]) -> Result<Vec<i32>, &'static str> {
        let own = name("/proc/thread-self/comm").ok_or("/proc/thread-self is unreadable")?;
        let started: Vec<(i32, String)> = threads()
            .into_iter()
            .filter_map(|t| Some((t, name(&format!("/proc/self/task/{t}/comm"))?)))
            .collect();
        Ok(super::pick_workers(&started, before, &own))
    }

    pub fn allowed_cpus() -> Vec<usize> {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, and the size passed is its own.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    pub fn pin(tid: i32, cpu: usize) -> bool {
        // SAFETY: as above; `tid` is a thread of this process (sched_setaffinity fails cleanly
        // on one that has ended).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn threads() -> Vec<i32> {
        Vec::new()
    }

    pub fn workers_since(_: &[i32]) -> Result<Vec<i32>, &'static str> {
        Err("thread placement is only managed on Linux")
    }

    pub fn allowed_cpus() -> Vec<usize> {
        Vec::new()
    }

    pub fn pin(_: i32, _: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(list: &[(i32, &str)]) -> Vec<(i32, String)> {
        list.iter().map(|&(t, n)| (t, n.to_string())).collect()
    }

    /// Mesa 22.3's layout as `/proc` showed it for `bench train`: the main thread, a queue
    /// thread, the rasterizer's two, the two compute workers, the disk cache's.
    #[test]
    fn the_workers_are_the_own_named_threads_after_the_rasterizer() {
        let started = named(&[
            (100, "wgvae"),
            (102, "wgvae"),
            (103, "llvmpipe-0"),
            (104, "llvmpipe-1"),
            (105, "wgvae"),
            (106, "wgvae"),
            (107, "wgvae:disk$0"),
        ]);
        assert_eq!(pick_workers(&started, &[100], "wgvae"), vec![105, 106]);
        // threads that were there before the adapter was opened are never taken
        assert_eq!(pick_workers(&started, &[100, 105], "wgvae"), vec![106]);
    }

    #[test]
    fn nothing_is_picked_without_the_rasterizer_threads() {
        let started = named(&[(100, "wgvae"), (101, "wgvae"), (102, "wgvae")]);
        assert!(pick_workers(&started, &[100], "wgvae").is_empty());
        // nor when they were there before (a second device in the same process)
        let again = named(&[(100, "wgvae"), (103, "llvmpipe-0"), (105, "wgvae")]);
        assert!(pick_workers(&again, &[100, 103, 105], "wgvae").is_empty());
    }
}
