//! Output: turning the executor's events into what a person or a program reads.
//!
//! [`human::Human`] writes Ansible's familiar PLAY / TASK / ok / changed / fatal lines and the
//! PLAY RECAP; [`json::JsonLines`] writes one JSON object per event for CI systems;
//! [`adhoc::Adhoc`] writes `baton run`'s `host | CHANGED | rc=0 >>` lines. Questions for the
//! operator ([`prompt`]) and log lines ([`log`]) go through here too, so that nothing tears a
//! progress bar.

pub mod adhoc;
pub mod diff;
pub mod human;
pub mod json;
pub mod listing;
pub mod log;
pub mod progress;
pub mod prompt;
