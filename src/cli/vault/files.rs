//! The files `baton vault` reads and writes: inputs and outputs (a file, `-` for standard
//! input/output), writing in place with the file's mode kept, and `edit`'s private temporary
//! directory, editor and pager.

use super::*;

/// Input and destination of each file: in place, `--output`, or stdin to stdout.
pub(super) fn inputs(
    files: &[PathBuf],
    output: Option<&Path>,
) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    if output.is_some() && files.len() > 1 {
        return Err(usage(
            "At most one input file may be used with the --output option",
        ));
    }
    let dash = PathBuf::from("-");
    if files.is_empty() {
        if std::io::stdin().is_terminal() {
            eprintln!("Reading input from stdin");
        }
        return Ok(vec![(
            dash.clone(),
            output.map(Path::to_path_buf).unwrap_or(dash),
        )]);
    }
    Ok(files
        .iter()
        .map(|f| {
            let dest = match output {
                Some(o) => o.to_path_buf(),
                None if f == &dash => dash.clone(),
                // ansible-vault follows a symlink and rewrites its target.
                None => std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()),
            };
            (f.clone(), dest)
        })
        .collect())
}

pub(super) fn shown(p: &Path) -> String {
    if p == Path::new("-") {
        "<stdin>".to_string()
    } else {
        p.display().to_string()
    }
}

pub(super) fn io_error(p: &Path, e: std::io::Error) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotFound
    } else {
        ErrorKind::Io
    };
    Error::new(
        kind,
        format!("Unable to read source file ({}): {e}", p.display()),
    )
}

pub(super) fn read_input(p: &Path) -> Result<Vec<u8>, Error> {
    if p == Path::new("-") {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| io_error(p, e))?;
        return Ok(data);
    }
    std::fs::read(p).map_err(|e| io_error(p, e))
}

pub(super) fn write_all(results: Vec<(PathBuf, Vec<u8>)>, mode: Option<u32>) -> Result<(), Error> {
    for (dest, data) in results {
        if dest == Path::new("-") {
            write_stdout(&data)?;
        } else {
            write_file(&dest, &data, mode)?;
        }
    }
    Ok(())
}

pub(in crate::cli) fn write_stdout(data: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|_| out.flush())
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write standard output: {e}")))
}

pub(super) fn file_mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Writes a file atomically: a new 0600 file beside it, renamed over it; then `mode` if given.
pub(crate) fn write_file(dest: &Path, data: &[u8], mode: Option<u32>) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", random_suffix()));
    let fail = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", dest.display()),
        )
    };
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        if let Some(m) = mode {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m))?;
        }
        std::fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

pub(super) fn random_suffix() -> String {
    let mut b = [0u8; 6];
    if getrandom::fill(&mut b).is_err() {
        // Uniqueness, not secrecy, is what matters here; create_new catches a clash.
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0) as u64;
        b.copy_from_slice(&n.to_le_bytes()[..6]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A private directory for a decrypted copy: removed (its file overwritten first) on drop.
pub(super) struct PrivateDir {
    pub(super) dir: PathBuf,
    pub(super) file: PathBuf,
}

impl PrivateDir {
    pub(super) fn new(like: &Path) -> Result<PrivateDir, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let base = private_base();
        let dir = base.join(format!("baton-vault-{}", random_suffix()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot create a private directory in {}: {e}",
                        base.display()
                    ),
                )
            })?;
        // The same extension, so that the editor highlights YAML as YAML.
        let name = match like.extension() {
            Some(ext) => format!("edit.{}", ext.to_string_lossy()),
            None => "edit".to_string(),
        };
        Ok(PrivateDir {
            file: dir.join(name),
            dir,
        })
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::metadata(&self.file)
            && let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&self.file)
        {
            // On a tmpfs this is moot; elsewhere it keeps the plaintext off the disk blocks.
            let zeros = vec![0u8; meta.len().min(1 << 24) as usize];
            let _ = f.write_all(&zeros).and_then(|_| f.sync_all());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A directory only we can read, in memory when possible.
pub(super) fn private_base() -> PathBuf {
    let writable = |p: &Path| {
        p.is_dir()
            && std::fs::metadata(p).is_ok_and(|m| !m.permissions().readonly())
            && tempfile_probe(p)
    };
    let shm = PathBuf::from("/dev/shm");
    if writable(&shm) {
        return shm;
    }
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && writable(&run)
    {
        return run;
    }
    std::env::temp_dir()
}

pub(super) fn tempfile_probe(dir: &Path) -> bool {
    let p = dir.join(format!(".baton-probe-{}", random_suffix()));
    let ok = std::fs::write(&p, b"").is_ok();
    let _ = std::fs::remove_file(&p);
    ok
}

/// Writes `initial` to a private file, runs the editor on it, and returns what it holds after.
pub(super) fn edit_in_private(like: &Path, initial: &[u8]) -> Result<Vec<u8>, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let private = PrivateDir::new(like)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private.file)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot create the edit file: {e}")))?;
    f.write_all(initial)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the edit file: {e}")))?;
    drop(f);
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    // The shell splits $EDITOR as ansible's shlex.split does ("code --wait" works).
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&private.file)
        .status()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("Unable to execute the command \"{editor}\": {e}"),
            )
        })?;
    if !status.success() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "the editor \"{editor}\" exited with {}; nothing was saved",
                status.code().unwrap_or(-1)
            ),
        ));
    }
    std::fs::read(&private.file)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read the edit file: {e}")))
}

/// Shows text through `$PAGER` (or `less`) on a terminal, else prints it.
pub(super) fn page(data: &[u8]) -> Result<(), Error> {
    if std::io::stdout().is_terminal() {
        let pager = std::env::var("PAGER")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "less".to_string());
        if let Ok(mut child) = std::process::Command::new("sh")
            .arg("-c")
            .arg(&pager)
            .env(
                "LESS",
                std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
            )
            .stdin(std::process::Stdio::piped())
            .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(data);
            }
            if child.wait().is_ok_and(|s| s.success()) {
                return Ok(());
            }
        }
    }
    write_stdout(data)
}
