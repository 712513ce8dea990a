//! The configuration that changes how templates behave (ansible-core's `_TemplateConfig`):
//! fixed once when a command starts, from ansible.cfg and `ANSIBLE_*` variables, and read by
//! templating wherever it is (deep inside minijinja's calls, where no run is in reach).

use std::sync::OnceLock;

/// Template settings of this process.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `ALLOW_BROKEN_CONDITIONALS`: a conditional whose result is not a boolean is read for its
    /// truth (and an empty one is true), with a deprecation warning, instead of failing.
    pub allow_broken_conditionals: bool,
    /// `DEFAULT_MANAGED_STR` (`[defaults] ansible_managed`): the text of `ansible_managed`.
    pub managed_str: Option<String>,
    /// `DEFAULT_PRIVATE_ROLE_VARS` (`[defaults] private_role_vars`, `ANSIBLE_PRIVATE_ROLE_VARS`),
    /// None when not configured: whether a role's defaults and vars stay the role's own. Read by
    /// the `config` lookup and by the loading of roles (`crate::playbook::role::role_public`).
    pub private_role_vars: Option<bool>,
}

impl Settings {
    /// The `ansible_managed` text before it is formatted (ansible's default, "Ansible managed").
    pub fn ansible_managed(&self) -> &str {
        self.managed_str.as_deref().unwrap_or("Ansible managed")
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Fixes the settings for this process; only the first call counts (a command makes it once,
/// before anything is templated).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The settings in force: those configured, or ansible's defaults.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}
