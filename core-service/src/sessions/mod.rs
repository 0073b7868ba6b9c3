//! Who is connected where, and delivery of events to them.
//!
//! Dependencies point one way: the registry's outboxes write to links
//! (`registry` → `link`), and both use the close switch (`close`); a link
//! never calls into the registry. `places` bounds each user's sessions.
//! An outbox of a session moved here from
//! another core filters its events through `moved`.

pub mod close;
pub mod expiry;
pub mod link;
pub mod moved;
pub mod places;
pub mod registry;

pub use close::CloseSwitch;
pub use expiry::Expiries;
pub use link::{Link, Links, SessionNumber};
pub use moved::Moved;
pub use places::{UserPlace, UserPlaces};
pub use registry::{Outbox, Registry, SessionId};
