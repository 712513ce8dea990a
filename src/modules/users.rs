//! `user` and `group`: local accounts through shadow-utils (useradd/usermod/userdel,
//! groupadd/groupmod/groupdel, chage, ssh-keygen), deciding what to change exactly as
//! ansible-core's modules do (lib/ansible/modules/{user,group}.py, the Linux code paths).
//!
//! One round trip reads the account (`getent passwd/shadow/group`); only when something must
//! change does a second one run the command and read the account back. Check mode stops after
//! the first and predicts `changed` the way Ansible does (a new account reports nothing but
//! `changed: true`).

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, Run, argv, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, python_type,
    shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use std::collections::BTreeSet;

pub struct User;
pub struct Group;

static USER: Spec = Spec {
    names: &["user"],
    params: &[&[
        Param::str("state")
            .choices(&["absent", "present"])
            .default_str("present"),
        Param::str("name").required().aliases(&["user"]),
        Param::int("uid"),
        Param::bool("non_unique").default_bool(false),
        Param::str("group"),
        Param::list("groups"),
        Param::str("comment"),
        Param::str("home"),
        Param::str("shell"),
        Param::str("password"),
        Param::int("password_expire_max"),
        Param::int("password_expire_min"),
        Param::int("password_expire_warn"),
        Param::str("seuser"),
        Param::bool("force").default_bool(false),
        Param::bool("remove").default_bool(false),
        Param::bool("create_home")
            .aliases(&["createhome"])
            .default_bool(true),
        Param::str("skeleton"),
        Param::bool("system").default_bool(false),
        Param::bool("move_home").default_bool(false),
        Param::bool("append").default_bool(false),
        Param::bool("generate_ssh_key").default_bool(false),
        Param::int("ssh_key_bits").default_int(0),
        Param::str("ssh_key_type").default_str("rsa"),
        Param::str("ssh_key_file"),
        Param::str("ssh_key_comment"),
        Param::str("ssh_key_passphrase"),
        Param::str("update_password")
            .choices(&["always", "on_create"])
            .default_str("always"),
        Param::any("expires"),
        Param::bool("password_lock"),
        Param::str("umask"),
        Param::int("password_expire_account_disable"),
        Param::int("uid_min"),
        Param::int("uid_max"),
        Param::bool("local").default_bool(false),
        Param::str("login_class"),
        Param::bool("hidden"),
        Param::str("profile"),
        Param::str("authorization"),
        Param::str("role"),
    ]],
    ..Spec::BASE
};

static GROUP: Spec = Spec {
    names: &["group"],
    params: &[&[
        Param::str("state")
            .choices(&["absent", "present"])
            .default_str("present"),
        Param::str("name").required(),
        Param::bool("force").default_bool(false),
        Param::int("gid"),
        Param::bool("system").default_bool(false),
        Param::bool("local").default_bool(false),
        Param::bool("non_unique").default_bool(false),
        Param::int("gid_min"),
        Param::int("gid_max"),
    ]],
    ..Spec::BASE
};

impl Module for User {
    fn spec(&self) -> &'static Spec {
        &USER
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_user(args, ctx))
    }
}

impl Module for Group {
    fn spec(&self) -> &'static Spec {
        &GROUP
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_group(args, ctx))
    }
}

/// A `passwd` entry.
#[derive(Debug, Clone, Default, PartialEq)]
struct Passwd {
    name: String,
    uid: i64,
    gid: i64,
    gecos: String,
    home: String,
    shell: String,
}

impl Passwd {
    fn parse(line: &str) -> Option<Passwd> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 7 {
            return None;
        }
        Some(Passwd {
            name: f[0].to_string(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            gecos: f[4].to_string(),
            home: f[5].to_string(),
            shell: f[6].to_string(),
        })
    }
}

/// A `shadow` entry's fields the module looks at; empty numbers read as -1 (glibc's getspnam).
#[derive(Debug, Clone, Default)]
struct Shadow {
    password: String,
    min: i64,
    max: i64,
    warn: i64,
    expire: i64,
}

impl Shadow {
    fn parse(line: &str) -> Option<Shadow> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 8 {
            return None;
        }
        let num = |s: &str| s.parse::<i64>().unwrap_or(-1);
        Some(Shadow {
            password: f[1].to_string(),
            min: num(f[3]),
            max: num(f[4]),
            warn: num(f[5]),
            expire: num(f[7]),
        })
    }
}

/// A `group` entry.
#[derive(Debug, Clone, PartialEq)]
struct GroupEntry {
    name: String,
    gid: i64,
}

fn parse_group(line: &str) -> Option<GroupEntry> {
    let f: Vec<&str> = line.split(':').collect();
    (f.len() >= 3).then(|| GroupEntry {
        name: f[0].to_string(),
        gid: f[2].parse().unwrap_or(-1),
    })
}

/// The parameters of `user`.
#[derive(Debug, Default)]
struct UserParams {
    state: String,
    name: String,
    uid: Option<i64>,
    non_unique: bool,
    group: Option<String>,
    groups: Option<Vec<String>>,
    comment: Option<String>,
    home: Option<String>,
    shell: Option<String>,
    password: Option<String>,
    password_expire_max: Option<i64>,
    password_expire_min: Option<i64>,
    password_expire_warn: Option<i64>,
    seuser: Option<String>,
    force: bool,
    remove: bool,
    create_home: bool,
    skeleton: Option<String>,
    system: bool,
    move_home: bool,
    append: bool,
    generate_ssh_key: bool,
    ssh_key_bits: i64,
    ssh_key_type: String,
    ssh_key_file: Option<String>,
    ssh_key_comment: Option<String>,
    ssh_key_passphrase: Option<String>,
    update_password: String,
    expires: Option<f64>,
    password_lock: Option<bool>,
    umask: Option<String>,
    inactive: Option<i64>,
    uid_min: Option<i64>,
    uid_max: Option<i64>,
}

fn float_arg(args: &mut Args, name: &'static str) -> Result<Option<f64>, ModuleError> {
    let Some(v) = args.raw(name) else {
        return Ok(None);
    };
    if v.kind() == ValueKind::Number {
        return Ok(v.to_string().parse().ok());
    }
    match v.as_str().and_then(|s| s.trim().parse::<f64>().ok()) {
        Some(f) => Ok(Some(f)),
        None => Err(ModuleError::Failed(format!(
            "argument '{name}' is of type {} and we were unable to convert to float: {} cannot be converted to a float",
            python_type(&v),
            python_type(&v)
        ))),
    }
}

fn read_user_params(mut args: Args) -> Result<UserParams, ModuleError> {
    let p = UserParams {
        state: args.str("state")?.unwrap_or_else(|| "present".into()),
        name: args.required_str("name")?,
        uid: args.int("uid")?,
        non_unique: args.bool("non_unique")?.unwrap_or(false),
        group: args.str("group")?,
        groups: args.list("groups")?.map(|l| sysutil::strings(&l)),
        comment: args.str("comment")?,
        home: args.str("home")?,
        shell: args.str("shell")?,
        password: args.str("password")?,
        password_expire_max: args.int("password_expire_max")?,
        password_expire_min: args.int("password_expire_min")?,
        password_expire_warn: args.int("password_expire_warn")?,
        seuser: args.str("seuser")?,
        force: args.bool("force")?.unwrap_or(false),
        remove: args.bool("remove")?.unwrap_or(false),
        create_home: args.bool("create_home")?.unwrap_or(true),
        skeleton: args.str("skeleton")?,
        system: args.bool("system")?.unwrap_or(false),
        move_home: args.bool("move_home")?.unwrap_or(false),
        append: args.bool("append")?.unwrap_or(false),
        generate_ssh_key: args.bool("generate_ssh_key")?.unwrap_or(false),
        ssh_key_bits: args.int("ssh_key_bits")?.unwrap_or(0),
        ssh_key_type: args.str("ssh_key_type")?.unwrap_or_else(|| "rsa".into()),
        ssh_key_file: args.str("ssh_key_file")?,
        ssh_key_comment: args.str("ssh_key_comment")?,
        ssh_key_passphrase: args.str("ssh_key_passphrase")?,
        update_password: args
            .str("update_password")?
            .unwrap_or_else(|| "always".into()),
        expires: float_arg(&mut args, "expires")?,
        password_lock: args.bool("password_lock")?,
        umask: args.str("umask")?,
        inactive: args.int("password_expire_account_disable")?,
        uid_min: args.int("uid_min")?,
        uid_max: args.int("uid_max")?,
    };
    let local = args.bool("local")?.unwrap_or(false);
    // Accepted as Ansible accepts them; they only matter on other platforms (macOS, Solaris,
    // BSD login classes), which baton does not target.
    let _ = args.str("login_class")?;
    let _ = args.bool("hidden")?;
    let _ = args.str("profile")?;
    let _ = args.str("authorization")?;
    let _ = args.str("role")?;
    if local {
        if p.umask.is_some() {
            return Err(ModuleError::Failed(
                "'umask' can not be used with 'local'".into(),
            ));
        }
        // luseradd/lusermod (libuser) are not shadow-utils; Debian does not ship them.
        return Err(ModuleError::Failed(
            "'local: true' needs libuser's luseradd/lusermod, which baton's user module does not drive yet".into(),
        ));
    }
    Ok(p)
}

/// What the first round trip read.
#[derive(Debug, Default)]
struct UserState {
    passwd: Option<Passwd>,
    shadow: Option<Shadow>,
    /// Group lookups by the spec asked for (name or gid).
    groups: Vec<(String, GroupEntry)>,
    /// Groups listing the user as a member: (name, gid).
    member_of: Vec<GroupEntry>,
    hostname: String,
    home_exists: bool,
    key_exists: bool,
    pub_exists: bool,
    ssh_dir_exists: bool,
    fingerprint: Option<Run>,
    public_key: Option<String>,
}

impl UserState {
    fn group(&self, spec: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|(s, _)| s == spec).map(|(_, g)| g)
    }
}

/// The SSH key file: absolute, or relative to the home directory.
fn key_path(p: &UserParams, home: &str) -> String {
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

fn query_script(p: &UserParams) -> String {
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

fn parse_user_state(out: &str) -> UserState {
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

/// `time.gmtime(expires)` as (days since the epoch, "YYYY-MM-DD"); `None` before 1970.
fn expires_date(expires: f64) -> Option<(i64, String)> {
    if expires < 0.0 {
        return None;
    }
    let days = (expires.floor() as i64).div_euclid(86400);
    let (y, m, d) = super::command::civil_from_days(days);
    Some((days, format!("{y:04}-{m:02}-{d:02}")))
}

/// `useradd`'s command line (create_user_useradd).
fn useradd_cmd(p: &UserParams, st: &UserState) -> Result<Vec<String>, String> {
    let mut cmd = vec!["useradd".to_string()];
    if let Some(uid) = p.uid {
        cmd.push("-u".into());
        cmd.push(uid.to_string());
        if p.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(se) = &p.seuser {
        cmd.push("-Z".into());
        cmd.push(se.clone());
    }
    if let Some(g) = &p.group {
        if st.group(g).is_none() {
            return Err(format!("Group {g} does not exist"));
        }
        cmd.push("-g".into());
        cmd.push(g.clone());
    } else if st.group(&p.name).is_some() {
        // A group of the user's name exists: -N, or useradd (USERGROUPS_ENAB) fails.
        cmd.push("-N".into());
    }
    if let Some(groups) = &p.groups {
        let set = groups_set(groups);
        if !set.is_empty() {
            for g in &set {
                if st.group(g).is_none() {
                    return Err(format!("Group {g} does not exist"));
                }
            }
            cmd.push("-G".into());
            cmd.push(set.into_iter().collect::<Vec<_>>().join(","));
        }
    }
    if let Some(c) = &p.comment {
        cmd.push("-c".into());
        cmd.push(c.clone());
    }
    if let Some(h) = &p.home {
        cmd.push("-d".into());
        cmd.push(h.clone());
    }
    if let Some(s) = &p.shell {
        cmd.push("-s".into());
        cmd.push(s.clone());
    }
    if let Some(e) = p.expires {
        cmd.push("-e".into());
        cmd.push(expires_date(e).map(|(_, d)| d).unwrap_or_default());
    }
    if let Some(i) = p.inactive {
        cmd.push("-f".into());
        cmd.push(i.to_string());
    }
    if let Some(pw) = &p.password {
        cmd.push("-p".into());
        cmd.push(if p.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if p.create_home {
        cmd.push("-m".into());
        if let Some(k) = &p.skeleton {
            cmd.push("-k".into());
            cmd.push(k.clone());
        }
        if let Some(u) = &p.umask {
            cmd.push("-K".into());
            cmd.push(format!("UMASK={u}"));
        }
    } else {
        cmd.push("-M".into());
    }
    if p.system {
        cmd.push("-r".into());
    }
    if let Some(u) = p.uid_min {
        cmd.push("-K".into());
        cmd.push(format!("UID_MIN={u}"));
    }
    if let Some(u) = p.uid_max {
        cmd.push("-K".into());
        cmd.push(format!("UID_MAX={u}"));
    }
    cmd.push(p.name.clone());
    Ok(cmd)
}

/// Takes `-p HASH` out of a useradd or usermod command line: the hash is set with
/// `chpasswd -e` from standard input instead.
fn password_off_the_command_line(cmd: &[String]) -> (Vec<String>, Option<String>) {
    let mut rest = Vec::with_capacity(cmd.len());
    let mut hash = None;
    let mut words = cmd.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-p" => hash = words.next().cloned(),
            // Options whose value follows (a comment may well be "-p").
            "-u" | "-g" | "-G" | "-c" | "-d" | "-s" | "-e" | "-f" | "-k" | "-K" => {
                rest.push(w.clone());
                rest.extend(words.next().cloned());
            }
            _ => rest.push(w.clone()),
        }
    }
    (rest, hash)
}

/// The group names of the `groups` parameter (the module joins the list with commas and
/// splits it again, dropping empty items).
fn groups_set(groups: &[String]) -> BTreeSet<String> {
    groups
        .join(",")
        .split(',')
        .filter(|g| !g.is_empty())
        .map(|g| g.trim().to_string())
        .collect()
}

/// `usermod`'s command line, or `None` when nothing differs (modify_user_usermod).
fn usermod_cmd(p: &UserParams, st: &UserState) -> Result<Option<Vec<String>>, String> {
    let info = st.passwd.clone().unwrap_or_default();
    // user_info(): a one-character password field ('x') is replaced by the shadow entry's.
    let password_field = st
        .shadow
        .as_ref()
        .map(|s| s.password.clone())
        .unwrap_or_default();
    let mut cmd = vec!["usermod".to_string()];
    if let Some(uid) = p.uid
        && info.uid != uid
    {
        cmd.push("-u".into());
        cmd.push(uid.to_string());
        if p.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &p.group {
        let Some(ginfo) = st.group(g) else {
            return Err(format!("Group {g} does not exist"));
        };
        if info.gid != ginfo.gid {
            cmd.push("-g".into());
            cmd.push(ginfo.gid.to_string());
        }
    }
    if let Some(groups) = &p.groups {
        // All groups listing the user, the primary one included.
        let current: BTreeSet<String> = st.member_of.iter().map(|g| g.name.clone()).collect();
        let joined = groups.join(",");
        let mut need = false;
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        if joined.is_empty() {
            if !current.is_empty() && !p.append {
                need = true;
            }
        } else {
            for g in groups_set(groups) {
                let Some(gi) = st.group(&g) else {
                    return Err(format!("Group {g} does not exist"));
                };
                wanted.insert(gi.name.clone());
            }
            let diff: BTreeSet<&String> = current.symmetric_difference(&wanted).collect();
            if !diff.is_empty() {
                if p.append {
                    if wanted.iter().any(|g| diff.contains(g)) {
                        cmd.push("-a".into());
                        need = true;
                    }
                } else {
                    need = true;
                }
            }
        }
        if need {
            cmd.push("-G".into());
            cmd.push(wanted.into_iter().collect::<Vec<_>>().join(","));
        }
    }
    if let Some(c) = &p.comment
        && info.gecos != *c
    {
        cmd.push("-c".into());
        cmd.push(c.clone());
    }
    if let Some(h) = &p.home
        && info.home != *h
    {
        cmd.push("-d".into());
        cmd.push(h.clone());
        if p.move_home {
            cmd.push("-m".into());
        }
    }
    if let Some(s) = &p.shell
        && info.shell != *s
    {
        cmd.push("-s".into());
        cmd.push(s.clone());
    }
    if let Some(e) = p.expires {
        let current = st.shadow.as_ref().map(|s| s.expire).unwrap_or(-1);
        match expires_date(e) {
            None => {
                if current >= 0 {
                    cmd.push("-e".into());
                    cmd.push(String::new());
                }
            }
            Some((days, date)) => {
                if current < 0 || current != days {
                    cmd.push("-e".into());
                    cmd.push(date);
                }
            }
        }
    }
    if let Some(i) = p.inactive {
        cmd.push("-f".into());
        cmd.push(i.to_string());
    }
    let locked = password_field.starts_with('!');
    if p.password_lock == Some(true) && !locked {
        cmd.push("-L".into());
    } else if p.password_lock == Some(false) && locked {
        cmd.push("-U".into());
    }
    if p.update_password == "always"
        && let Some(pw) = &p.password
        && password_field.trim_start_matches('!') != pw.trim_start_matches('!')
    {
        cmd.retain(|c| c != "-U" && c != "-L");
        cmd.push("-p".into());
        cmd.push(if p.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if cmd.len() == 1 {
        return Ok(None);
    }
    cmd.push(p.name.clone());
    Ok(Some(cmd))
}

/// The `chage` flags that differ from the shadow entry, if any.
fn chage_flags(p: &UserParams, shadow: Option<&Shadow>) -> Vec<String> {
    let Some(sh) = shadow else {
        return Vec::new();
    };
    let mut flags = Vec::new();
    for (want, have, flag) in [
        (p.password_expire_min, sh.min, "-m"),
        (p.password_expire_max, sh.max, "-M"),
        (p.password_expire_warn, sh.warn, "-W"),
    ] {
        if let Some(w) = want
            && w != have
        {
            flags.push(flag.to_string());
            flags.push(w.to_string());
        }
    }
    flags
}

/// Creates a missing home directory as create_homedir + chown_homedir do: a copy of the
/// skeleton, mode from HOME_MODE or UMASK of /etc/login.defs, owned by the user.
fn homedir_script(p: &UserParams) -> String {
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
fn post_script(p: &UserParams) -> String {
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

fn info_into(r: &mut Vars, pw: &Passwd) {
    r.insert("uid".into(), Value::from(pw.uid));
    r.insert("group".into(), Value::from(pw.gid));
    r.insert("comment".into(), Value::from(pw.gecos.as_str()));
    r.insert("home".into(), Value::from(pw.home.as_str()));
    r.insert("shell".into(), Value::from(pw.shell.as_str()));
}

async fn run_user(args: Args, ctx: &ModuleCtx) -> MapResult {
    let p = read_user_params(args)?;
    let q = sysutil::run(ctx, &query_script(&p)).await?;
    if q.rc != 0 && q.stdout.is_empty() {
        return Err(ModuleError::Failed(format!(
            "reading the account failed: {}",
            q.stderr.trim()
        )));
    }
    let st = parse_user_state(&q.stdout);
    let mut r = Vars::new();
    r.insert("name".into(), Value::from(p.name.as_str()));
    r.insert("state".into(), Value::from(p.state.as_str()));
    let exists = st.passwd.is_some();
    let fail = |msg: String, rc: Option<i32>| {
        let mut extra = vec![("name", Value::from(p.name.as_str()))];
        if let Some(rc) = rc {
            extra.push(("rc", Value::from(rc)));
        }
        Ok(sysutil::failed(msg, extra))
    };

    if p.state == "absent" {
        if !exists {
            r.insert("changed".into(), Value::from(false));
            return Ok(r);
        }
        if ctx.check_mode {
            return Ok(super::result([("changed", Value::from(true))]));
        }
        let mut cmd = vec!["userdel".to_string()];
        if p.force {
            cmd.push("-f".into());
        }
        if p.remove {
            cmd.push("-r".into());
        }
        cmd.push(p.name.clone());
        let out = sysutil::run(ctx, &argv(&cmd)).await?;
        if out.rc != 0 {
            return fail(out.stderr, Some(out.rc));
        }
        r.insert("force".into(), Value::from(p.force));
        r.insert("remove".into(), Value::from(p.remove));
        r.insert("changed".into(), Value::from(true));
        std_into(&mut r, &out);
        return Ok(r);
    }

    // state=present
    let mut changed;
    let mut main: Option<Vec<String>> = None;
    if !exists {
        if ctx.check_mode {
            return Ok(super::result([("changed", Value::from(true))]));
        }
        main = Some(match useradd_cmd(&p, &st) {
            Ok(c) => c,
            Err(m) => return fail(m, None),
        });
        changed = true;
    } else {
        match usermod_cmd(&p, &st) {
            Ok(c) => {
                changed = c.is_some();
                if !ctx.check_mode {
                    main = c;
                }
            }
            Err(m) => return fail(m, None),
        }
    }

    if ctx.check_mode {
        // Existing account: predict the rest from what the first round trip read.
        r.insert("append".into(), Value::from(p.append));
        r.insert("move_home".into(), Value::from(p.move_home));
        if p.password.is_some() {
            r.insert("password".into(), Value::from("NOT_LOGGING_PASSWORD"));
        }
        let pw = st.passwd.clone().unwrap_or_default();
        info_into(&mut r, &pw);
        if let Some(g) = &p.groups {
            r.insert("groups".into(), Value::from(g.join(",")));
        }
        if !st.home_exists && p.create_home {
            changed = true;
        }
        if p.generate_ssh_key {
            if !st.key_exists && (!st.pub_exists || p.force) {
                changed = true;
            }
            let fp = st.fingerprint.clone().unwrap_or_default();
            r.insert(
                "ssh_fingerprint".into(),
                Value::from(if st.fingerprint.is_some() && fp.rc == 0 {
                    fp.stdout.trim().to_string()
                } else {
                    String::new()
                }),
            );
            let home = p.home.clone().unwrap_or(pw.home.clone());
            r.insert("ssh_key_file".into(), Value::from(key_path(&p, &home)));
            r.insert(
                "ssh_public_key".into(),
                st.public_key
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::from(())),
            );
        }
        if !chage_flags(&p, st.shadow.as_ref()).is_empty() {
            changed = true;
        }
        r.insert("changed".into(), Value::from(changed));
        return Ok(r);
    }

    // One more round trip: the command (if any), then the rest, then the account as it is.
    // Scratch files (command output, a note for later in the script) live in a private
    // directory.
    let mut script = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?;
    if let Some(cmd) = &main {
        // useradd cannot create a home whose parent is missing: the module creates the home
        // itself first (and chowns it afterwards).
        if !exists
            && p.create_home
            && let Some(h) = &p.home
        {
            script.push_str(&format!(
                "h={}; if [ ! -d \"$(dirname \"$h\")\" ]; then {}; echo PARENTS=1 >\"$T/up\"; fi\n",
                shell_quote(h),
                homedir_script(&p)
            ));
        }
        // The password hash never goes on useradd's or usermod's command line (every local
        // user can read those): chpasswd reads it on its standard input.
        let (cmd, hash) = password_off_the_command_line(cmd);
        let run = match cmd.len() {
            // usermod with nothing left to change but the password.
            ..=2 if cmd.first().map(String::as_str) == Some("usermod") => "rc=0".to_string(),
            _ => format!("{}; rc=$?", argv(&cmd)),
        };
        let set_password = match &hash {
            Some(h) => format!(
                "if [ $rc = 0 ]; then printf '%s:%s\\n' {} {} | chpasswd -e; rc=$?; fi\n",
                shell_quote(&p.name),
                shell_quote(h)
            ),
            None => String::new(),
        };
        script.push_str(&format!(
            "{run}\n{set_password}{}\necho RC=$rc\n[ $rc = 0 ] || exit 0\n",
            section("rc")
        ));
        if !exists && p.create_home && p.home.is_some() {
            script.push_str(
                "if [ -e \"$T/up\" ]; then chown -R \"$(getent passwd \"$n\" | cut -d: -f3,4)\" \"$h\"; fi\n"
                    .replace("$n", &shell_quote(&p.name))
                    .as_str(),
            );
        }
    }
    script.push_str(&section("post"));
    script.push('\n');
    script.push_str(&post_script(&p));
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let main_run = Run {
        rc: secs
            .get("rc")
            .and_then(|s| kv(s).get("RC").and_then(|v| v.parse().ok()))
            .unwrap_or(0),
        stdout: secs[""].clone(),
        stderr: out.stderr.clone(),
    };
    if main.is_some() && main_run.rc != 0 {
        return fail(main_run.stderr, Some(main_run.rc));
    }
    if !exists {
        r.insert("system".into(), Value::from(p.system));
        r.insert("create_home".into(), Value::from(p.create_home));
    } else {
        r.insert("append".into(), Value::from(p.append));
        r.insert("move_home".into(), Value::from(p.move_home));
    }
    if p.password.is_some() {
        r.insert("password".into(), Value::from("NOT_LOGGING_PASSWORD"));
    }
    if main.is_some() {
        std_into(&mut r, &main_run);
    }
    let post = kv(secs.get("post").map(String::as_str).unwrap_or(""));
    let info = secs
        .get("info")
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("P=")))
        .and_then(Passwd::parse);
    let Some(pw) = info else {
        return fail(format!("failed to look up user name: {}", p.name), None);
    };
    info_into(&mut r, &pw);
    if let Some(g) = &p.groups {
        r.insert("groups".into(), Value::from(g.join(",")));
    }
    if post.contains_key("HOMECREATED") {
        changed = true;
    }
    if p.generate_ssh_key {
        if let Some(krc) = secs.get("keygen_rc") {
            let krc: i32 = krc.trim().parse().unwrap_or(1);
            if krc != 0 {
                return fail(secs.get("keygen").cloned().unwrap_or_default(), Some(krc));
            }
            changed = true;
        }
        let fp_sec = secs.get("fp").cloned().unwrap_or_default();
        let fp_kv = kv(&fp_sec);
        let fp_text: String = fp_sec
            .lines()
            .filter(|l| !l.starts_with("FPRC="))
            .collect::<Vec<_>>()
            .join("\n");
        r.insert(
            "ssh_fingerprint".into(),
            Value::from(if fp_kv.get("FPRC").map(String::as_str) == Some("0") {
                fp_text.trim().to_string()
            } else {
                String::new()
            }),
        );
        let pub_sec = secs.get("pub").cloned().unwrap_or_default();
        let (pubkey, kf) = match pub_sec.rsplit_once("\nKF=") {
            Some((a, b)) => (a.to_string(), b.trim().to_string()),
            None => (String::new(), key_path(&p, &pw.home)),
        };
        r.insert("ssh_key_file".into(), Value::from(kf));
        r.insert(
            "ssh_public_key".into(),
            if pubkey.trim().is_empty() {
                Value::from(())
            } else {
                Value::from(pubkey.trim())
            },
        );
    }
    let post_all = kv(secs.get("info").map(String::as_str).unwrap_or(""));
    let chage_rc = post
        .get("CHAGERC")
        .or_else(|| post_all.get("CHAGERC"))
        .cloned();
    if let Some(rc) = chage_rc {
        if rc != "0" {
            return fail(
                post.get("CHAGEOUT").cloned().unwrap_or_default(),
                rc.parse().ok(),
            );
        }
        changed = true;
    }
    r.insert("changed".into(), Value::from(changed));
    sysutil::add_lines(&mut r);
    Ok(r)
}

/// `stdout`/`stderr` of a command, when not empty (the module's `if out:` / `if err:`).
fn std_into(r: &mut Vars, run: &Run) {
    if !run.stdout.is_empty() {
        r.insert("stdout".into(), Value::from(run.stdout.as_str()));
    }
    if !run.stderr.is_empty() {
        r.insert("stderr".into(), Value::from(run.stderr.as_str()));
    }
    sysutil::add_lines(r);
}

// ---------------------------------------------------------------------------------------------
// group

async fn run_group(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let name = args.required_str("name")?;
    let force = args.bool("force")?.unwrap_or(false);
    let gid = args.int("gid")?;
    let system = args.bool("system")?.unwrap_or(false);
    let local = args.bool("local")?.unwrap_or(false);
    let non_unique = args.bool("non_unique")?.unwrap_or(false);
    let gid_min = args.int("gid_min")?;
    let gid_max = args.int("gid_max")?;
    if non_unique && gid.is_none() {
        return Err(ModuleError::Failed(
            "non_unique is True but all of the following are missing: gid".into(),
        ));
    }
    if force && local {
        return Err(ModuleError::Failed(
            "force is not a valid option for local, force=True and local=True are mutually exclusive".into(),
        ));
    }
    if local {
        return Err(ModuleError::Failed(
            "'local: true' needs libuser's lgroupadd/lgroupmod, which baton's group module does not drive yet".into(),
        ));
    }
    let lookup = format!("getent group {} | sed 's/^/G=/'", shell_quote(&name));
    let q = sysutil::run(ctx, &lookup).await?;
    let current = kv(&q.stdout).get("G").and_then(|l| parse_group(l));

    let mut cmd: Option<Vec<String>> = None;
    if state == "absent" {
        if current.is_some() {
            if ctx.check_mode {
                return Ok(super::result([("changed", Value::from(true))]));
            }
            let mut c = vec!["groupdel".to_string()];
            if force {
                c.push("-f".into());
            }
            c.push(name.clone());
            cmd = Some(c);
        }
    } else if current.is_none() {
        if ctx.check_mode {
            return Ok(super::result([("changed", Value::from(true))]));
        }
        let mut c = vec!["groupadd".to_string()];
        if let Some(g) = gid {
            c.push("-g".into());
            c.push(g.to_string());
            if non_unique {
                c.push("-o".into());
            }
        }
        if system {
            c.push("-r".into());
        }
        if let Some(g) = gid_min {
            c.push("-K".into());
            c.push(format!("GID_MIN={g}"));
        }
        if let Some(g) = gid_max {
            c.push("-K".into());
            c.push(format!("GID_MAX={g}"));
        }
        c.push(name.clone());
        cmd = Some(c);
    } else if let (Some(g), Some(cur)) = (gid, &current)
        && cur.gid != g
    {
        let mut c = vec!["groupmod".to_string(), "-g".into(), g.to_string()];
        if non_unique {
            c.push("-o".into());
        }
        c.push(name.clone());
        cmd = Some(c);
    }

    let mut r = Vars::new();
    r.insert("name".into(), Value::from(name.as_str()));
    r.insert("state".into(), Value::from(state.as_str()));
    let mut after = current.clone();
    match &cmd {
        Some(_) if ctx.check_mode => {
            r.insert("changed".into(), Value::from(true));
        }
        Some(c) => {
            let script = format!(
                "{}; rc=$?\n{}\necho RC=$rc\n{}",
                argv(c),
                section("after"),
                lookup
            );
            let out = sysutil::run(ctx, &script).await?;
            let secs = sections(&out.stdout);
            let after_kv = kv(secs.get("after").map(String::as_str).unwrap_or(""));
            let rc: i32 = after_kv
                .get("RC")
                .and_then(|r| r.parse().ok())
                .unwrap_or(out.rc);
            let run = Run {
                rc,
                stdout: secs[""].clone(),
                stderr: out.stderr,
            };
            if rc != 0 {
                return Ok(sysutil::failed(
                    run.stderr,
                    vec![("name", Value::from(name.as_str()))],
                ));
            }
            r.insert("changed".into(), Value::from(true));
            std_into(&mut r, &run);
            after = after_kv.get("G").and_then(|l| parse_group(l));
        }
        None => {
            r.insert("changed".into(), Value::from(false));
        }
    }
    if let Some(g) = after {
        r.insert("system".into(), Value::from(system));
        r.insert("gid".into(), Value::from(g.gid));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_hash_leaves_the_command_line() {
        let cmd: Vec<String> = [
            "usermod", "-c", "-p", "-p", "$6$x$y", "-s", "/bin/sh", "app",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (rest, hash) = password_off_the_command_line(&cmd);
        assert_eq!(rest, ["usermod", "-c", "-p", "-s", "/bin/sh", "app"]);
        assert_eq!(hash.as_deref(), Some("$6$x$y"));
    }

    fn params(name: &str) -> UserParams {
        UserParams {
            state: "present".into(),
            name: name.into(),
            create_home: true,
            ssh_key_type: "rsa".into(),
            update_password: "always".into(),
            ..UserParams::default()
        }
    }

    #[test]
    fn useradd_uses_dash_n_when_a_group_of_the_name_exists() {
        let mut st = UserState::default();
        st.groups.push((
            "app".into(),
            GroupEntry {
                name: "app".into(),
                gid: 1001,
            },
        ));
        let mut p = params("app");
        p.shell = Some("/bin/bash".into());
        assert_eq!(
            useradd_cmd(&p, &st).unwrap(),
            ["useradd", "-N", "-s", "/bin/bash", "-m", "app"]
        );
        p.groups = Some(vec!["nope".into()]);
        assert_eq!(
            useradd_cmd(&p, &st).unwrap_err(),
            "Group nope does not exist"
        );
    }

    #[test]
    fn usermod_changes_only_what_differs() {
        let st = UserState {
            passwd: Passwd::parse("app:x:1001:1001::/home/app:/bin/sh"),
            shadow: Shadow::parse("app:!:19000:0:99999:7:::"),
            groups: vec![(
                "sudo".into(),
                GroupEntry {
                    name: "sudo".into(),
                    gid: 27,
                },
            )],
            ..UserState::default()
        };
        let mut p = params("app");
        p.shell = Some("/bin/sh".into());
        assert_eq!(usermod_cmd(&p, &st).unwrap(), None);
        p.shell = Some("/bin/bash".into());
        p.groups = Some(vec!["sudo".into()]);
        p.append = true;
        assert_eq!(
            usermod_cmd(&p, &st).unwrap().unwrap(),
            ["usermod", "-a", "-G", "sudo", "-s", "/bin/bash", "app"]
        );
        p.shell = None;
        p.password_lock = Some(true);
        p.groups = None;
        // Already locked ('!'): nothing to do.
        assert_eq!(usermod_cmd(&p, &st).unwrap(), None);
    }

    #[test]
    fn expiry_dates_are_utc_days() {
        assert_eq!(expires_date(0.0), Some((0, "1970-01-01".into())));
        assert_eq!(
            expires_date(1_700_000_000.5),
            Some((19675, "2023-11-14".into()))
        );
        assert_eq!(expires_date(-1.0), None);
    }
}
