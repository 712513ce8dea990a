//! One command on its own session channel: the job a task drives (open with retries, exec,
//! input, the become dialogue, output, exit status, kill on timeout), and giving the session
//! back only once the server has freed it.

use super::*;

/// Why a command's channel failed, explained by [`SshConnection::explain`].
pub(super) enum JobError {
    Ssh(russh::Error),
    /// The channel ended without being closed: the connection is gone.
    Lost,
    ExecRefused,
    /// Reading the command's input on the controller failed; the command was stopped before
    /// it saw EOF, so it cannot mistake a truncated input for a whole one.
    Input(std::io::Error),
    /// Privilege escalation failed (wrong password...); the message says how.
    Escalation(ConnError),
}

/// One command on its own channel, driven by its own task (see the module doc for why).
pub(super) struct Job {
    pub(super) handle: Arc<Handle<Client>>,
    pub(super) cmd: String,
    pub(super) input: Payload,
    pub(super) escalation: Option<Escalation>,
    /// Where to put the process group id the command reports (commands with a time limit).
    pub(super) pgid: Option<Arc<AtomicU32>>,
    /// Held until the server has confirmed the channel's close, so that our count of open
    /// channels never exceeds the server's.
    pub(super) permit: OwnedSemaphorePermit,
    pub(super) cancel: oneshot::Receiver<()>,
    pub(super) done: oneshot::Sender<Result<ExecOutput, JobError>>,
}

impl Job {
    pub(super) async fn run(self) {
        let Job {
            handle,
            cmd,
            input,
            escalation,
            pgid,
            permit,
            mut cancel,
            done,
        } = self;
        let _permit = permit;
        let channel = match open_channel(&handle, &mut cancel).await {
            Some(Ok(channel)) => channel,
            Some(Err(e)) => {
                let _ = done.send(Err(JobError::Ssh(e)));
                return;
            }
            None => return,
        };
        let (mut rx, tx) = channel.split();
        let outcome = {
            let exchange = exchange(&mut rx, &tx, &cmd, input, escalation, pgid.as_deref());
            tokio::pin!(exchange);
            tokio::select! {
                biased;
                _ = &mut cancel => None,
                result = &mut exchange => Some(result),
            }
        };
        match outcome {
            Some(result) => {
                if matches!(result, Err(JobError::Ssh(_))) {
                    let _ = tx.close().await;
                }
                let _ = done.send(result);
            }
            None => abandon(&mut rx, &tx, &cmd).await,
        }
        // The caller has its answer; keep the permit one more round trip (see below).
        sync_with_server(&handle).await;
    }
}

/// Waits for the server to answer a ping sent after our channel close.
///
/// sshd frees a closed session only at the start of its next loop iteration, after it has
/// handled every packet of the batch that carried our close; an open arriving in that same
/// batch finds the slot still taken and is refused ("no more sessions" in the host's log). The
/// ping's answer comes from that batch, so an open sent after it lands in a later iteration,
/// once the slot is free. This keeps us exactly at `MaxSessions` without refusals.
pub(super) async fn sync_with_server(handle: &Handle<Client>) {
    if tokio::time::timeout(CLOSE_GRACE, handle.send_ping())
        .await
        .is_err()
    {
        debug!("no answer to a ping within {CLOSE_GRACE:?}");
    }
}

/// Opens a session channel, retrying when the server says it has no session slot free.
///
/// The semaphore and [`sync_with_server`] keep us within sshd's default `MaxSessions`, but a
/// server configured lower, or a timed-out command sshd would not kill (root sessions) still
/// holding its slot, makes the server refuse. Such a refusal is retried with a short backoff
/// while our other channels finish. `None` when the caller gave up meanwhile.
pub(super) async fn open_channel(
    handle: &Handle<Client>,
    cancel: &mut oneshot::Receiver<()>,
) -> Option<Result<Channel<Msg>, russh::Error>> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match handle.channel_open_session().await {
            Err(russh::Error::ChannelOpenFailure(
                reason @ (ChannelOpenFailure::ConnectFailed
                | ChannelOpenFailure::AdministrativelyProhibited
                | ChannelOpenFailure::ResourceShortage),
            )) if started.elapsed() < OPEN_RETRY_FOR && !handle.is_closed() => {
                debug!("session channel refused ({reason:?}); retrying in {delay:?}");
                tokio::select! {
                    biased;
                    _ = &mut *cancel => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            other => return Some(other),
        }
    }
}

/// Runs the command on an open channel: exec, stdin then EOF, and everything the server sends
/// until it closes the channel. Exit status may come before the last output, so we wait for
/// the close.
///
/// Without an escalation, exec, stdin and EOF go out back to back. With one, the input is held
/// back until the [`Watcher`] says the command runs as the target user, and the password is
/// written only when the prompt shows up.
pub(super) async fn exchange(
    rx: &mut ChannelReadHalf,
    tx: &ChannelWriteHalf<Msg>,
    cmd: &str,
    input: Payload,
    escalation: Option<Escalation>,
    pgid: Option<&AtomicU32>,
) -> Result<ExecOutput, JobError> {
    // want_reply so a refusal is reported, but nothing waits for the reply.
    tx.exec(true, cmd).await.map_err(JobError::Ssh)?;
    let mut watcher = escalation.map(Watcher::new);
    let mut input = Some(input);
    // Read while writing: a command that echoes its input (cat) fills our window while we are
    // still sending. If the command ends without reading all of its input, the loop ends on
    // the close and the writer (waiting for window space that will never come) is dropped.
    let mut writer: Option<Writer<'_>> = None;
    if watcher.is_none() {
        writer = input.take().map(|i| Box::pin(send_input(tx, i)) as _);
    }
    let mut output = ExecOutput::default();
    // The first stderr line of a command with a time limit is its process group id.
    let mut head: Option<Vec<u8>> = pgid.map(|_| Vec::new());
    let mut refused = false;
    loop {
        let msg = tokio::select! {
            biased;
            msg = rx.wait() => msg,
            sent = async {
                match writer.as_mut() {
                    Some(w) => w.as_mut().await,
                    None => std::future::pending().await,
                }
            } => {
                writer = None;
                match sent {
                    Ok(()) => {}
                    Err(WriteError::Read(e)) => {
                        abandon(rx, tx, cmd).await;
                        return Err(JobError::Input(e));
                    }
                    Err(WriteError::Ssh(e)) => debug!("stdin not fully delivered: {e}"),
                }
                continue;
            }
        };
        let action = match msg {
            Some(ChannelMsg::Data { data }) => match watcher.as_mut() {
                Some(w) => w.stdout(&data, &mut output.stdout),
                None => {
                    output.stdout.extend_from_slice(&data);
                    Action::Nothing
                }
            },
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                let data: Cow<[u8]> = match (&mut head, pgid) {
                    (Some(buf), Some(slot)) => {
                        buf.extend_from_slice(&data);
                        let Some(nl) = buf.iter().position(|b| *b == b'\n') else {
                            continue;
                        };
                        let line = String::from_utf8_lossy(&buf[..nl]).into_owned();
                        let rest = buf[nl + 1..].to_vec();
                        head = None;
                        match line.strip_prefix(PGID_MARKER).and_then(|p| p.parse().ok()) {
                            Some(id) => {
                                slot.store(id, Ordering::SeqCst);
                                Cow::Owned(rest)
                            }
                            None => {
                                let mut all = line.into_bytes();
                                all.push(b'\n');
                                all.extend_from_slice(&rest);
                                Cow::Owned(all)
                            }
                        }
                    }
                    _ => Cow::Borrowed(&data[..]),
                };
                match watcher.as_mut() {
                    Some(w) => w.stderr(&data, &mut output.stderr),
                    None => {
                        output.stderr.extend_from_slice(&data);
                        Action::Nothing
                    }
                }
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                output.rc = Some(i32::try_from(exit_status).unwrap_or(-1));
                Action::Nothing
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                ..
            }) => {
                debug!(
                    "command killed by signal {signal_name:?} (core dumped: {core_dumped}) \
                     {error_message}"
                );
                Action::Nothing
            }
            Some(ChannelMsg::Failure) => {
                refused = true;
                let _ = tx.close().await;
                Action::Nothing
            }
            Some(ChannelMsg::Close) => break,
            // The reply to exec, EOF and window changes need nothing from us.
            Some(ChannelMsg::Success | ChannelMsg::Eof | ChannelMsg::WindowAdjusted { .. }) => {
                Action::Nothing
            }
            Some(other) => {
                debug!("channel message ignored: {other:?}");
                Action::Nothing
            }
            None => return Err(JobError::Lost),
        };
        match action {
            Action::Nothing => {}
            Action::SendPassword => {
                if let Some(w) = &watcher {
                    debug!("answering the privilege escalation prompt");
                    tx.data_bytes(w.password_line())
                        .await
                        .map_err(JobError::Ssh)?;
                }
            }
            Action::Ready => {
                writer = input.take().map(|i| Box::pin(send_input(tx, i)) as _);
            }
            Action::Fail(why) => {
                drop(writer);
                abandon(rx, tx, cmd).await;
                return Err(JobError::Escalation(ConnError::Failed(why)));
            }
        }
    }
    if let Some(buf) = head {
        output.stderr.splice(0..0, buf);
    }
    if refused {
        return Err(JobError::ExecRefused);
    }
    if let Some(w) = watcher {
        w.finish(&mut output.stdout, &mut output.stderr)
            .map_err(JobError::Escalation)?;
    }
    Ok(output)
}

/// Why the input could not be sent.
pub(super) enum WriteError {
    Ssh(russh::Error),
    Read(std::io::Error),
}

/// Sends the command's input, then EOF. A reader is sent in packet-sized chunks, each only
/// once the channel's window has room, so memory stays flat however large the input is.
pub(super) async fn send_input(
    tx: &ChannelWriteHalf<Msg>,
    input: Payload,
) -> Result<(), WriteError> {
    match input {
        Payload::Bytes(data) => {
            if !data.is_empty() {
                tx.data_bytes(data).await.map_err(WriteError::Ssh)?;
            }
        }
        Payload::Reader(mut reader) => loop {
            let mut chunk = vec![0u8; MAX_PACKET_SIZE as usize];
            let n = reader.read(&mut chunk).await.map_err(WriteError::Read)?;
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            tx.data_bytes(chunk).await.map_err(WriteError::Ssh)?;
        },
    }
    tx.eof().await.map_err(WriteError::Ssh)
}

/// Stops a command nobody waits for any more: sshd kills the command's process group on a
/// `signal` request (OpenSSH 7.9+), and until it exits the session keeps its slot in
/// `MaxSessions` even after we close the channel. Then waits (bounded) for the close to be
/// confirmed before the caller's permit is released.
pub(super) async fn abandon(rx: &mut ChannelReadHalf, tx: &ChannelWriteHalf<Msg>, cmd: &str) {
    debug!("abandoning command {cmd:?}: killing it and closing its channel");
    let _ = tx.signal(Sig::KILL).await;
    let _ = tx.eof().await;
    let _ = tx.close().await;
    let drained = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(msg) = rx.wait().await {
            if matches!(msg, ChannelMsg::Close) {
                break;
            }
        }
    })
    .await;
    if drained.is_err() {
        debug!("channel close not confirmed within {CLOSE_GRACE:?}");
    }
}
