//! `cargo hfuzz run rest` (see `fuzz/run`): the `rest` target under honggfuzz.

fn main() {
    let mut target = messenger_fuzz::rest::target();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            target(data);
        });
    }
}
