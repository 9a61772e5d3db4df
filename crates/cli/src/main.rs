//! The `kadanoff` command line (being built).

fn main() {
    println!("kadanoff {}", env!("CARGO_PKG_VERSION"));
}
