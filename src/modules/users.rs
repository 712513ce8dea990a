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

mod records;
use records::*;

mod commands;
use commands::*;

mod host;
use host::*;

mod group;
use group::*;

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
        Param::str("password").no_log(),
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
        Param::str("ssh_key_passphrase").no_log(),
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
