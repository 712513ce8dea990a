//! The `local` transport: runs commands on the controller itself with `/bin/sh`.
//!
//! Same contract as the ssh transport: the script travels on the standard input of a constant
//! command, never as an argument ([`launch`]); input bytes or a streamed reader; a sudo password
//! dialogue ([`Watcher`]) carried out before the input flows; and a time limit that kills the
//! command's whole process group (each command gets its own group for that reason). Text for
//! the login shell (`raw`) runs in `/bin/sh` here, as Ansible's local connection runs it.

use super::become_::{Action, Watcher};
use super::launch::{self, Launch, Payload};
use super::{BoxFuture, ConnError, Connection, ExecOutput, ExecRequest, Process, spawn_refused};
use std::process::Stdio;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};

/// Runs commands on the controller, as the user baton runs as.
#[derive(Debug, Default)]
pub struct LocalConnection {
    become_password: Option<String>,
}

/// Size of the chunks input is copied in.
const CHUNK: usize = 64 * 1024;

impl LocalConnection {
    pub fn new() -> Self {
        LocalConnection::default()
    }

    /// A local connection that answers sudo with `password` (`ansible_become_password`).
    pub fn with_become_password(password: Option<String>) -> Self {
        LocalConnection {
            become_password: password,
        }
    }

    async fn run(req: ExecRequest<'_>) -> Result<ExecOutput, ConnError> {
        let ExecRequest {
            cmd,
            stdin,
            become_,
            timeout,
            escalation,
            login_shell: _,
        } = req;
        let Launch { command, input } = launch::launch(
            cmd,
            stdin,
            become_.as_ref(),
            escalation.as_ref(),
            false,
            false,
        );
        let stdin = input;
        // The plain case (no become, no framing) is a shell that reads its program on stdin:
        // start it directly rather than through `sh -c 'exec /bin/sh'`, which costs a second
        // exec of the shell for every command.
        let mut shell = Command::new("/bin/sh");
        if command != "exec /bin/sh" {
            shell.arg("-c").arg(&command);
        }
        let mut child = shell
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout can stop everything it started.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ConnError::Failed(format!("cannot start /bin/sh: {e}")))?;
        let pid = child.id();
        let pipe = child.stdin.take();
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let work = async {
            let mut output = ExecOutput::default();
            let mut watcher = escalation.map(Watcher::new);
            let mut pipe = pipe;
            let mut input = Some(stdin);
            let mut writer: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>> = None;
            if watcher.is_none() {
                writer = match (pipe.take(), input.take()) {
                    (Some(p), Some(i)) => Some(Box::pin(feed(p, i))),
                    _ => None,
                };
            }
            let (mut out_buf, mut err_buf) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
            let (mut out_open, mut err_open) = (true, true);
            while out_open || err_open {
                let action = tokio::select! {
                    n = out.read(&mut out_buf), if out_open => {
                        let n = n.unwrap_or(0);
                        if n == 0 {
                            out_open = false;
                            Action::Nothing
                        } else {
                            match watcher.as_mut() {
                                Some(w) => w.stdout(&out_buf[..n], &mut output.stdout),
                                None => {
                                    output.stdout.extend_from_slice(&out_buf[..n]);
                                    Action::Nothing
                                }
                            }
                        }
                    }
                    n = err.read(&mut err_buf), if err_open => {
                        let n = n.unwrap_or(0);
                        if n == 0 {
                            err_open = false;
                            Action::Nothing
                        } else {
                            match watcher.as_mut() {
                                Some(w) => w.stderr(&err_buf[..n], &mut output.stderr),
                                None => {
                                    output.stderr.extend_from_slice(&err_buf[..n]);
                                    Action::Nothing
                                }
                            }
                        }
                    }
                    _ = async {
                        match writer.as_mut() {
                            Some(w) => w.as_mut().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        writer = None;
                        Action::Nothing
                    }
                };
                match action {
                    Action::Nothing => {}
                    Action::SendPassword => {
                        if let (Some(p), Some(w)) = (pipe.as_mut(), watcher.as_ref()) {
                            let _ = p.write_all(&w.password_line()).await;
                            let _ = p.flush().await;
                        }
                    }
                    Action::Ready => {
                        writer = match (pipe.take(), input.take()) {
                            (Some(p), Some(i)) => Some(Box::pin(feed(p, i))),
                            _ => None,
                        };
                    }
                    Action::Fail(why) => return Err(ConnError::Failed(why)),
                }
            }
            drop(writer);
            drop(pipe);
            if let Some(w) = watcher {
                w.finish(&mut output.stdout, &mut output.stderr)?;
            }
            Ok(output)
        };
        let result = match timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(r) => r,
                Err(_) => {
                    kill_group(pid);
                    return Err(ConnError::Timeout(t));
                }
            },
            None => work.await,
        };
        let mut output = match result {
            Ok(o) => o,
            Err(e) => {
                kill_group(pid);
                return Err(e);
            }
        };
        let status = child
            .wait()
            .await
            .map_err(|e| ConnError::Failed(format!("waiting for /bin/sh: {e}")))?;
        output.rc = status.code();
        Ok(output)
    }
}

/// Starts a long-lived process ([`Connection::spawn`]): `/bin/sh` reading the framed script,
/// then the caller's input, and a task that carries both ways until either side is done.
fn spawn(req: ExecRequest<'_>) -> Result<Process, ConnError> {
    if let Some(refused) = spawn_refused(&req) {
        return Err(refused);
    }
    let (command, head) = launch::process(req.cmd, req.become_.as_ref());
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ConnError::Failed(format!("cannot start /bin/sh: {e}")))?;
    let (Some(mut pipe), Some(mut out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(ConnError::Failed("/bin/sh has no pipes".into()));
    };
    let (input, mut inputs) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let (outputs, output) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        if pipe.write_all(&head).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; CHUNK];
        let mut pipe = Some(pipe);
        loop {
            tokio::select! {
                n = out.read(&mut buf) => match n {
                    Ok(n) if n > 0 => {
                        if outputs.send(buf[..n].to_vec()).await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                },
                chunk = inputs.recv(), if pipe.is_some() => match (chunk, pipe.as_mut()) {
                    (Some(bytes), Some(p)) => {
                        if p.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                    _ => {
                        // The caller is done: EOF, and the process ends on its own.
                        pipe = None;
                    }
                },
            }
        }
        drop(pipe);
        let _ = child.wait().await;
    });
    Ok(Process { input, output })
}

/// Copies the input into the command's stdin, then closes it. A command that stops reading
/// early closes the pipe: that is not an error.
async fn feed(mut pipe: ChildStdin, input: Payload) {
    match input {
        Payload::Bytes(data) => {
            let _ = pipe.write_all(&data).await;
        }
        Payload::Reader(mut reader) => {
            let _ = copy(&mut reader, &mut pipe).await;
        }
    }
    let _ = pipe.shutdown().await;
}

async fn copy(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    pipe: &mut ChildStdin,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        pipe.write_all(&buf[..n]).await?;
    }
}

/// Kills the process group the command leads (TERM, then KILL).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.filter(|p| *p > 1) {
        let pid = pid.to_string();
        let group = format!("-{pid}");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
    }
}

impl Connection for LocalConnection {
    fn run<'a>(&'a self, req: ExecRequest<'a>) -> BoxFuture<'a, Result<ExecOutput, ConnError>> {
        Box::pin(Self::run(req))
    }

    fn spawn<'a>(&'a self, req: ExecRequest<'a>) -> BoxFuture<'a, Result<Process, ConnError>> {
        let started = spawn(req);
        Box::pin(async move { started })
    }

    fn become_password(&self) -> Option<&str> {
        self.become_password.as_deref()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long-lived process gets its script framed, then the caller's input, and ends when
    /// the caller closes its input; a request with an escalation is refused.
    #[tokio::test]
    async fn a_spawned_process_reads_what_is_sent_until_its_input_closes() {
        let conn = LocalConnection::new();
        let mut p = conn
            .spawn(ExecRequest::new(
                "echo ready; while IFS= read -r l; do echo \"got $l\"; done; echo bye",
            ))
            .await
            .unwrap();
        p.input.send(b"one\n".to_vec()).await.unwrap();
        p.input.send(b"two\n".to_vec()).await.unwrap();
        drop(p.input);
        let mut all = Vec::new();
        while let Some(chunk) = p.output.recv().await {
            all.extend(chunk);
        }
        assert_eq!(
            String::from_utf8_lossy(&all),
            "ready\ngot one\ngot two\nbye\n"
        );
        let sudo = crate::connection::Become {
            method: "sudo".into(),
            user: "root".into(),
            flags: None,
        };
        let refused = conn
            .spawn(ExecRequest {
                escalation: Some(crate::connection::become_::escalation(&sudo, "pw")),
                become_: Some(sudo),
                ..ExecRequest::new("true")
            })
            .await;
        assert!(refused.is_err());
    }
}
