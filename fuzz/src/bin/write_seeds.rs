//! `write_seeds DIR`: writes each target's seeds to `DIR/<target>/` (the
//! starting corpora of `fuzz/run`).

use messenger_fuzz::{TARGETS, seeds, session::world};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "hfuzz_workspace".into()),
    );
    let world = world();
    for target in TARGETS {
        let folder = dir.join(target).join("input");
        std::fs::create_dir_all(&folder)?;
        for (number, seed) in seeds::of(target, &world).iter().enumerate() {
            std::fs::write(folder.join(format!("seed-{number:03}")), seed)?;
        }
    }
    Ok(())
}
