//! The long-lived `/bin/sh` of a host: plain commands written to it one after another and
//! their output read back in frames, so that most commands cost no new session on the host.

use super::*;

/// How long the long-lived shell may take to answer its first command.
pub(super) const RUNNER_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether commands may go to a long-lived shell: yes, unless `BATON_SSH_RUNNER=0` (each
/// command then gets a channel of its own, as before; for comparisons and debugging).
pub(super) fn runner_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BATON_SSH_RUNNER").map_or(true, |v| v != "0"))
}

/// The host's long-lived shell, or why there is none.
#[derive(Default)]
pub(super) struct RunnerSlot {
    pub(super) runner: Option<Runner>,
    /// It could not be started, or never answered: this connection uses channels only.
    pub(super) unusable: bool,
}

/// One `/bin/sh` on a channel of its own, started at the host's first plain command and kept
/// for the rest of the run, that runs plain commands one after another: a command costs a write
/// and the output, where a channel of its own costs a session on the host (sshd forks a
/// process and starts the login shell for it) and round trips to open and close it. Each
/// command runs in a subshell (`( eval '...' )`), so what it changes (directory, variables,
/// traps, `exit`) stays its own and a syntax error in it cannot break the frame; its standard
/// input is `/dev/null` or its input, which travels as a quoted literal in the text (see
/// [`launch::program`]; a command with `become` is `sudo ... /bin/sh` with its script as such a
/// program, itself the literal input). After it
/// the shell prints a random marker with the exit status on stdout and the marker on stderr:
/// the output is what came before them. A command with a time limit, a password dialogue, or
/// large or binary input gets a channel of its own (its process group can be killed, its input
/// streamed), as does one arriving while the shell is busy.
pub(super) struct Runner {
    pub(super) reqs: mpsc::Sender<RunnerReq>,
    pub(super) mark: String,
    /// It has not answered yet. Its first command is written right behind a probe (an empty
    /// frame) in the same write: when the probe's frame does not come back (the shell could
    /// not start, or does not frame commands this way), the command behind it cannot have run
    /// either, and goes to a channel.
    pub(super) fresh: bool,
}

pub(super) struct RunnerReq {
    pub(super) script: Vec<u8>,
    /// The script starts with the probe: its frame must come back within
    /// [`RUNNER_PROBE_TIMEOUT`].
    pub(super) probe: bool,
    pub(super) reply: oneshot::Sender<Result<ExecOutput, RunnerFailure>>,
}

/// Why a command on the long-lived shell has no output.
pub(super) enum RunnerFailure {
    /// The shell had ended before the command was written to it: the command did not run.
    NotSent,
    /// The command was written; what became of it is unknown.
    Job(JobError),
}

/// Why the long-lived shell could not be started.
pub(super) enum StartFailure {
    /// No session slot was free (the host's other commands hold them all): try again later.
    Busy,
    /// The host has no shell that works this way: use channels for the rest of the run.
    Broken,
}

impl Runner {
    /// The text the shell reads for one command; `input` is not empty and holds no NUL byte.
    pub(super) fn script(&self, cmd: &str, input: Option<&[u8]>) -> Vec<u8> {
        // Input travels in the command's text, as a quoted literal; the shell runs the line
        // only once it has all of it (see `launch::program`).
        let mut text = Vec::new();
        if self.fresh {
            text.extend_from_slice(self.frame_end("0").as_bytes());
        }
        text.extend_from_slice(&launch::program(cmd, input, true));
        text.extend_from_slice(self.frame_end("\"$?\"").as_bytes());
        text
    }

    /// The line that ends a command's frame: the marker and `status` on stdout, the marker on
    /// stderr.
    pub(super) fn frame_end(&self, status: &str) -> String {
        format!(
            "printf '%s %d\\n' '{m}' {status}; printf '%s' '{m}' >&2\n",
            m = self.mark
        )
    }

    pub(super) async fn call(
        &self,
        script: Vec<u8>,
        probe: bool,
    ) -> Result<ExecOutput, RunnerFailure> {
        let (reply, answer) = oneshot::channel();
        self.reqs
            .send(RunnerReq {
                script,
                probe,
                reply,
            })
            .await
            .map_err(|_| RunnerFailure::NotSent)?;
        answer
            .await
            .map_err(|_| RunnerFailure::Job(JobError::Lost))?
    }
}

/// The task that owns the long-lived shell's channel: writes each command, collects its output
/// up to the markers, and between commands keeps reading (and dropping) whatever the channel
/// brings, so a full queue never stalls the connection. Ends, closing the channel, when the
/// [`Runner`] is dropped or the shell exits.
pub(super) async fn drive_runner(
    rx: ChannelReadHalf,
    tx: ChannelWriteHalf<Msg>,
    mark: Vec<u8>,
    mut reqs: mpsc::Receiver<RunnerReq>,
    _permit: OwnedSemaphorePermit,
) {
    let mut frames = Frames {
        rx,
        mark,
        out: Vec::new(),
        err: Vec::new(),
    };
    loop {
        // The channel first: a shell that has ended is noticed before a command is written to
        // it.
        let req = tokio::select! {
            biased;
            msg = frames.rx.wait() => match msg {
                Some(ChannelMsg::Data { .. } | ChannelMsg::ExtendedData { .. }
                    | ChannelMsg::Success | ChannelMsg::WindowAdjusted { .. }) => continue,
                other => {
                    debug!("the long-lived shell ended: {other:?}");
                    // A command queued meanwhile was never written: its caller may run it
                    // elsewhere.
                    reqs.close();
                    while let Ok(r) = reqs.try_recv() {
                        let _ = r.reply.send(Err(RunnerFailure::NotSent));
                    }
                    let _ = tx.close().await;
                    return;
                }
            },
            req = reqs.recv() => match req {
                Some(r) => r,
                None => {
                    let _ = tx.eof().await;
                    let _ = tx.close().await;
                    return;
                }
            },
        };
        if let Err(e) = tx.data_bytes(req.script).await {
            let failure = if req.probe {
                RunnerFailure::NotSent
            } else {
                RunnerFailure::Job(JobError::Ssh(e))
            };
            let _ = req.reply.send(Err(failure));
            return;
        }
        if req.probe {
            match tokio::time::timeout(RUNNER_PROBE_TIMEOUT, frames.next()).await {
                Ok(Ok(_)) => {}
                other => {
                    debug!(
                        "the long-lived shell did not answer its probe: {:?}",
                        other.map(|r| r.err())
                    );
                    let _ = req.reply.send(Err(RunnerFailure::NotSent));
                    let _ = tx.close().await;
                    return;
                }
            }
        }
        match frames.next().await {
            Ok(out) => {
                let _ = req.reply.send(Ok(out));
            }
            Err(other) => {
                debug!("the long-lived shell ended during a command: {other:?}");
                let _ = req.reply.send(Err(RunnerFailure::Job(JobError::Lost)));
                let _ = tx.close().await;
                return;
            }
        }
        // Whatever came after the frame (a background process of the command writing on) is
        // not the next command's output.
        frames.out.clear();
        frames.err.clear();
    }
}

/// The long-lived shell's output, cut into frames: a command's stdout runs up to the line
/// `MARK STATUS`, its stderr up to `MARK`. What follows a frame in the same read stays for the
/// next one (the probe's frame and the first command's output can come in one packet).
pub(super) struct Frames {
    pub(super) rx: ChannelReadHalf,
    pub(super) mark: Vec<u8>,
    pub(super) out: Vec<u8>,
    pub(super) err: Vec<u8>,
}

impl Frames {
    /// The next frame, or the message that ended the channel before it was complete.
    pub(super) async fn next(&mut self) -> Result<ExecOutput, Option<ChannelMsg>> {
        let mut frame = ExecOutput::default();
        let (mut out_done, mut err_done) = (false, false);
        // Where the marker search resumes: the marker cannot start before this.
        let (mut out_scan, mut err_scan) = (0, 0);
        loop {
            if !out_done
                && let Some(at) = find(&self.out[out_scan..], &self.mark).map(|i| i + out_scan)
                && let Some(nl) = self.out[at..].iter().position(|b| *b == b'\n')
            {
                let nl = at + nl;
                let status = String::from_utf8_lossy(&self.out[at + self.mark.len()..nl])
                    .trim()
                    .to_string();
                frame.rc = status.parse().ok();
                let rest = self.out.split_off(nl + 1);
                frame.stdout = std::mem::replace(&mut self.out, rest);
                frame.stdout.truncate(at);
                out_done = true;
            } else if !out_done {
                out_scan = self.out.len().saturating_sub(self.mark.len() + 24);
            }
            if !err_done
                && let Some(at) = find(&self.err[err_scan..], &self.mark).map(|i| i + err_scan)
            {
                let rest = self.err.split_off(at + self.mark.len());
                frame.stderr = std::mem::replace(&mut self.err, rest);
                frame.stderr.truncate(at);
                err_done = true;
            } else if !err_done {
                err_scan = self.err.len().saturating_sub(self.mark.len());
            }
            if out_done && err_done {
                return Ok(frame);
            }
            match self.rx.wait().await {
                Some(ChannelMsg::Data { data }) => self.out.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    self.err.extend_from_slice(&data)
                }
                Some(
                    ChannelMsg::ExtendedData { .. }
                    | ChannelMsg::Success
                    | ChannelMsg::WindowAdjusted { .. },
                ) => {}
                other => return Err(other),
            }
        }
    }
}

/// The first position of `needle` in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
