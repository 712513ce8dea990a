//! Long-lived processes on a channel of their own ([`Connection::spawn`]): the script goes
//! framed on the channel's input, then the channel carries the process's standard input and
//! output for as long as the caller keeps it.

use super::*;
use crate::connection::{Process, spawn_refused};

/// How many chunks may wait in each direction.
const QUEUE: usize = 16;

impl SshConnection {
    pub(super) async fn spawn_process(&self, req: ExecRequest<'_>) -> Result<Process, ConnError> {
        self.ensure_open()?;
        if let Some(refused) = spawn_refused(&req) {
            return Err(refused);
        }
        let permit = self
            .sessions
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.closed_error())?;
        let (_never, mut cancel) = oneshot::channel::<()>();
        let channel = match open_channel(&self.handle, &mut cancel).await {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(self.explain(JobError::Ssh(e))),
            None => return Err(self.lost()),
        };
        let (command, head) = launch::process(req.cmd, req.become_.as_ref());
        let (rx, tx) = channel.split();
        tx.exec(true, command)
            .await
            .map_err(|e| self.explain(JobError::Ssh(e)))?;
        tx.data_bytes(head)
            .await
            .map_err(|e| self.explain(JobError::Ssh(e)))?;
        let (input, inputs) = mpsc::channel(QUEUE);
        let (outputs, output) = mpsc::channel(QUEUE);
        tokio::spawn(drive_process(
            self.handle.clone(),
            rx,
            tx,
            inputs,
            outputs,
            permit,
        ));
        debug!("long-lived process on {}", self.target);
        Ok(Process { input, output })
    }
}

/// The task that owns a long-lived process's channel: writes what the caller sends, hands back
/// what the process prints, and closes the channel when either side is done (the caller
/// dropping its input, or the process ending).
async fn drive_process(
    handle: Arc<Handle<Client>>,
    mut rx: ChannelReadHalf,
    tx: ChannelWriteHalf<Msg>,
    mut inputs: mpsc::Receiver<Vec<u8>>,
    outputs: mpsc::Sender<Vec<u8>>,
    _permit: OwnedSemaphorePermit,
) {
    loop {
        tokio::select! {
            msg = rx.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    if outputs.send(data.to_vec()).await.is_err() {
                        break;
                    }
                }
                Some(ChannelMsg::ExtendedData { .. } | ChannelMsg::Success
                    | ChannelMsg::WindowAdjusted { .. } | ChannelMsg::ExitStatus { .. }) => {}
                other => {
                    debug!("a long-lived process ended: {other:?}");
                    break;
                }
            },
            chunk = inputs.recv() => match chunk {
                Some(bytes) => {
                    if tx.data_bytes(bytes).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = tx.eof().await;
                    break;
                }
            },
        }
    }
    drop(outputs);
    let _ = tx.close().await;
    sync_with_server(&handle).await;
}
