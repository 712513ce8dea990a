//! The typed model of a playbook: plays, blocks, tasks and handlers, each with the span it was
//! written at. Built once by [`super::load`]; nothing downstream reads raw YAML again.
//!
//! Keyword values that Ansible templates at run time (`when`, `loop`, `become_user`, ...) are
//! kept as [`Value`]s here and templated by the executor against each host's variables.

use crate::diagnostics::Span;
use crate::value::{Value, Vars};
use std::path::PathBuf;
use std::sync::Arc;

/// A whole playbook file (with its `import_playbook`s expanded in place).
#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    /// The directory of the top playbook: `playbook_dir`.
    pub dir: PathBuf,
    pub plays: Vec<Play>,
}

/// Keywords that plays, blocks and tasks share; a task inherits what it does not set from its
/// blocks and its play.
#[derive(Debug, Clone, Default)]
pub struct Keywords {
    pub become_: Option<Value>,
    pub become_user: Option<Value>,
    pub become_method: Option<Value>,
    pub become_flags: Option<Value>,
    pub remote_user: Option<Value>,
    pub connection: Option<Value>,
    pub environment: Option<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub any_errors_fatal: Option<Value>,
    pub run_once: Option<Value>,
    pub delegate_to: Option<Value>,
    pub throttle: Option<Value>,
    pub timeout: Option<Value>,
    pub tags: Vec<String>,
    /// Conditions that must all hold (a block's apply to every task inside it).
    pub when: Vec<Value>,
    pub vars: Arc<Vars>,
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    pub name: String,
    /// The host pattern, already joined when written as a list.
    pub hosts: Value,
    pub span: Span,
    /// Where each play keyword's value was written, for errors found at run time.
    pub spans: indexmap::IndexMap<String, Span>,
    pub kw: Keywords,
    pub gather_facts: Option<Value>,
    pub serial: Option<Value>,
    pub max_fail_percentage: Option<Value>,
    pub force_handlers: Option<Value>,
    pub order: Option<Value>,
    pub strategy: Option<Value>,
    pub vars_files: Vec<Value>,
    pub pre_tasks: Vec<Item>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    pub handlers: Vec<Item>,
}

/// An entry of a task list.
#[derive(Debug, Clone)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

/// `block` / `rescue` / `always`.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: Option<String>,
    pub span: Span,
    pub kw: Keywords,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
}

/// One task (or handler).
#[derive(Debug, Clone)]
pub struct Task {
    pub name: Option<String>,
    /// The module, with `ansible.builtin.` / `ansible.legacy.` taken off.
    pub action: String,
    /// The module's arguments as written (free-form text is under `_raw_params`).
    pub args: Value,
    pub span: Span,
    pub kw: Keywords,
    pub register: Option<String>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub changed_when: Vec<Value>,
    pub failed_when: Vec<Value>,
    /// `loop:` or `with_<lookup>:` (only lists and `with_items`/`with_list`/`with_dict`... that
    /// need no lookup plugin).
    pub loop_: Option<Loop>,
    pub loop_control: LoopControl,
    pub until: Vec<Value>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
}

impl Task {
    /// What Ansible prints in the TASK banner: the name, else the action.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self.action.clone(),
        }
    }
}

/// How a task iterates.
#[derive(Debug, Clone)]
pub struct Loop {
    /// `loop`, `items`, `list`, `dict`, `sequence`, `indexed_items`...
    pub kind: String,
    pub value: Value,
}

#[derive(Debug, Clone, Default)]
pub struct LoopControl {
    pub loop_var: Option<String>,
    pub index_var: Option<String>,
    pub label: Option<Value>,
    pub extended: bool,
    pub pause: Option<Value>,
}
