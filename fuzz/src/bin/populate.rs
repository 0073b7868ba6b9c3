//! `cargo hfuzz run populate` (see `fuzz/run`): the `populate` target under honggfuzz.

fn main() {
    let mut harness = messenger_fuzz::session::Harness::start();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            harness.populate(data);
        });
    }
}
