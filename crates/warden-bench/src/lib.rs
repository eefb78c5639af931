//! Warden's access check measured against its peers on one synthetic D365-size
//! model and one request stream, in one process: Warden's compiled index (by id
//! and by name), the naive reference evaluator, a per-role hash map, cedar-policy
//! and casbin. Each engine is built, timed on the stream, and its decisions are
//! compared with Warden's (Warden's with the reference's), so that a speed figure
//! never stands without the proof that the engine answered the same question.
//!
//! `writes` ([`writes::run_writes`]) is the other kind of benchmark: Warden's
//! administrative writes over its real HTTP API and command line, against
//! today's full-reload write path in the same run. `pages`
//! ([`pages::run_pages`]) times the web console's pages beside the API
//! requests that serve the same data.
//!
//! The binary is a thin command line over [`run::run`]; the tests call the same
//! function at small scale. See README.md for the encodings and how to read the output.

pub mod alloc;
pub mod engines;
pub mod pages;
pub mod report;
pub mod run;
pub mod sod;
pub mod sod_naive;
pub mod writes;

pub use run::{run, Config, EngineKind, EngineResult, Report};

/// Counts heap bytes while an engine is built (see [`alloc`]); a no-op otherwise.
#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;
