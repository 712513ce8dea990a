//! The `baton` binary: everything is in the library; this only hands over the exit status.

fn main() {
    std::process::exit(baton::cli::main());
}
