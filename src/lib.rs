//! libpirsch: send page views, events and session keep-alives to the Pirsch Analytics API
//! from server-side code.
//!
//! The layers, each importing only from those below it:
//!
//! - `ffi`: the C boundary (what `include/pirsch.h` declares); the only public module;
//! - `client`: what a `pirsch_client` is: blocking sends, enqueue, flush, shutdown;
//! - `process`: a client's state per process (fork-local);
//! - `queue`: the bounded queue and its sender thread, which sends through a `Sink`;
//! - `api`: the Pirsch API: HTTP transport, the access token, outcomes of requests;
//! - `config`, `item`: settings (and where the API is), page views/events and their JSON;
//! - the bottom: `error`, `log`, `time`, `scan`, `rand`, `fork`, `panic`.

pub mod ffi;

mod api;
mod backoff;
mod client;
mod config;
mod error;
mod fork;
mod item;
mod log;
mod panic;
mod process;
mod queue;
mod rand;
mod scan;
mod spool;
mod time;

/// What the fuzz targets (fuzz/) reach inside the library; built only with the `fuzzing`
/// feature, never part of the library's interface.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
