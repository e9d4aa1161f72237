//! Prints the run a `core_events` input stands for:
//! `cargo run -p tether-fuzz --example describe_core_input -- FILE`.

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: describe_core_input FILE");
    let data = std::fs::read(&path).expect("readable input");
    for line in tether_fuzz::describe_core_input(&data) {
        println!("{line}");
    }
}
