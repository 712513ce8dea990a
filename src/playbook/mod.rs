//! Playbooks: the typed model ([`model`]) and loading it from YAML with source spans ([`load`]).

pub mod load;
pub mod model;

pub use load::load;
pub use model::*;
