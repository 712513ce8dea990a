//! A panic is a bug in baton, but it must not take the run's ending with it: the hosts already
//! done are counted in the recap, and a JSON consumer still gets its last event. This module
//! turns a panic while polling a future into an error value the executor can report.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that ends with `Err(message)` when polling `inner` panics.
pub struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchUnwind<F> {
    pub fn new(inner: F) -> Self {
        CatchUnwind {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().inner;
        // Unwind safety: after a panic the inner future is never polled again, and what it
        // borrowed is only read to report what was done before.
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// A fault injected for tests, in debug builds only: panics when the environment variable
/// `BATON_FAULT` is `POINT:NAME` (`task:NAME` while a host runs the task so named,
/// `play:NAME` when the play so named starts, `cli:load` before a command's work). Nothing
/// else in baton panics on purpose, and the tests of what a panic leaves behind need one.
pub fn fault(point: &str, name: &str) {
    if cfg!(debug_assertions)
        && let Some(want) = std::env::var_os("BATON_FAULT")
        && want.to_str() == Some(&format!("{point}:{name}"))
    {
        panic!("fault injected at {point}:{name} (BATON_FAULT)");
    }
}

/// The text a panic was raised with (`panic!("...")`, `expect`, an index out of bounds).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_polling_becomes_an_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ok = rt.block_on(CatchUnwind::new(async { 7 }));
        assert_eq!(ok, Ok(7));
        let failed: Result<(), String> = rt.block_on(CatchUnwind::new(async {
            tokio::task::yield_now().await;
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            panic!("index {i} is out of range");
        }));
        assert_eq!(failed, Err("index 3 is out of range".to_string()));
    }
}
