//! known_hosts files: reading, matching and recording host keys (OpenSSH's format).
