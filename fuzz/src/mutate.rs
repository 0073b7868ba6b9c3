//! Cheap, repeatable mutations of the seeds, for the test suite's short
//! runs of the targets. (The fuzzing runs use honggfuzz's own mutations,
//! guided by coverage; these only keep the harnesses exercised.)

/// A xorshift generator: repeatable from its seed, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn number(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `bound` (at least 1).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.number() % bound.max(1) as u64) as usize
    }
}

/// `seed` changed in one to four places: bytes flipped, replaced,
/// inserted or removed, a piece of `other` spliced in, or a token of
/// `dictionary` inserted.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8], dictionary: &[&str]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 if at < data.len() => data[at] = rng.number() as u8,
            2 => data.insert(at, rng.number() as u8),
            3 if at < data.len() => {
                let end = (at + 1 + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let to = (from + 1 + rng.below(32)).min(other.len());
                data.splice(at..at, other[from..to].iter().copied());
            }
            _ if !dictionary.is_empty() => {
                let token = dictionary[rng.below(dictionary.len())];
                data.splice(at..at, token.bytes());
            }
            _ => data.push(rng.number() as u8),
        }
    }
    data
}

/// Runs `target` on every seed, then on `rounds` mutations of them.
pub fn run(seeds: &[Vec<u8>], dictionary: &[&str], rounds: usize, mut target: impl FnMut(&[u8])) {
    for seed in seeds {
        target(seed);
    }
    let mut rng = Rng::new(0x5eed);
    for _ in 0..rounds {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        target(&mutate(&mut rng, seed, other, dictionary));
    }
}
