//! What the content modules (`lineinfile`, `blockinfile`, `replace`, `template`) learn about
//! their file in one round trip before editing it: whether it exists, its kind, content,
//! owner, mode and the umask.

use super::*;

/// What the content modules learn about their file before editing it (see [`read_target`]).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub exists: bool,
    pub is_dir: bool,
    /// mode bits, uid, gid, user name, group name.
    pub stat: Option<(u32, u32, u32, String, String)>,
    /// The user the commands run as (uid, gid, name, group name) and its umask: who would own
    /// a new file, and its mode.
    pub me: Option<(u32, u32, String, String, u32)>,
    pub content: String,
    /// The uid of the wanted owner and the gid of the wanted group, when they exist.
    pub owner_id: Option<u32>,
    pub group_id: Option<u32>,
}

impl Target {
    /// The attribute changes applying `attrs` would make (for a file about to be created: to
    /// its default mode and owner), as the `before`/`after` mappings of Ansible's "file
    /// attributes" diff (mode as `0644`, owner and group as ids); empty when nothing changes.
    pub fn attr_changes(&self, attrs: &Attrs) -> (Vars, Vars) {
        let (mode, uid, gid, user, group) = match (&self.stat, &self.me) {
            (Some(s), _) => s.clone(),
            (None, Some((u, g, un, gn, umask))) => (0o666 & !umask, *u, *g, un.clone(), gn.clone()),
            (None, None) => (0o644, 0, 0, "root".into(), "root".into()),
        };
        let (mut before, mut after) = (Vars::new(), Vars::new());
        let wanted = |want: &Option<String>, resolved: Option<u32>, name: &str, id: u32| {
            let w = want.as_ref()?;
            let new = match resolved {
                Some(n) => n,
                None if w.chars().all(|c| c.is_ascii_digit()) => w.parse().ok()?,
                // An unknown name: the write fails on the host with Ansible's message.
                None => return (w != name).then_some(u32::MAX),
            };
            (new != id).then_some(new)
        };
        if let Some(new) = wanted(&attrs.owner, self.owner_id, &user, uid) {
            before.insert("owner".into(), Value::from(uid));
            after.insert("owner".into(), Value::from(new));
        }
        if let Some(new) = wanted(&attrs.group, self.group_id, &group, gid) {
            before.insert("group".into(), Value::from(gid));
            after.insert("group".into(), Value::from(new));
        }
        if let Some(m) = &attrs.mode {
            let new = apply_mode(mode, false, m);
            if new != mode {
                before.insert("mode".into(), Value::from(format!("0{mode:03o}")));
                after.insert("mode".into(), Value::from(format!("0{new:03o}")));
            }
        }
        (before, after)
    }
}

/// Reads the file a content module edits: whether it exists or is a directory, its stat, the
/// user commands run as, and its text; one command.
pub async fn read_target(
    ctx: &ModuleCtx,
    path: &str,
    attrs: &Attrs,
) -> Result<Target, ModuleError> {
    let script = format!(
        "P={}; OW={}; GR={}\n{}",
        shell_quote(path),
        shell_quote(attrs.owner.as_deref().unwrap_or("")),
        shell_quote(attrs.group.as_deref().unwrap_or("")),
        r#"[ -z "$OW" ] || printf 'BATON\townid\t%s\n' "$(id -u -- "$OW" 2>/dev/null)"
[ -z "$GR" ] || printf 'BATON\tgrid\t%s\n' "$(getent group -- "$GR" 2>/dev/null | cut -d: -f3)"
printf 'BATON\tme\t%s\t%s\t%s\t%s\t%s\n' "$(id -u)" "$(id -g)" "$(id -un)" "$(id -gn)" "$(umask)"
if [ -d "$P" ]; then printf 'BATON\tisdir\t1\n'; exit 0; fi
[ -e "$P" ] || exit 0
printf 'BATON\tst\t%s\n' "$(stat -L -c '%a	%u	%g	%U	%G' -- "$P")"
[ -r "$P" ] || { printf 'BATON\terror\t%s\n' "$P is not readable"; exit 1; }
echo BATON-CONTENT
cat -- "$P"
"#
    );
    let out = ctx.exec(&script, None).await?;
    let marker = b"BATON-CONTENT\n";
    let (head, content) = match out.stdout.windows(marker.len()).position(|w| w == marker) {
        Some(i) => (&out.stdout[..i], Some(&out.stdout[i + marker.len()..])),
        None => (&out.stdout[..], None),
    };
    let report = Report::parse(&crate::connection::ExecOutput {
        stdout: head.to_vec(),
        stderr: out.stderr.clone(),
        rc: out.rc,
    })?;
    let mut t = Target {
        is_dir: report.flag("isdir"),
        content: content.map(text).unwrap_or_default(),
        ..Default::default()
    };
    if let Some(st) = report.get("st") {
        let f: Vec<&str> = st.split('\t').collect();
        if f.len() >= 5 {
            t.exists = true;
            t.stat = Some((
                u32::from_str_radix(f[0], 8).unwrap_or(0),
                f[1].parse().unwrap_or(0),
                f[2].parse().unwrap_or(0),
                f[3].to_string(),
                f[4].to_string(),
            ));
        }
    }
    t.owner_id = report.get("ownid").and_then(|v| v.parse().ok());
    t.group_id = report.get("grid").and_then(|v| v.parse().ok());
    if let Some(me) = report.get("me") {
        let f: Vec<&str> = me.split('\t').collect();
        if f.len() >= 5 {
            t.me = Some((
                f[0].parse().unwrap_or(0),
                f[1].parse().unwrap_or(0),
                f[2].to_string(),
                f[3].to_string(),
                u32::from_str_radix(f[4], 8).unwrap_or(0o022),
            ));
        }
    }
    Ok(t)
}
