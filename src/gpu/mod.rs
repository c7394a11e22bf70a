//! The GPU side: device choice, the kernel table, buffers, and one dispatch builder per kernel.

pub mod autotune;
pub mod blocking;
pub mod buffers;
pub mod context;
pub mod conv;
pub mod dispatch;
pub mod enhance;
pub mod faults;
pub mod kernels;
pub mod linear;
pub mod linear_trial;
pub mod ops;
pub mod pinning;
pub mod probe;
pub mod profiler;
pub mod recorder;
pub mod restore;
pub mod variants;

pub use buffers::View;
pub use context::GpuContext;
pub use kernels::Kernel;
pub use ops::Dispatch;
