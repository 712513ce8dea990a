//! baton: an agentless server orchestrator over SSH that speaks Ansible's language.
//!
//! The data flows one way: the [`cli`] reads options; [`inventory`] and [`playbook`] read what
//! the user wrote into typed models with source spans ([`yaml`], [`diagnostics`]); the [`exec`]utor
//! runs plays in batches, templating with [`template`] against [`vars`] scopes, calling
//! [`modules`] that reach hosts only through [`connection`]; it emits events that [`output`]
//! prints.

pub mod ansible_py;
pub mod cli;
pub mod config;
pub mod connection;
pub mod diagnostics;
pub mod exec;
pub mod inventory;
pub mod modules;
pub mod output;
pub mod playbook;
pub mod template;
pub mod text;
pub mod value;
pub mod vars;
pub mod vault;
pub mod yaml;
