//! `cargo hfuzz run operations` (see `fuzz/run`): the `operations` target under honggfuzz.

fn main() {
    let mut harness = messenger_fuzz::session::Harness::start();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            harness.operations(data);
        });
    }
}
