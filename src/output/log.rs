//! The console on stderr, shared by the log (tracing's `-v` lines) and the progress bar: a log
//! line is written whole while the bar is suspended (cleared, then redrawn below the line),
//! so log lines scroll above the bar instead of tearing it, as tracing-indicatif does.
//!
//! The CLI makes one [`Console`], hands a [`LogSink`] on it to the tracing subscriber, and the
//! same console to [`super::progress::Progress`], which attaches its bar while it draws. Vault
//! secrets are masked in everything written, with the run's [`Masker`].

use crate::vault::Masker;
use indicatif::ProgressBar;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where lines for stderr go, with the progress bar (if one is drawn) out of their way.
pub struct Console {
    bar: Mutex<Option<ProgressBar>>,
    out: Mutex<Box<dyn Write + Send>>,
    masker: Arc<Masker>,
}

impl Console {
    /// A console on the process's stderr.
    pub fn stderr(masker: Arc<Masker>) -> Arc<Console> {
        Console::on(Box::new(std::io::stderr()), masker)
    }

    /// A console on any writer (tests).
    pub fn on(out: Box<dyn Write + Send>, masker: Arc<Masker>) -> Arc<Console> {
        Arc::new(Console {
            bar: Mutex::new(None),
            out: Mutex::new(out),
            masker,
        })
    }

    /// The masker this console masks with.
    pub fn masker(&self) -> &Arc<Masker> {
        &self.masker
    }

    /// The bar to keep out of the way of lines, while it is drawn.
    pub fn attach(&self, bar: &ProgressBar) {
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
    }

    /// The bar is gone.
    pub fn detach(&self) {
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Writes text (whole lines) with the bar suspended, secrets masked.
    pub fn write(&self, text: &str) {
        let text = self.masker.mask(text);
        let emit = || {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        };
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(emit),
            None => emit(),
        }
    }
}

/// tracing's writer: collects one event's text and writes it through the [`Console`] at once.
pub struct LogSink(pub Arc<Console>);

/// One event's text, written when tracing is done with it.
pub struct LogLine {
    console: Arc<Console>,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.console.write(&String::from_utf8_lossy(&self.buf));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            console: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_log_line_is_written_whole_with_the_bar_attached_and_secrets_masked() {
        let seen = Shared::default();
        let masker = Masker::new();
        let console = Console::on(Box::new(seen.clone()), masker.clone());
        let bar = ProgressBar::hidden();
        console.attach(&bar);
        masker.register("s3cret-in-log");
        let sink = LogSink(console.clone());
        {
            let mut w = sink.make_writer();
            write!(w, "connecting to web1").unwrap();
            // Nothing is written before the whole event is there.
            assert!(seen.0.lock().unwrap().is_empty());
            writeln!(w, " with s3cret-in-log").unwrap();
        }
        console.detach();
        console.write("after\n");
        let text = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            format!(
                "connecting to web1 with {}\nafter\n",
                crate::vault::mask::MASK
            )
        );
    }
}
