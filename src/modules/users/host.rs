//! What `user` runs on the host besides the account commands: the one query that reads the
//! account (passwd, shadow, groups, home, SSH key) and its parse, the home directory script and
//! the script after the change (SSH key, password expiry, read-back).

use super::*;

/// What the first round trip read.
#[derive(Debug, Default)]
pub(super) struct UserState {
    pub(super) passwd: Option<Passwd>,
    pub(super) shadow: Option<Shadow>,
    /// Group lookups by the spec asked for (name or gid).
    pub(super) groups: Vec<(String, GroupEntry)>,
    /// Groups listing the user as a member: (name, gid).
    pub(super) member_of: Vec<GroupEntry>,
    pub(super) hostname: String,
    pub(super) home_exists: bool,
    pub(super) key_exists: bool,
    pub(super) pub_exists: bool,
    pub(super) ssh_dir_exists: bool,
    pub(super) fingerprint: Option<Run>,
    pub(super) public_key: Option<String>,
}

impl UserState {
    pub(super) fn group(&self, spec: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|(s, _)| s == spec).map(|(_, g)| g)
    }
}

/// The SSH key file: absolute, or relative to the home directory.
pub(super) fn key_path(p: &UserParams, home: &str) -> String {
    let file = p
        .ssh_key_file
        .clone()
        .unwrap_or_else(|| format!(".ssh/id_{}", p.ssh_key_type));
    if file.starts_with('/') {
        file
    } else {
        format!("{}/{file}", home.trim_end_matches('/'))
    }
}

pub(super) fn query_script(p: &UserParams) -> String {
    let mut specs: Vec<String> = vec![p.name.clone()];
    specs.extend(p.group.clone());
    for g in p.groups.iter().flatten() {
        let g = g.trim();
        if !g.is_empty() {
            specs.push(g.to_string());
        }
    }
    let given_home = p.home.as_deref().map(shell_quote).unwrap_or_default();
    let mut s = format!(
        "n={n}\n\
         e=$(getent passwd \"$n\") && printf 'P=%s\\n' \"$e\"\n\
         s=$(getent shadow \"$n\" 2>/dev/null) && printf 'S=%s\\n' \"$s\"\n\
         for g in {specs}; do l=$(getent group \"$g\") && printf 'Q=%s\\t%s\\n' \"$g\" \"$l\"; done\n\
         getent group | awk -F: -v u=\"$n\" '{{k=split($4,m,\",\"); for(i=1;i<=k;i++) if(m[i]==u) print \"M=\" $1 \":x:\" $3}}'\n\
         printf 'HN=%s\\n' \"$(hostname)\"\n\
         h={given_home}; [ -n \"$h\" ] || h=$(printf '%s' \"$e\" | cut -d: -f6)\n\
         [ -n \"$h\" ] && [ -e \"$h\" ] && echo HE=1\n",
        n = shell_quote(&p.name),
        specs = argv(&specs),
    );
    if p.generate_ssh_key {
        // get_ssh_key_path: relative to the home the account has now.
        let key = key_path(p, "@HOME@");
        let key = match key.strip_prefix("@HOME@") {
            Some(rest) => format!(
                "\"$(printf '%s' \"$e\" | cut -d: -f6)\"{}",
                shell_quote(rest)
            ),
            None => shell_quote(&key),
        };
        s.push_str(&format!(
            "k={key}\n\
             [ -e \"$k\" ] && echo SK=1\n\
             [ -e \"$k.pub\" ] && echo SP=1\n\
             [ -d \"$(dirname \"$k\")\" ] && echo SD=1\n\
             if [ -e \"$k\" ]; then f=$(ssh-keygen -l -f \"$k\" 2>&1); fr=$?; {fp}; echo FPRC=$fr; {pk}; printf '%s' \"$f\"; {pub}; cat \"$k.pub\" 2>/dev/null; fi\n",
            fp = section("fp"),
            pk = section("fpout"),
            pub = section("pub"),
        ));
    }
    s
}

pub(super) fn parse_user_state(out: &str) -> UserState {
    let secs = sections(out);
    let mut st = UserState::default();
    for line in secs[""].lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "P" => st.passwd = Passwd::parse(v),
            "S" => st.shadow = Shadow::parse(v),
            "Q" => {
                if let Some((spec, entry)) = v.split_once('\t')
                    && let Some(g) = parse_group(entry)
                {
                    st.groups.push((spec.to_string(), g));
                }
            }
            "M" => st.member_of.extend(parse_group(v)),
            "HN" => st.hostname = v.to_string(),
            "HE" => st.home_exists = true,
            "SK" => st.key_exists = true,
            "SP" => st.pub_exists = true,
            "SD" => st.ssh_dir_exists = true,
            _ => {}
        }
    }
    if let Some(fp) = secs.get("fp") {
        let rc = kv(fp).get("FPRC").and_then(|r| r.parse().ok()).unwrap_or(1);
        st.fingerprint = Some(Run {
            rc,
            stdout: secs.get("fpout").cloned().unwrap_or_default(),
            stderr: String::new(),
        });
    }
    if let Some(pk) = secs.get("pub") {
        st.public_key = Some(pk.trim().to_string());
    }
    st
}

/// Creates a missing home directory as create_homedir + chown_homedir do: a copy of the
/// skeleton, mode from HOME_MODE or UMASK of /etc/login.defs, owned by the user.
pub(super) fn homedir_script(p: &UserParams) -> String {
    let skel = p.skeleton.clone().unwrap_or_else(|| "/etc/skel".into());
    format!(
        "if [ -e {skel} ] && [ {skel} != /dev/null ]; then mkdir -p \"$(dirname \"$h\")\" && cp -a {skel} \"$h\"; else mkdir -p \"$h\"; fi && \
         if [ -f /etc/login.defs ]; then \
           m=$(awk '/^HOME_MODE[ \\t]+[0-9]+$/ {{print $2; exit}}' /etc/login.defs); \
           if [ -z \"$m\" ]; then u=$(awk '/^UMASK[ \\t]+[0-9]+$/ {{v=$2}} END {{print v}}' /etc/login.defs); \
             if [ -n \"$u\" ]; then m=$(printf '%o' $(( 0777 & ~0$u ))); else m=755; fi; fi; \
           chmod \"$m\" \"$h\"; fi",
        skel = shell_quote(&skel),
    )
}

/// After the main command (or without one): the missing home, the SSH key and `chage`, then
/// the account as it is now. Runs only outside check mode.
pub(super) fn post_script(p: &UserParams) -> String {
    let mut s = format!(
        "n={n}\ne=$(getent passwd \"$n\")\nh={home}; [ -n \"$h\" ] || h=$(printf '%s' \"$e\" | cut -d: -f6)\n\
         ug=$(printf '%s' \"$e\" | cut -d: -f3,4)\n",
        n = shell_quote(&p.name),
        home = p.home.as_deref().map(shell_quote).unwrap_or_default(),
    );
    if p.create_home {
        s.push_str(&format!(
            "if [ -n \"$e\" ] && [ ! -e \"$h\" ]; then {}; chown -R \"$ug\" \"$h\"; echo HOMECREATED=1; fi\n",
            homedir_script(p)
        ));
    }
    if p.generate_ssh_key {
        let key = key_path(p, "@HOME@");
        let key = match key.strip_prefix("@HOME@") {
            Some(rest) => {
                format!(
                    "\"$(getent passwd \"$n\" | cut -d: -f6)\"{}",
                    shell_quote(rest)
                )
            }
            None => shell_quote(&key),
        };
        let comment = p
            .ssh_key_comment
            .clone()
            .unwrap_or_else(|| "ansible-generated on $(hostname)".into());
        let comment = if p.ssh_key_comment.is_none() {
            "\"ansible-generated on $(hostname)\"".to_string()
        } else {
            shell_quote(&comment)
        };
        let mut keygen = vec![
            "ssh-keygen".to_string(),
            "-t".into(),
            p.ssh_key_type.clone(),
        ];
        if p.ssh_key_bits > 0 {
            keygen.push("-b".into());
            keygen.push(p.ssh_key_bits.to_string());
        }
        // A passphrase never goes on ssh-keygen's command line (every local user can read
        // those): ssh-keygen asks an askpass program for it, a script in the private
        // directory (readable by the user the task runs as only). DISPLAY makes OpenSSH
        // before 8.4 use it too.
        let passphrase = p.ssh_key_passphrase.clone().unwrap_or_default();
        let (askpass, pass) = if passphrase.is_empty() {
            (String::new(), "-N ''".to_string())
        } else {
            let program = format!("#!/bin/sh\nprintf '%s\\n' {}\n", shell_quote(&passphrase));
            (
                format!(
                    "printf '%s' {} > \"$T/askpass\" && chmod 0700 \"$T/askpass\"\n",
                    shell_quote(&program)
                ),
                String::new(),
            )
        };
        let keygen_cmd = if passphrase.is_empty() {
            argv(&keygen)
        } else {
            format!(
                "DISPLAY=${{DISPLAY:-baton}} SSH_ASKPASS=\"$T/askpass\" SSH_ASKPASS_REQUIRE=force {}",
                argv(&keygen)
            )
        };
        s.push_str(&format!(
            "k={key}\n\
             kd=$(dirname \"$k\")\n\
             if [ ! -d \"$kd\" ]; then mkdir -m 0700 \"$kd\" && chown \"$ug\" \"$kd\" || {{ echo \"KEYERR=Failed to create $kd\"; }}; fi\n\
             go=1\n\
             if [ -e \"$k\" ]; then if [ {force} = 1 ]; then ov=y; else go=0; fi; fi\n\
             if [ $go = 1 ] && [ -e \"$k.pub\" ]; then if [ {force} = 1 ]; then rm -f \"$k.pub\"; else go=0; fi; fi\n\
             if [ $go = 1 ]; then\n\
               {sec_gen}\n\
               {askpass}printf '%s\\n' \"${{ov:-}}\" | {keygen_cmd} -C {comment} -f \"$k\" {pass} >\"$T/kg\" 2>&1; krc=$?\n\
               cat \"$T/kg\"\n\
               {sec_rc}; echo $krc\n\
               [ $krc = 0 ] && chown \"$ug\" \"$k\" \"$k.pub\"\n\
             fi\n\
             {sec_fp}\n\
             if [ -e \"$k\" ]; then f=$(ssh-keygen -l -f \"$k\" 2>&1); fr=$?; printf '%s\\n' \"$f\"; echo \"FPRC=$fr\"; else echo FPRC=1; fi\n\
             {sec_pub}\n\
             cat \"$k.pub\" 2>/dev/null; printf '\\nKF=%s\\n' \"$k\"\n\
             {sec_main}\n",
            force = if p.force { 1 } else { 0 },

            sec_gen = section("keygen"),
            sec_rc = section("keygen_rc"),
            sec_fp = section("fp"),
            sec_pub = section("pub"),
            sec_main = section("post"),
        ));
    }
    let chage_vals = [
        (p.password_expire_min, "-m", 4),
        (p.password_expire_max, "-M", 5),
        (p.password_expire_warn, "-W", 6),
    ];
    if chage_vals.iter().any(|(v, _, _)| v.is_some()) {
        s.push_str("sh=$(getent shadow \"$n\"); set --\n");
        for (v, flag, field) in chage_vals {
            if let Some(v) = v {
                s.push_str(&format!(
                    "c=$(printf '%s' \"$sh\" | cut -d: -f{field}); [ -n \"$c\" ] || c=-1; [ \"$c\" = {v} ] || set -- \"$@\" {flag} {v}\n"
                ));
            }
        }
        s.push_str(
            "if [ $# -gt 0 ] && [ -n \"$sh\" ]; then chage \"$@\" \"$n\" >\"$T/ch\" 2>&1; echo CHAGERC=$?; echo CHAGEOUT=$(tr '\\n' ' ' < \"$T/ch\"); fi\n"
        );
    }
    s.push_str(&format!(
        "{}\ngetent passwd \"$n\" | sed 's/^/P=/'\n",
        section("info")
    ));
    s
}
