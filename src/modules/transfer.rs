//! File transfer: the one helper modules use to put a file on a host (`copy`, `template`, ...)
//! and to read one back (`--diff`, `slurp`).
//!
//! [`ModuleCtx::put_file`] compares the SHA-1 of the wanted content (computed on the
//! controller, streaming) with the SHA-1 of the destination on the host (`sha1sum`; Ansible's
//! `checksum`) and writes only when they differ. Writing is atomic: the content goes to a file
//! in a private directory made in the destination's own directory (by
//! [`hosttmp::private_dir`]: a name nobody can guess, mode 0700, checked to be what the script
//! made before a byte is written), gets its mode and owner there, and is renamed over the
//! destination with `mv -T` (a link or directory put at that name is replaced or refused, never
//! followed), so a reader on the host sees the old file or the new one, never half of one, and
//! a local user who can write to that directory can neither read the content nor swap the
//! file. The new file is checked against the expected SHA-1 before the rename, so a transfer
//! cut short can never replace a good file. The SHA-1 travels in the script, on standard input
//! (never on a command line: see `connection::launch`).
//!
//! Round trips: small content (up to [`INLINE_LIMIT`], in memory or a controller file) takes
//! one command that compares and writes; anything larger takes one command to compare and,
//! only when different, a second one that streams the content through the command's stdin in
//! window-sized chunks (a 1 GB file costs no more controller memory than a small one).
//!
//! Everything runs through [`ModuleCtx::exec_input`], so `become` applies: with
//! `become_user: app` the file is created by `app` and owned by it, as in Ansible. Targets need
//! a POSIX shell and GNU coreutils (`sha1sum`, `stat -c`).
//!
//! On the host every program the script starts costs far more than the shell's own work (an
//! exec is 10-200 ms in a loaded container, a builtin microseconds), so the script starts as
//! few as it can: an unchanged file costs `sha1sum` and one `stat`; a new one `mkdir`, `stat`
//! (the private directory's mode, unless the directory is sticky), `cat`, `mv`, `rmdir` and
//! `stat`, plus `chmod` for a mode a new file cannot be created with (execute or special bits)
//! and `sha1sum` to check content that came on a stream (no `dirname` or `cut`: the shell
//! does those).

use super::hosttmp::{self, Cleanup, Place};
use super::{ModuleCtx, ModuleError, shell_quote, text};
use crate::connection::Stdin;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use sha1::{Digest, Sha1};
use std::path::PathBuf;
use tokio::io::AsyncReadExt;

/// Content at most this large is sent along with the comparison, in one command.
pub const INLINE_LIMIT: usize = 256 * 1024;

/// What to put on the host.
#[derive(Debug, Clone)]
pub enum Source {
    /// Content held in memory (`copy: content=`, a rendered template).
    Bytes(Vec<u8>),
    /// A file on the controller, read as it is sent (never loaded whole).
    File(PathBuf),
}

/// How to put it. `Default` is: keep the mode and owner of an existing destination (new files
/// get `0666 & ~umask` and belong to the user the command runs as), no backup, overwrite.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// `chmod` mode: octal (`"0644"`, `"644"`) or symbolic (`"u=rw,g=r,o=r"`, `"u+x"`); see
    /// [`mode_arg`] to read a task's `mode:` value (YAML `0644` arrives as the integer 420).
    pub mode: Option<String>,
    /// User name or uid.
    pub owner: Option<String>,
    /// Group name or gid.
    pub group: Option<String>,
    /// Report what would change without changing anything (pass `ctx.check_mode`).
    pub check_mode: bool,
    /// Before replacing an existing destination, copy it to
    /// `DEST.PID.YYYY-MM-DD@HH:MM:SS~` (Ansible's `backup: yes` naming).
    pub backup: bool,
    /// Ansible's `force: no`: leave an existing destination alone even if it differs.
    pub keep_existing: bool,
    /// Ansible's `validate`: a command run on the new content before it replaces the
    /// destination; `%s` stands for the temporary file's path. Must contain `%s`.
    pub validate: Option<String>,
}

/// What [`ModuleCtx::put_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Content written, or mode/owner/group changed (in check mode: would be).
    pub changed: bool,
    /// Whether the content differed (and was written, outside check mode).
    pub content_changed: bool,
    /// The destination existed and `keep_existing` left it alone.
    pub kept: bool,
    /// SHA-1 (hex) of the wanted content: Ansible's `checksum`.
    pub checksum: String,
    /// MD5 (hex) of the wanted content: Ansible's `md5sum` (computed in the same streaming
    /// pass as the SHA-1, so a caller never needs to read a large source again).
    pub md5sum: String,
    pub dest: String,
    /// Size of the wanted content in bytes.
    pub size: u64,
    /// The destination's mode after the operation, four octal digits (`"0644"`); `None` in
    /// check mode for a file that does not exist yet.
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// The backup made of the previous content (`backup: yes`).
    pub backup_file: Option<String>,
}

impl PutOutcome {
    /// The result as Ansible's `copy` reports it: `changed`, `checksum`, `dest`, `size`,
    /// `state: file`, and `mode`, `uid`, `gid`, `owner`, `group`, `backup_file` when known.
    pub fn to_vars(&self) -> Vars {
        let mut r = Vars::new();
        r.insert("changed".into(), Value::from(self.changed));
        r.insert("checksum".into(), Value::from(self.checksum.clone()));
        r.insert("dest".into(), Value::from(self.dest.clone()));
        r.insert("size".into(), Value::from(self.size));
        r.insert("state".into(), Value::from("file"));
        if let Some(m) = &self.mode {
            r.insert("mode".into(), Value::from(m.clone()));
        }
        if let Some(u) = self.uid {
            r.insert("uid".into(), Value::from(u));
        }
        if let Some(g) = self.gid {
            r.insert("gid".into(), Value::from(g));
        }
        if let Some(o) = &self.owner {
            r.insert("owner".into(), Value::from(o.clone()));
        }
        if let Some(g) = &self.group {
            r.insert("group".into(), Value::from(g.clone()));
        }
        if let Some(b) = &self.backup_file {
            r.insert("backup_file".into(), Value::from(b.clone()));
        }
        r
    }
}

/// A file read back from a host by [`ModuleCtx::read_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its size on the host.
    pub size: u64,
    /// Its first `limit` bytes (all of it unless `truncated`).
    pub content: Vec<u8>,
    pub truncated: bool,
}

/// Reads a task's `mode:` as `chmod` takes it. YAML 1.1 reads an unquoted `0644` as the
/// integer 420, which Ansible takes as that number's octal digits, so integers are written in
/// octal; strings must be octal digits or a symbolic mode. `None` for an absent mode.
pub fn mode_arg(v: Option<&Value>) -> Result<Option<String>, ModuleError> {
    let Some(v) = v else { return Ok(None) };
    let s = match v.kind() {
        ValueKind::Undefined | ValueKind::None => return Ok(None),
        ValueKind::Number => match v.as_i64() {
            Some(n) if (0..=0o7777).contains(&n) => format!("0{n:o}"),
            _ => return Err(bad_mode(&v.to_string())),
        },
        _ => v.to_string(),
    };
    if s.is_empty() {
        return Ok(None);
    }
    let octal = s.len() <= 5 && s.chars().all(|c| c.is_digit(8));
    let symbolic = s.split(',').all(|clause| {
        let ops = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        !ops.is_empty()
            && ops.starts_with(['+', '-', '='])
            && ops.chars().all(|c| "+-=rwxXstugo".contains(c) && c != ',')
    });
    if octal || symbolic {
        Ok(Some(s))
    } else {
        Err(bad_mode(&s))
    }
}

fn bad_mode(s: &str) -> ModuleError {
    ModuleError::Failed(format!(
        "bad symbolic permission for mode: {s} (use octal like 0644 or symbolic like u=rw,g=r,o=r)"
    ))
}

/// SHA-1 of bytes, in hex.
pub fn sha1_hex(data: &[u8]) -> String {
    hex(&Sha1::digest(data))
}

/// SHA-1 and size of a controller file, read in chunks.
pub async fn sha1_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    digest_file(path).await.map(|d| (d.sha1, d.size))
}

/// The digests of some content, as Ansible reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha1: String,
    pub md5: String,
    pub size: u64,
}

/// SHA-1 and MD5 of bytes.
pub fn digest_bytes(data: &[u8]) -> Digests {
    Digests {
        sha1: sha1_hex(data),
        md5: format!("{:x}", md5::compute(data)),
        size: data.len() as u64,
    }
}

/// SHA-1, MD5 and size of a controller file, in one pass of fixed-size reads (flat memory
/// however large the file).
pub async fn digest_file(path: &std::path::Path) -> std::io::Result<Digests> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut sha1 = Sha1::new();
    let mut md5 = md5::Context::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        sha1.update(&buf[..n]);
        md5.consume(&buf[..n]);
    }
    Ok(Digests {
        sha1: hex(&sha1.finalize()),
        md5: format!("{:x}", md5.finalize()),
        size,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which part of the work one command does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Compare, and write from stdin when different (content sent along).
    Inline,
    /// Compare only; answer `need` when the content must be sent.
    Probe,
    /// Content on stdin: compare again (cheap, and safe against a race) and write.
    Stream,
}

/// The marker of the script's answer line (and of its error line).
const ANSWER: &str = "BATON-PUT";

/// The shell script that does the work on the host. Parameters are shell-quoted assignments at
/// its top; its last line is `BATON-PUT<TAB>state<TAB>attrs-changed<TAB>backup<TAB>stat...`,
/// or `BATON-PUT-ERROR<TAB>message` (exit 1).
/// `content` is the new content when it travels in the script's own text (text small enough
/// for a shell word): then the shell writes it with the `printf` builtin (no `cat`), and as the
/// shell runs the script only once it has all of it, there is no transfer to check either.
fn script(
    dest: &str,
    checksum: &str,
    opts: &PutOptions,
    phase: Phase,
    content: Option<&str>,
) -> Result<String, ModuleError> {
    let q = |s: Option<&str>| shell_quote(s.unwrap_or(""));
    let flag = |b: bool| if b { "1" } else { "0" };
    let validate = match &opts.validate {
        Some(v) => format!(
            // Run where the task runs (not in the private directory); afterwards the path
            // must still lead to the file that was validated.
            "vout=$( cd -- \"$here\" 2>/dev/null; {} 2>&1 ) || fail \"failed to validate: $vout\"\n  \
             [ \"$tmp\" -ef f ] || fail \"the temporary file $tmp was replaced during validation\"",
            v.replace("%s", "\"$tmp\"")
        ),
        None => ":".to_string(),
    };
    // Only the writing phases make the private directory (a probe, check mode and an unchanged
    // file never get there).
    let private = match phase {
        Phase::Probe => String::new(),
        Phase::Inline | Phase::Stream => {
            hosttmp::private_dir("T", Place::Beside("\"$d\""), Cleanup::OnExit)?
        }
    };
    let scratch = hosttmp::private_dir("S", Place::Tmp, Cleanup::OnExit)?;
    let write = match content {
        Some(_) => {
            r#"  ( umask $um; set -C; printf '%s' "$body" > f ) || fail "writing $tmp failed""#
        }
        None => {
            r#"  ( umask $um; set -C; cat > f ) || fail "writing $tmp failed"
  # A transfer cut short must not replace the file. baton's long-lived shell sets
  # BATON_STDIN_WHOLE when the input came inside the command's own text, which the shell
  # runs only once it has all of it: then there is nothing to check.
  if [ "${BATON_STDIN_WHOLE:-}" != 1 ]; then
    sha1 f
    [ "$_s" = "$want" ] || fail "checksum mismatch after transfer to $dest: expected $want, got $_s"
  fi"#
        }
    };
    let body = content.map_or(String::new(), |c| format!("body={}\n", shell_quote(c)));
    Ok(format!(
        r#"{body}dest={dest}; want={want}; mode={mode}; owner={owner}; group={group}
check={check}; backup={backup}; keep={keep}; phase={phase}; createmask={createmask}
fail() {{ printf '{ANSWER}-ERROR\t%s\n' "$*"; exit 1; }}
sha1() {{ _s=$(sha1sum < "$1" 2>/dev/null); _s=${{_s%% *}}; }}
case $dest in
  */|*//*) d=$(dirname -- "$dest") ;;
  /*/*|[!/]*/*) d=${{dest%/*}} ;;
  /*) d=/ ;;
  *) d=. ;;
esac
case $mode in ''|*[!0-7]*) octal=0 ;; *) octal=1 ;; esac
[ -d "$d" ] || fail "Destination directory $d does not exist"
[ -d "$dest" ] && fail "Destination $dest is a directory"
exists=0; cur=
if [ -e "$dest" ]; then
  exists=1
  [ -r "$dest" ] || fail "Destination $dest is not readable"
  sha1 "$dest"; cur=$_s
fi
attrs=0; bk=; st=
if [ "$exists" = 1 ] && [ "$cur" = "$want" ]; then state=same
elif [ "$exists" = 1 ] && [ "$keep" = 1 ]; then state=kept
elif [ "$check" = 1 ]; then state=would
elif [ "$phase" = probe ]; then printf '{ANSWER}\tneed\n'; exit 0
else
  # The new content is written in a private directory made beside the destination (same
  # filesystem: the rename is atomic), under a name nobody can guess, refused unless it is
  # what this script made (see hosttmp); the script works inside it by relative names, so
  # nobody who can write to $d can make it write through a link or into a FIFO, or swap the
  # file before it is renamed. A new file whose mode has no execute or special bits is created
  # with that mode (a umask that lets just those bits through): no chmod.
  um=077; premode=0
  if [ "$exists" = 0 ] && [ -n "$createmask" ]; then um=$createmask; premode=1; fi
  case $dest in /*) adest=$dest ;; *) adest=$PWD/$dest ;; esac
  here=$PWD
{private}  tmp=$PWD/f
{write}
  if [ "$exists" = 1 ]; then
    o=$(stat -L -c '%a %u:%g' "$adest")
    [ "$octal" = 1 ] || chmod "${{o%% *}}" f
    chown "${{o#* }}" f 2>/dev/null
  elif [ "$octal" = 0 ]; then
    chmod "$(printf %o $((0666 & ~0$(umask))))" f
  fi
  if [ -n "$mode" ] && [ "$premode" = 0 ]; then chmod "$mode" f || fail "chmod $mode failed"; fi
  if [ -n "$owner" ]; then chown "$owner" f || fail "chown failed: failed to look up user $owner"; fi
  if [ -n "$group" ]; then chgrp "$group" f || fail "chgrp failed: failed to look up group $group"; fi
  {validate}
  if [ "$backup" = 1 ] && [ "$exists" = 1 ]; then
    bk="$dest.$$.$(date +%Y-%m-%d@%H:%M:%S~)"
    case $bk in /*) abk=$bk ;; *) abk=$here/$bk ;; esac
    # Copied inside the private directory, then renamed into place: a link or FIFO someone
    # put at the backup's name is replaced, never written through.
    {{ cp -p -- "$adest" b && mv -T -- b "$abk"; }} || fail "backup of $dest failed"
  fi
  # -T: a directory (or a link to one) put at the destination's name meanwhile makes the
  # rename fail; it is never moved into.
  mv -T -- f "$adest" || fail "cannot rename $tmp to $dest"
  T_done; trap - EXIT
  cd -- "$here" 2>/dev/null || cd /
  state=written
fi
# Whether the attributes already are those asked for, from one stat (in $st): an octal mode
# compares as a number, an owner or group given by name or by id with either.
same_attrs() {{
  _r=${{st#*	}}; _u=${{_r%%	*}}; _r=${{_r#*	}}; _g=${{_r%%	*}}; _r=${{_r#*	}}
  _U=${{_r%%	*}}; _G=${{_r#*	}}
  {{ [ -z "$mode" ] || {{ [ "$octal" = 1 ] && [ $((0$mode)) = $((0${{st%%	*}})) ]; }}; }} &&
  {{ [ -z "$owner" ] || [ "$owner" = "$_U" ] || [ "$owner" = "$_u" ]; }} &&
  {{ [ -z "$group" ] || [ "$group" = "$_G" ] || [ "$group" = "$_g" ]; }}
}}
if [ "$state" = same ]; then
  st=$(stat -L -c '%a	%u	%g	%U	%G' "$dest")
  if same_attrs; then :
  elif [ "$check" = 0 ]; then
    before=$st
    if [ -n "$mode" ]; then chmod "$mode" "$dest" || fail "chmod $mode failed"; fi
    if [ -n "$owner" ]; then chown "$owner" "$dest" || fail "chown failed: failed to look up user $owner"; fi
    if [ -n "$group" ]; then chgrp "$group" "$dest" || fail "chgrp failed: failed to look up group $group"; fi
    st=$(stat -L -c '%a	%u	%g	%U	%G' "$dest")
    [ "$before" = "$st" ] || attrs=1
  else
    if [ -n "$mode" ]; then
      # What chmod would make of the current mode, tried on a scratch file.
{scratch}      t=$S/m; : > "$t"
      chmod "$(stat -L -c %a "$dest")" "$t"; chmod "$mode" "$t" || fail "chmod $mode failed"
      [ "$(stat -c %a "$t")" = "$(stat -L -c %a "$dest")" ] || attrs=1
    fi
    if [ -n "$owner" ]; then
      u=$(id -u -- "$owner" 2>/dev/null) || u=$owner
      [ "$u" = "$(stat -L -c %u "$dest")" ] || attrs=1
    fi
    if [ -n "$group" ]; then
      g=$(getent group "$group" 2>/dev/null | cut -d: -f3); [ -n "$g" ] || g=$group
      [ "$g" = "$(stat -L -c %g "$dest")" ] || attrs=1
    fi
  fi
fi
[ -z "$st" ] && [ -e "$dest" ] && st=$(stat -L -c '%a	%u	%g	%U	%G' "$dest")
printf '{ANSWER}\t%s\t%s\t%s\t%s\n' "$state" "$attrs" "$bk" "$st"
"#,
        dest = shell_quote(dest),
        want = shell_quote(checksum),
        mode = q(opts.mode.as_deref()),
        owner = q(opts.owner.as_deref()),
        group = q(opts.group.as_deref()),
        check = flag(opts.check_mode),
        backup = flag(opts.backup),
        keep = flag(opts.keep_existing),
        createmask = create_mask(opts.mode.as_deref()).unwrap_or_default(),
        phase = match phase {
            Phase::Inline => "inline",
            Phase::Probe => "probe",
            Phase::Stream => "stream",
        },
    ))
}

/// The umask, in `umask`'s symbolic form, under which the shell creates a file with exactly
/// `mode`: for an octal mode with no execute, setuid, setgid or sticky bit (`0644` gives
/// `u=rw,g=r,o=r`), which is all a new file's mode can be (`0666 & ~umask`). `None` for any
/// other mode: the file is then created private and given its mode by `chmod`.
fn create_mask(mode: Option<&str>) -> Option<String> {
    let mode = mode?;
    if mode.is_empty() || !mode.chars().all(|c| c.is_digit(8)) {
        return None;
    }
    let bits = u32::from_str_radix(mode, 8).ok()?;
    if bits & !0o666 != 0 {
        return None;
    }
    let class = |shift: u32| {
        let b = (bits >> shift) & 0o7;
        let mut s = String::new();
        if b & 4 != 0 {
            s.push('r');
        }
        if b & 2 != 0 {
            s.push('w');
        }
        s
    };
    Some(format!("u={},g={},o={}", class(6), class(3), class(0)))
}

/// The answer line of the script, parsed.
enum Answer {
    Need,
    Done {
        state: String,
        attrs_changed: bool,
        backup: Option<String>,
        stat: Option<(String, u32, u32, String, String)>,
    },
}

fn parse_answer(out: &crate::connection::ExecOutput, dest: &str) -> Result<Answer, ModuleError> {
    let stdout = text(&out.stdout);
    let Some(line) = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with(ANSWER))
        .map(str::to_string)
    else {
        let stderr = text(&out.stderr);
        return Err(ModuleError::Failed(format!(
            "putting {dest} failed (rc={}): {}",
            out.rc.map_or("none".to_string(), |r| r.to_string()),
            stderr.trim()
        )));
    };
    if let Some(msg) = line.strip_prefix(&format!("{ANSWER}-ERROR\t")) {
        return Err(ModuleError::Failed(msg.to_string()));
    }
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.get(1) == Some(&"need") {
        return Ok(Answer::Need);
    }
    let stat = match fields.get(4..9) {
        Some([mode, uid, gid, owner, group]) if !mode.is_empty() => Some((
            format!("{:0>4}", mode),
            uid.parse().unwrap_or(0),
            gid.parse().unwrap_or(0),
            owner.to_string(),
            group.to_string(),
        )),
        _ => None,
    };
    Ok(Answer::Done {
        state: fields.get(1).unwrap_or(&"").to_string(),
        attrs_changed: fields.get(2) == Some(&"1"),
        backup: fields
            .get(3)
            .filter(|b| !b.is_empty())
            .map(|b| b.to_string()),
        stat,
    })
}

impl ModuleCtx {
    /// Puts `src` at `dest` (an absolute path of the file itself, not of a directory) on the
    /// host, atomically and only when its content or attributes differ; see the module doc.
    ///
    /// Fails (`ModuleError::Failed`, Ansible's wording where it has one) when the
    /// destination's directory does not exist, `dest` is a directory, `validate` refuses the
    /// content, the owner or group does not exist, or the transfer was cut short.
    pub async fn put_file(
        &self,
        src: Source,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<PutOutcome, ModuleError> {
        if let Some(v) = &opts.validate
            && !v.contains("%s")
        {
            return Err(ModuleError::Failed(format!(
                "validate must contain %s: {v}"
            )));
        }
        let unreadable = |p: &std::path::Path, e: std::io::Error| {
            ModuleError::Failed(format!("could not read source {}: {e}", p.display()))
        };
        // A small controller file is read whole, once, and then handled as content is: its
        // digests come from those bytes, and it is sent with the comparison (one command
        // instead of a comparison and then a stream on a channel of its own).
        let src = match src {
            Source::File(p)
                if tokio::fs::metadata(&p)
                    .await
                    .is_ok_and(|m| m.len() <= INLINE_LIMIT as u64) =>
            {
                Source::Bytes(tokio::fs::read(&p).await.map_err(|e| unreadable(&p, e))?)
            }
            src => src,
        };
        let Digests {
            sha1: checksum,
            md5: md5sum,
            size,
        } = match &src {
            Source::Bytes(b) => digest_bytes(b),
            Source::File(p) => digest_file(p).await.map_err(|e| unreadable(p, e))?,
        };
        let answer = match src {
            Source::Bytes(b) if b.len() <= INLINE_LIMIT => {
                // Text travels in the script itself (see `script`); anything else on stdin.
                let text = std::str::from_utf8(&b)
                    .ok()
                    .filter(|_| crate::connection::launch::literal(&b));
                let s = script(dest, &checksum, opts, Phase::Inline, text)?;
                let input = if text.is_some() {
                    Stdin::Null
                } else {
                    Stdin::Bytes(&b)
                };
                let out = self.exec_input(&s, input).await?;
                parse_answer(&out, dest)?
            }
            src => {
                let s = script(dest, &checksum, opts, Phase::Probe, None)?;
                let out = self.exec_input(&s, Stdin::Null).await?;
                match parse_answer(&out, dest)? {
                    Answer::Need => {
                        let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match src {
                            Source::Bytes(b) => Box::new(std::io::Cursor::new(b)),
                            Source::File(p) => {
                                Box::new(tokio::fs::File::open(&p).await.map_err(|e| {
                                    ModuleError::Failed(format!(
                                        "could not read source {}: {e}",
                                        p.display()
                                    ))
                                })?)
                            }
                        };
                        let s = script(dest, &checksum, opts, Phase::Stream, None)?;
                        let out = self.exec_input(&s, Stdin::Reader(reader)).await?;
                        parse_answer(&out, dest)?
                    }
                    done => done,
                }
            }
        };
        let Answer::Done {
            state,
            attrs_changed,
            backup,
            stat,
        } = answer
        else {
            return Err(ModuleError::Failed(format!(
                "putting {dest}: the host asked for the content twice"
            )));
        };
        let content_changed = matches!(state.as_str(), "written" | "would");
        let kept = state == "kept";
        let (mode, uid, gid, owner, group) = match stat {
            Some((m, u, g, o, gr)) => (Some(m), Some(u), Some(g), Some(o), Some(gr)),
            None => (None, None, None, None, None),
        };
        Ok(PutOutcome {
            changed: content_changed || attrs_changed,
            content_changed,
            kept,
            checksum,
            md5sum,
            dest: dest.to_string(),
            size,
            mode,
            uid,
            gid,
            owner,
            group,
            backup_file: backup,
        })
    }

    /// Reads up to `limit` bytes of a file on the host (for `--diff`, `slurp`); `None` when
    /// it does not exist. Runs with `become` like everything else, so it can read what the
    /// become user can.
    pub async fn read_file(
        &self,
        path: &str,
        limit: u64,
    ) -> Result<Option<RemoteFile>, ModuleError> {
        let p = shell_quote(path);
        let cmd = format!(
            "[ -e {p} ] || {{ echo BATON-MISSING; exit 0; }}; \
             [ -d {p} ] && {{ printf '%s is a directory\\n' {p} >&2; exit 1; }}; \
             stat -L -c %s {p} && head -c {limit} {p}"
        );
        let out = self.exec(&cmd, None).await?;
        if out.rc != Some(0) {
            return Err(ModuleError::Failed(format!(
                "could not read {path}: {}",
                text(&out.stderr).trim()
            )));
        }
        if out.stdout.starts_with(b"BATON-MISSING\n") {
            return Ok(None);
        }
        let nl = out.stdout.iter().position(|b| *b == b'\n').ok_or_else(|| {
            ModuleError::Failed(format!("could not read {path}: no size in the answer"))
        })?;
        let size: u64 = text(&out.stdout[..nl]).trim().parse().map_err(|_| {
            ModuleError::Failed(format!("could not read {path}: bad size in the answer"))
        })?;
        let content = out.stdout[nl + 1..].to_vec();
        Ok(Some(RemoteFile {
            size,
            truncated: (content.len() as u64) < size,
            content,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_yaml_numbers_strings_and_symbols() {
        assert_eq!(
            mode_arg(Some(&Value::from(420))).unwrap(),
            Some("0644".into())
        );
        assert_eq!(
            mode_arg(Some(&Value::from("0755"))).unwrap(),
            Some("0755".into())
        );
        assert_eq!(
            mode_arg(Some(&Value::from("u=rw,g=r,o=r"))).unwrap(),
            Some("u=rw,g=r,o=r".into())
        );
        assert_eq!(
            mode_arg(Some(&Value::from("a+x"))).unwrap(),
            Some("a+x".into())
        );
        assert!(mode_arg(Some(&Value::from("rw-r--r--"))).is_err());
        assert!(mode_arg(Some(&Value::from("0648"))).is_err());
        assert_eq!(mode_arg(None).unwrap(), None);
    }

    #[test]
    fn sha1_matches_sha1sum() {
        // printf 'hello\n' | sha1sum
        assert_eq!(
            sha1_hex(b"hello\n"),
            "f572d396fae9206628714fb2ce00f72e94f2258f"
        );
        // printf 'hello\n' | md5sum
        assert_eq!(
            digest_bytes(b"hello\n").md5,
            "b1946ac92492d2347c6235b4d2611184"
        );
    }

    #[test]
    fn the_script_quotes_its_parameters() {
        let opts = PutOptions {
            mode: Some("0600".into()),
            ..Default::default()
        };
        let s = script("/tmp/a b'c", "abc", &opts, Phase::Inline, None).unwrap();
        assert!(
            s.starts_with("dest='/tmp/a b'\"'\"'c'; want=abc; mode=0600;"),
            "{s}"
        );
    }
}
