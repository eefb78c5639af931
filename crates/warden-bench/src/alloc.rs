//! Heap accounting for engine builds.
//!
//! Engines share one process, so the resident-set size says little about any one
//! of them: glibc keeps freed pages of an earlier engine and hands them to the
//! next. A counting allocator tells exactly how many heap bytes a build left
//! allocated (and its peak). It counts only while [`measure`] runs, so the timed
//! check loops pay one relaxed load per allocation and nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// [`System`], counting bytes while [`measure`] is running.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static NET: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

#[inline]
fn grow(bytes: usize) {
    let now = NET.fetch_add(bytes as isize, Relaxed) + bytes as isize;
    PEAK.fetch_max(now, Relaxed);
}

#[inline]
fn shrink(bytes: usize) {
    NET.fetch_sub(bytes as isize, Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are side effects only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            grow(layout.size());
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            grow(layout.size());
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.load(Relaxed) {
            shrink(layout.size());
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Heap bytes a closure left allocated, and the most it held at once.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HeapUse {
    pub retained: isize,
    pub peak: isize,
}

/// Runs `f`, counting its heap use. Not reentrant; other threads' allocations
/// during `f` are counted too (the benchmark runs engines one at a time).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, HeapUse) {
    NET.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ON.store(true, Relaxed);
    let value = f();
    ON.store(false, Relaxed);
    (value, HeapUse { retained: NET.load(Relaxed), peak: PEAK.load(Relaxed) })
}

/// The process's resident set size in KiB (`VmRSS` in /proc/self/status), when the OS tells.
pub fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Hands the heap's free pages back to the OS (glibc's `malloc_trim`), so that
/// the next RSS reading is not flattered by pages a dropped engine left behind.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only returns free memory to the OS; glibc allows it at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}
