//! Playbooks: the typed model ([`model`]) and loading it from YAML with source spans ([`load`]).

pub mod load;
pub mod model;
pub mod role;

pub use load::{Loader, load, load_with};
pub use model::*;
