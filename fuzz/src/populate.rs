//! The demo-data loader (`messenger-core populate`, the launcher's first
//! start): any JSON is loaded whole or refused with a message, and a
//! refusal leaves the database as it was.

use crate::session::Harness;
use core_service::demo_data::populate;

impl Harness {
    /// Any bytes as a demo-data file.
    pub fn populate(&mut self, data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(parsed) = populate::parse(text) else {
            return;
        };
        let store = self.db().store();
        let before = self.block_on(self.db().loaded_counts());
        let loaded = self.block_on(populate::populate(&store, &parsed));
        if let Err(error) = loaded {
            assert!(!error.to_string().is_empty(), "a refusal says why");
            let after = self.block_on(self.db().loaded_counts());
            assert_eq!(
                before, after,
                "refused ({error}), yet something was written"
            );
        }
    }
}
