//! libpirsch: send page views, events and session keep-alives to the Pirsch Analytics API
//! from server-side code. The Rust core (`Client`, `payload`, `auth`, `transport`, `ip`)
//! knows nothing of C; `ffi` is the C boundary that the generated `pirsch.h` describes.

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod ffi;
mod fork;
pub mod headers;
pub mod ip;
pub mod log;
pub mod payload;
mod process;
mod rand;
mod scan;
pub mod sender;
pub mod time;
pub mod transport;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use payload::{Event, Hit, Kind};
