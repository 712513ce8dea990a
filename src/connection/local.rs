//! The `local` transport: runs commands on the controller itself with `/bin/sh -c`.

use super::{BoxFuture, ConnError, Connection, ExecOutput};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs commands on the controller, as the user baton runs as.
#[derive(Debug, Default)]
pub struct LocalConnection;

impl LocalConnection {
    pub fn new() -> Self {
        LocalConnection
    }

    async fn run(
        cmd: &str,
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ConnError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ConnError::Failed(format!("cannot start /bin/sh: {e}")))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A command that does not read its input closes the pipe early; that is not an error.
            let _ = pipe.write_all(data).await;
            drop(pipe);
        }
        let wait = child.wait_with_output();
        let out = match timeout {
            Some(t) => tokio::time::timeout(t, wait)
                .await
                .map_err(|_| ConnError::Timeout(t))?,
            None => wait.await,
        }
        .map_err(|e| ConnError::Failed(format!("waiting for /bin/sh: {e}")))?;
        Ok(ExecOutput {
            rc: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

impl Connection for LocalConnection {
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'a, Result<ExecOutput, ConnError>> {
        Box::pin(Self::run(cmd, stdin, timeout))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
