//! An inbound frame as the glue holds it (the object `JSON.parse` made, or
//! none when the text was not a JSON object), read by
//! [`tether_core::decode`] through [`Fields`], one import per field asked.

use crate::subject;
use alloc::string::String;
use tether_core::{Field, Fields, FrameType};

/// The glue's current subject, as a frame.
pub struct Subject;

impl Fields for Subject {
    type Str = String;

    fn frame_type(&self) -> FrameType {
        subject::text("type").map_or(FrameType::Other, |t| FrameType::from_name(&t))
    }

    fn type_is(&self, name: &str) -> bool {
        subject::text("type").as_deref() == Some(name)
    }

    fn string(&self, field: Field) -> Option<String> {
        subject::text(field.name())
    }

    fn number(&self, field: Field) -> Option<f64> {
        subject::num(field.name())
    }

    fn boolean(&self, field: Field) -> Option<bool> {
        subject::flag(field.name())
    }
}
