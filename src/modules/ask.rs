//! Questions a module asks the operator (today `pause`'s prompt). A module never touches the
//! terminal: it hands the question to the [`Asker`] that the executor installed around the
//! host's task ([`Asker::scope`]) and waits for the answer. The executor turns each question
//! into an `Event::Prompt`, which the output layer answers on the terminal (suspending any
//! progress bar), the way `vars_prompt` and `--step` are asked.
//!
//! The asker travels with the task as a tokio task-local, not as a `ModuleCtx` field: it is
//! the executor's channel back to its own reporter, valid only while that task runs, and
//! modules that do not ask never see it. With no asker installed (a library caller that runs
//! a module on its own) nobody can answer, and [`ask`] says so at once.

use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// A question on its way to the operator, and where the answer goes.
pub struct Question {
    /// The text shown, as the module words it.
    pub prompt: String,
    /// Echo off while typing.
    pub private: bool,
    /// The line typed (without its newline); `None` when nobody can answer (no terminal).
    pub reply: oneshot::Sender<Option<String>>,
}

/// The sending end the executor installs around a task, with the task's name (as its banner
/// shows it) for the question's header; clones share the channel.
#[derive(Clone)]
pub struct Asker {
    tx: mpsc::UnboundedSender<Question>,
    task: std::sync::Arc<str>,
}

tokio::task_local! {
    static ASKER: Asker;
}

impl Asker {
    /// An asker and the receiver the executor answers from. The receiver ends when every
    /// clone of the asker is gone (the tasks it was installed in are done).
    pub fn channel(task: &str) -> (Asker, mpsc::UnboundedReceiver<Question>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = task.into();
        (Asker { tx, task }, rx)
    }

    /// `fut`, with this asker installed for the modules it runs.
    pub fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        ASKER.scope(self, fut)
    }
}

/// The name of the task whose modules the installed asker serves (`None` when there is none).
pub fn task_name() -> Option<String> {
    ASKER.try_with(|a| a.task.to_string()).ok()
}

/// Asks the operator through the installed asker; `None` when there is none or nobody could
/// answer (no terminal, end of input).
pub async fn ask(prompt: String, private: bool) -> Option<String> {
    let asker = ASKER.try_with(Asker::clone).ok()?;
    let (reply, answer) = oneshot::channel();
    asker
        .tx
        .send(Question {
            prompt,
            private,
            reply,
        })
        .ok()?;
    answer.await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_question_reaches_the_installed_asker_and_its_answer_comes_back() {
        let (asker, mut questions) = Asker::channel("the task");
        let answering = tokio::spawn(async move {
            let q = questions.recv().await.expect("a question");
            assert_eq!((q.prompt.as_str(), q.private), ("Name:", true));
            let _ = q.reply.send(Some("ada".into()));
            // Every asker is gone once the task is done: the channel ends.
            assert!(questions.recv().await.is_none());
        });
        let (got, task) = asker
            .scope(async { (ask("Name:".into(), true).await, task_name()) })
            .await;
        assert_eq!(got.as_deref(), Some("ada"));
        assert_eq!(task.as_deref(), Some("the task"));
        answering.await.unwrap();
    }

    #[tokio::test]
    async fn without_an_asker_nobody_answers() {
        assert_eq!(ask("Name:".into(), false).await, None);
        assert_eq!(task_name(), None);
    }
}
