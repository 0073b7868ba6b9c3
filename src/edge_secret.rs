//! The secret an edge presents to the cores (`EDGE_SECRET`): only a caller
//! that knows it may open an `EdgeLink` or speak for its clients (their
//! addresses and user agents, the edge's name).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Metadata key carrying the edge's secret on every call of an edge.
pub const EDGE_SECRET_METADATA: &str = "x-edge-secret";

/// Shortest secret accepted: a guessable one would protect nothing.
pub const MIN_EDGE_SECRET_CHARS: usize = 16;

/// The shared secret of a cluster's edges and cores. It never shows in
/// `Debug` output (configurations are logged at start-up).
#[derive(Clone, PartialEq, Eq)]
pub struct EdgeSecret(String);

impl EdgeSecret {
    /// A fresh random secret, for a process that runs core and edge itself.
    pub fn random() -> EdgeSecret {
        let bytes: [u128; 2] = [
            uuid::Uuid::new_v4().as_u128(),
            uuid::Uuid::new_v4().as_u128(),
        ];
        EdgeSecret(format!("{:032x}{:032x}", bytes[0], bytes[1]))
    }

    /// The secret as sent in metadata.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this secret. Takes the same time wherever the
    /// first difference is, so that timing does not reveal the secret.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let differences = expected
            .iter()
            .zip(presented)
            .fold(0_u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(differences) == 0 && expected.len() == presented.len()
    }
}

impl FromStr for EdgeSecret {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        secret_text("EDGE_SECRET", text, MIN_EDGE_SECRET_CHARS).map(EdgeSecret)
    }
}

/// `text` as the secret `name`: without surrounding white space, at least
/// `min_chars` long (a guessable one would protect nothing), printable
/// ASCII (it travels in metadata and environment variables).
pub fn secret_text(name: &str, text: &str, min_chars: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() < min_chars {
        return Err(format!("{name} must have at least {min_chars} characters"));
    }
    if !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(format!("{name} must be printable ASCII without spaces"));
    }
    Ok(text.to_owned())
}

impl EdgeSecret {
    /// The secret given to this process: `EDGE_SECRET` in the environment,
    /// or the file named by `EDGE_SECRET_FILE` (never a command-line flag,
    /// which any user of the machine can read in the process list); `None`
    /// if neither is set, an error for both, a weak secret or a file that
    /// cannot be read.
    pub fn from_environment() -> Result<Option<EdgeSecret>, String> {
        let text = std::env::var("EDGE_SECRET").ok();
        let file = std::env::var_os("EDGE_SECRET_FILE").map(PathBuf::from);
        let text = text_or_file(("EDGE_SECRET", text), ("EDGE_SECRET_FILE", file.as_deref()))?;
        text.map(|text| text.parse()).transpose()
    }
}

/// A secret given either as its text (named `text.0`, from the
/// environment) or as a file that holds it (named `file.0`): `None` for
/// neither, an error for both or for a file that cannot be read.
pub fn text_or_file(
    text: (&str, Option<String>),
    file: (&str, Option<&Path>),
) -> Result<Option<String>, String> {
    match (text, file) {
        ((text_name, Some(_)), (file_name, Some(_))) => {
            Err(format!("set {text_name} or {file_name}, not both"))
        }
        ((_, Some(text)), _) => Ok(Some(text)),
        (_, (file_name, Some(path))) => std::fs::read_to_string(path)
            .map(|text| Some(text.trim().to_owned()))
            .map_err(|error| format!("cannot read {file_name} ({}): {error}", path.display())),
        _ => Ok(None),
    }
}

impl fmt::Debug for EdgeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EdgeSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_matches() {
        let secret: EdgeSecret = "correct-horse-battery-staple".parse().unwrap();
        assert!(secret.matches(b"correct-horse-battery-staple"));
        assert!(!secret.matches(b"correct-horse-battery-stapl"));
        assert!(!secret.matches(b"correct-horse-battery-staplee"));
        assert!(!secret.matches(b"Correct-horse-battery-staple"));
        assert!(!secret.matches(b""));
    }

    #[test]
    fn short_or_unprintable_secrets_are_refused() {
        assert!("short".parse::<EdgeSecret>().is_err());
        assert!("0123456789abcdef\u{7f}".parse::<EdgeSecret>().is_err());
        assert!(EdgeSecret::random().expose().parse::<EdgeSecret>().is_ok());
    }

    #[test]
    fn debug_output_hides_it() {
        let secret = EdgeSecret::random();
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
