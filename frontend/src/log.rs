//! Logging: `tracing` events written to the browser console, one line each, at the console
//! level matching theirs.
//!
//! Written here rather than taken from `tracing-wasm`: that crate's subscriber (span timings
//! through the Performance API, colours, its own filtering) cost 11.8 KB of the app's gzipped
//! size, and the app only needs a level, a target, a message and the fields.

use std::fmt::{self, Write as _};

use tracing::{
    Event, Level, Metadata, Subscriber,
    field::{Field, Visit},
    span,
};

/// Writes events at `max` and more severe to the console.
struct Console {
    max: Level,
}

/// Installs the console subscriber for events at `max` and more severe.
pub fn init(max: Level) {
    // An error means a subscriber is already set (a second call): the first one stays.
    let _ = tracing::subscriber::set_global_default(Console { max });
}

/// Renders an event's fields as `message key=value …`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // With a precision: the shortest-form float formatting would add 4 KB to the app.
        let _ = write!(self.fields, " {}={value:.3}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Console {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        // Spans are not recorded; every one gets the same id.
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        let metadata = event.metadata();
        let text = format!(
            "{} {}: {}{}",
            metadata.level(),
            metadata.target(),
            line.message,
            line.fields
        )
        .into();
        match *metadata.level() {
            Level::ERROR => web_sys::console::error_1(&text),
            Level::WARN => web_sys::console::warn_1(&text),
            Level::INFO => web_sys::console::info_1(&text),
            _ => web_sys::console::debug_1(&text),
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}
