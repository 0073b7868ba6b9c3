//! `cargo hfuzz run sync_cursors` (see `fuzz/run`): the `sync_cursors` target under honggfuzz.

fn main() {
    let mut harness = messenger_fuzz::session::Harness::start();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            harness.sync_cursor(data);
        });
    }
}
