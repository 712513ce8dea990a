//! Text formats baton must reproduce exactly as Python writes or reads them, needed by more
//! than one room: shell-style wildcards ([`fnmatch`], [`glob`]), `json.dumps` ([`json`]) and
//! `tomli_w.dumps` ([`toml`]). Each has one implementation here, so that inventory patterns,
//! lookups, modules, the SSH layer, filters and the inventory listing cannot disagree about them.
//!
//! Python's `repr` of a float ([`python_float`]) and its `str()` of a YAML timestamp
//! ([`timestamp`]) live here too, for YAML, JSON and output, and `str.encode` for a few
//! encodings ([`encoding`], the template module's output).
//! This room uses nothing else of baton; nothing here knows about inventories, templates or
//! hosts.

pub mod encoding;
pub mod fnmatch;
pub mod glob;
pub mod json;
mod number;
pub mod timestamp;
pub mod toml;

pub use number::python_float;
