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
    /// Where task files and roles are found, for includes resolved while running.
    pub loader: Arc<super::load::Loader>,
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
    pub delegate_facts: Option<Value>,
    pub throttle: Option<Value>,
    pub timeout: Option<Value>,
    pub tags: Vec<String>,
    /// `module_defaults`: mappings of module name to default arguments, in the order written
    /// (a list of them, or one).
    pub module_defaults: Vec<Value>,
    /// Conditions that must all hold (a block's apply to every task inside it).
    pub when: Vec<Value>,
    pub vars: Arc<Vars>,
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    pub name: String,
    /// The directory of the file the play is written in: its `playbook_dir` (an imported
    /// playbook's own directory).
    pub dir: PathBuf,
    /// The host pattern, already joined when written as a list.
    pub hosts: Value,
    pub span: Span,
    /// Where each play keyword's value was written, for errors found at run time.
    pub spans: indexmap::IndexMap<String, Span>,
    pub kw: Keywords,
    pub gather_facts: Option<Value>,
    /// `gather_subset`, `gather_timeout` and `fact_path`, the implicit fact gathering's
    /// arguments (those the play sets, in that order).
    pub gather_args: Vec<(String, Value)>,
    pub serial: Option<Value>,
    pub max_fail_percentage: Option<Value>,
    pub force_handlers: Option<Value>,
    pub order: Option<Value>,
    pub strategy: Option<Value>,
    pub vars_files: Vec<Value>,
    pub vars_prompt: Vec<VarsPrompt>,
    /// `roles:`, each a block carrying its role (dependencies first).
    pub roles: Vec<Item>,
    /// Defaults and vars of every role of the play, merged in order: Ansible exposes them to the
    /// whole play (roles' vars are not private by default).
    pub role_defaults: Arc<Vars>,
    pub role_vars: Arc<Vars>,
    /// The roles the play names (`roles:`, then `import_role`s), as ansible-core's
    /// `play.roles`: `ansible_play_role_names` (and `role_names`).
    pub role_names: Vec<String>,
    /// The names of every dependency of those roles: `ansible_dependent_role_names`.
    pub dependency_role_names: Vec<String>,
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

/// One `vars_prompt` entry.
#[derive(Debug, Clone)]
pub struct VarsPrompt {
    pub name: String,
    pub prompt: String,
    pub default: Option<Value>,
    pub private: bool,
    pub span: Span,
}

/// A role as the tasks inside it see it.
#[derive(Debug, Clone)]
pub struct RoleCtx {
    pub name: String,
    /// The role's directory: `role_path`, and where `files/` and `templates/` are looked up.
    pub path: std::path::PathBuf,
    pub defaults: Arc<Vars>,
    pub vars: Arc<Vars>,
    /// Role parameters (`- role: x` with `port: 80`), which rank above most variables.
    pub params: Arc<Vars>,
    /// Runs again on a host where it already ran (`allow_duplicates`, or `include_role`).
    pub allow_duplicates: bool,
    /// The role's path and parameters: the same role with the same parameters runs once.
    pub identity: String,
    /// Brought in by `include_role` / `import_role` (not `roles:` or a dependency): inside
    /// another role, it sees that role as a parent (`ansible_parent_role_names`).
    pub included: bool,
}

/// `block` / `rescue` / `always`; also how a role's or an imported file's tasks are held, with
/// the keywords of the `roles:` entry or the import applying to every task inside.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: Option<String>,
    pub span: Span,
    pub kw: Keywords,
    /// Set when this block is a role's tasks (or its handlers).
    pub role: Option<Arc<RoleCtx>>,
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
    /// `async:` (seconds a job may run; above 0, the task runs as an async job) and `poll:`
    /// (seconds between reads of its state; 0 returns at once), as written.
    pub async_: Option<Value>,
    pub poll: Option<Value>,
    /// `include_tasks`/`include_role`'s `apply`: keywords for what the include brings in.
    pub apply: Option<Arc<Apply>>,
}

/// `apply` on an include: a block's keywords around what it brings in.
#[derive(Debug, Clone)]
pub struct Apply {
    pub kw: Keywords,
    /// Given to the included tasks that notify nothing themselves, as a block's `notify`.
    pub notify: Vec<String>,
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

#[derive(Debug, Clone)]
pub struct LoopControl {
    pub loop_var: Option<String>,
    pub index_var: Option<String>,
    pub label: Option<Value>,
    pub extended: bool,
    /// With `extended`: whether `ansible_loop.allitems` is set (ansible-core's default: yes).
    pub extended_allitems: bool,
    /// Seconds between two items (a fraction allowed).
    pub pause: Option<Value>,
    /// Conditions checked after each item: when all hold, the loop stops there.
    pub break_when: Vec<Value>,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: None,
            index_var: None,
            label: None,
            extended: false,
            extended_allitems: true,
            pause: None,
            break_when: Vec::new(),
        }
    }
}
