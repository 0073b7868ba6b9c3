//! `cargo hfuzz run frames` (see `fuzz/run`): the `frames` target under honggfuzz.

fn main() {
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            messenger_fuzz::frames::frame(data);
        });
    }
}
