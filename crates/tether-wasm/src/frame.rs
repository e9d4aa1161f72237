//! An inbound frame as the glue holds it (the object `JSON.parse` made, or
//! none when the text was not a JSON object), read by
//! [`tether_core::decode`] through [`Fields`], one import per field asked.

use crate::subject::{self, Value};
use alloc::string::String;
use tether_core::{Field, Fields, FrameType};

/// The glue's current subject, as a frame.
pub struct Subject;

impl Fields for Subject {
    type Str = String;

    fn frame_type(&self) -> FrameType {
        match subject::get("type") {
            Value::Str(t) => FrameType::from_name(&t),
            _ => FrameType::Other,
        }
    }

    fn type_is(&self, name: &str) -> bool {
        subject::get("type").str() == Some(name)
    }

    fn string(&self, field: Field) -> Option<String> {
        match subject::get(field.name()) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn number(&self, field: Field) -> Option<f64> {
        subject::get(field.name()).num()
    }

    fn boolean(&self, field: Field) -> Option<bool> {
        match subject::get(field.name()) {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}
