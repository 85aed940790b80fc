//! The browser's `localStorage`, for choices kept across reloads (theme, watchlist, pace, alert
//! rules, chat name). Storage can be missing, full or forbidden (private mode): then a choice
//! lasts this visit.

/// The text stored under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    local()?.get_item(key).ok().flatten()
}

/// Stores `value` under `key`, if storage allows.
pub fn save(key: &str, value: &str) {
    if let Some(storage) = local() {
        let _ = storage.set_item(key, value);
    }
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
