//! One connection per host for the whole run, opened on first use and shared by every task
//! (and every play and batch) that reaches that host as the same user.

use crate::connection::{self, ConnError, ConnectSpec, Connection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Slot = Arc<OnceCell<Result<Arc<dyn Connection>, ConnError>>>;

/// The open connections of a run.
#[derive(Default)]
pub struct Pool {
    slots: Mutex<HashMap<String, Slot>>,
}

fn key(spec: &ConnectSpec) -> String {
    format!(
        "{:?}|{}|{}|{}|{}",
        spec.transport, spec.user, spec.address, spec.port, spec.name
    )
}

impl Pool {
    /// The connection for a spec, opening it if this is the first use. Concurrent callers for
    /// the same host wait for the one attempt instead of each opening their own.
    pub async fn get(&self, spec: &ConnectSpec) -> Result<Arc<dyn Connection>, ConnError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(key(spec)).or_default().clone()
        };
        slot.get_or_init(|| async { connection::connect(spec).await })
            .await
            .clone()
    }

    /// Forgets a connection that broke, so that a later task may connect afresh.
    pub fn invalidate(&self, spec: &ConnectSpec) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.remove(&key(spec));
    }

    /// Closes every open connection.
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = {
            let mut s = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            s.drain().map(|(_, v)| v).collect()
        };
        for slot in slots {
            if let Some(Ok(conn)) = slot.get() {
                conn.close().await;
            }
        }
    }
}
