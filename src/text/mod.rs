//! Text formats baton must reproduce exactly as Python writes or reads them, needed by more than
//! one room: shell-style wildcards ([`fnmatch`]). Each has one implementation here, so that
//! inventory patterns, lookups, modules and the SSH layer cannot disagree about them.
//!
//! This room depends on nothing else in baton.

pub mod fnmatch;
