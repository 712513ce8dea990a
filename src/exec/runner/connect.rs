//! How a host's task reaches its host: the connection settings from its variables, `become`
//! and `environment`.

use super::*;

impl HostJob {
    pub(super) fn become_(&self, scope: &Value) -> Result<Option<Become>, Error> {
        let enabled = match self.kw_in(|k| &k.become_, scope)? {
            Some(v) => template::truthy(&v),
            None => match scope.get_attr("ansible_become") {
                Ok(v) if !v.is_undefined() => template::truthy(&v),
                _ => self.opts.become_,
            },
        };
        if !enabled {
            return Ok(None);
        }
        let text = |v: Option<&Value>, var: &str, default: &str| -> Result<String, Error> {
            if let Some(v) = v {
                return Ok(template::render_value(v, scope)?.to_string());
            }
            match scope.get_attr(var) {
                Ok(v) if !v.is_undefined() && !v.is_none() => Ok(v.to_string()),
                _ => Ok(default.to_string()),
            }
        };
        let default_user = self
            .opts
            .become_user
            .clone()
            .unwrap_or_else(|| "root".into());
        Ok(Some(Become {
            method: text(
                self.kw(|k| &k.become_method),
                "ansible_become_method",
                "sudo",
            )?,
            user: text(
                self.kw(|k| &k.become_user),
                "ansible_become_user",
                &default_user,
            )?,
            flags: match self.kw(|k| &k.become_flags) {
                Some(f) => Some(template::render_value(f, scope)?.to_string()),
                None => None,
            },
        }))
    }

    /// ansible-core skips become when the become user is the connection's user (unless
    /// `ANSIBLE_BECOME_ALLOW_SAME_USER`): `root` sudo to `root`, or a local connection that
    /// already runs as the become user (its user is the controller's, getpass.getuser()).
    pub(super) fn become_for(
        become_: Option<Become>,
        spec: Option<&ConnectSpec>,
    ) -> Option<Become> {
        let b = become_?;
        let allow = std::env::var("ANSIBLE_BECOME_ALLOW_SAME_USER")
            .is_ok_and(|v| matches!(v.to_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        let remote = spec.and_then(|s| match s.transport {
            Transport::Local => ["LOGNAME", "USER", "LNAME", "USERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
                .or_else(|| {
                    use std::os::unix::fs::MetadataExt;
                    let uid = std::fs::metadata("/proc/self").ok()?.uid();
                    crate::template::file::user_name(uid)
                }),
            _ => s.explicit_user.then(|| s.user.clone()),
        });
        if !allow && remote.as_deref() == Some(b.user.as_str()) {
            return None;
        }
        Some(b)
    }

    /// `environment:` from play, blocks and task; the nearest wins per variable.
    pub(super) fn environment(&self, scope: &Value) -> Result<Vec<(String, String)>, Error> {
        let mut env: Vec<(String, String)> = Vec::new();
        for kw in self.chain.iter() {
            let Some(e) = &kw.environment else { continue };
            let e = template::render_value(e, scope)?;
            let maps: Vec<Value> = if e.kind() == ValueKind::Seq {
                e.try_iter().map(|i| i.collect()).unwrap_or_default()
            } else {
                vec![e]
            };
            for m in maps {
                if let Ok(keys) = m.try_iter() {
                    for k in keys {
                        let v = m.get_item(&k).unwrap_or_default();
                        let (k, v) = (k.to_string(), env_text(&v));
                        env.retain(|(name, _)| *name != k);
                        env.push((k, v));
                    }
                }
            }
        }
        Ok(env)
    }

    /// How to reach the host: inventory connection variables, then keywords, then options.
    pub(super) fn connect_spec(&self, scope: &Value) -> Result<ConnectSpec, Error> {
        let var = |name: &str| -> Option<Value> {
            scope
                .get_attr(name)
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
        };
        let text = |name: &str| var(name).map(|v| v.to_string());
        let mut spec = ConnectSpec::new(&self.host);
        let connection = match text("ansible_connection") {
            Some(c) => c,
            None => match self.kw(|k| &k.connection) {
                Some(c) => template::render_value(c, scope)?.to_string(),
                None => self.opts.connection.clone().unwrap_or_else(|| "ssh".into()),
            },
        };
        spec.transport = match connection.as_str() {
            "local" => Transport::Local,
            "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh" => Transport::Ssh,
            other => {
                return Err(Error::new(
                    crate::diagnostics::ErrorKind::Syntax,
                    format!("the connection plugin '{other}' was not found"),
                ));
            }
        };
        if let Some(h) = text("ansible_host").or_else(|| text("ansible_ssh_host")) {
            spec.address = h;
        }
        if let Some(p) = var("ansible_port").or_else(|| var("ansible_ssh_port")) {
            spec.explicit_port = true;
            spec.port = p
                .as_i64()
                .or_else(|| p.to_string().parse().ok())
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| {
                    Error::new(
                        crate::diagnostics::ErrorKind::Syntax,
                        format!("ansible_port '{p}' of {} is not a port number", self.host),
                    )
                })?;
        }
        let user = match text("ansible_user").or_else(|| text("ansible_ssh_user")) {
            Some(u) => Some(u),
            None => match self.kw(|k| &k.remote_user) {
                Some(u) => Some(template::render_value(u, scope)?.to_string()),
                None => self.opts.remote_user.clone(),
            },
        };
        // Unset, ~/.ssh/config's User applies (else the local user), as with ssh.
        spec.explicit_user = user.is_some();
        spec.user = user.unwrap_or(spec.user);
        spec.private_key_file = text("ansible_ssh_private_key_file")
            .or_else(|| text("ansible_private_key_file"))
            .map(|p| expand_home(&p).into())
            .or_else(|| self.opts.private_key.clone());
        let timeout = text("ansible_ssh_timeout")
            .or_else(|| text("ansible_timeout"))
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs);
        spec.explicit_timeout = timeout.is_some();
        spec.connect_timeout = timeout.unwrap_or(self.opts.connect_timeout);
        spec.host_key_checking = match var("ansible_host_key_checking")
            .or_else(|| var("ansible_ssh_host_key_checking"))
        {
            Some(v) => template::truthy(&v),
            None => self.opts.host_key_checking,
        };
        // Passwords, ssh_common_args / ssh_extra_args (-o options, ProxyJump...).
        crate::connection::apply_vars(&mut spec, &text, &self.opts.conn);
        Ok(spec)
    }
}

/// Environment values as the shell gets them: Python's `str()` of the value.
pub(super) fn env_text(v: &Value) -> String {
    match v.kind() {
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_string(),
        ValueKind::None => "None".to_string(),
        _ => v.to_string(),
    }
}

pub(super) fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_string(),
    }
}
