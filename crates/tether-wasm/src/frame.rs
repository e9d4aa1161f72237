//! An inbound frame's text, scanned once ([`crate::json::fields`]) and read
//! by [`tether_core::decode`] through [`Fields`].

use crate::json::{self, Value};
use alloc::borrow::Cow;
use tether_core::{Field, Fields, FrameType};

/// The top-level fields of one frame the decoder may ask for.
pub struct Scanned<'a> {
    ty: Option<Cow<'a, str>>,
    values: [Option<Value<'a>>; Field::ALL.len()],
}

impl<'a> Scanned<'a> {
    /// Scans `text`; text that is not one JSON object has no fields (the
    /// decoder makes it an app message).
    pub fn new(text: &'a str) -> Scanned<'a> {
        let mut frame = Scanned {
            ty: None,
            values: Default::default(),
        };
        let ok = json::fields(text, |key, value| {
            if key == "type" {
                // A `type` that is not a string is no type (the last wins).
                frame.ty = match value {
                    Value::Str(s) => Some(s),
                    _ => None,
                };
            } else if let Some(at) = Field::ALL.iter().position(|f| f.name() == key) {
                frame.values[at] = Some(value);
            }
        });
        if !ok {
            frame = Scanned {
                ty: None,
                values: Default::default(),
            };
        }
        frame
    }

    fn get(&self, field: Field) -> Option<&Value<'a>> {
        self.values[field as usize].as_ref()
    }
}

impl<'a> Fields for Scanned<'a> {
    type Str = Cow<'a, str>;

    fn frame_type(&self) -> FrameType {
        self.ty
            .as_deref()
            .map_or(FrameType::Other, FrameType::from_name)
    }

    fn type_is(&self, name: &str) -> bool {
        self.ty.as_deref() == Some(name)
    }

    fn string(&self, field: Field) -> Option<Cow<'a, str>> {
        match self.get(field)? {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn number(&self, field: Field) -> Option<f64> {
        self.get(field)?.num()
    }

    fn boolean(&self, field: Field) -> Option<bool> {
        match self.get(field)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}
