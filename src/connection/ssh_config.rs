//! The OpenSSH client configuration (`~/.ssh/config`).
