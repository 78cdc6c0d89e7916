//! The C boundary: converts and checks arguments, catches panics, records the last error,
//! and delegates to the client. Nothing here knows HTTP or JSON. What `include/pirsch.h`
//! declares is exactly what this module exports (cbindgen reads it).
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

// In the order the header shows them (cbindgen follows the declarations).
mod result;
mod boundary;
mod config;
mod client;
mod shared;
mod statistics;
mod headers;
mod types;
mod convert;

pub use boundary::{pirsch_last_error, pirsch_last_error_code};
pub use client::*;
pub use config::*;
pub use headers::pirsch_hit_options_from_headers;
pub use result::*;
pub use shared::pirsch_client_shared;
pub use statistics::*;
pub use types::*;

#[cfg(feature = "fuzzing")]
pub(crate) use convert::{event_from_c, hit_from_c};
#[cfg(feature = "fuzzing")]
pub(crate) use result::code_of;

/// The version of the loaded library, e.g. "0.1.0". Static; never NULL; do not free.
///
/// @return A static string such as "0.1.0" (never NULL; do not free).
#[no_mangle]
pub extern "C" fn pirsch_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const std::ffi::c_char
}
