//! Output: turning the executor's events into what a person or a program reads.
//!
//! [`human::Human`] writes Ansible's familiar PLAY / TASK / ok / changed / fatal lines and the
//! PLAY RECAP; [`json::JsonLines`] writes one JSON object per event for CI systems.

pub mod human;
pub mod json;
pub mod listing;
