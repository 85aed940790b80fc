//! Light and dark themes: the system's by default, or the user's choice, kept across reloads.
//!
//! The stylesheet picks its colours with `light-dark()` from the page's `color-scheme`, so
//! without any script the page follows the system. A choice other than [`ThemeChoice::System`]
//! sets `data-theme` on `<html>`, which pins the scheme. The canvas cannot read those colours,
//! so the chart paints with the palette of the [`Theme`] in effect.

/// What the user picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeChoice {
    /// Follow the operating system's light or dark setting.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// The theme in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Dark text on light panels.
    Light,
    /// Light text on dark panels.
    Dark,
}

/// Where the choice is kept (`localStorage`).
const STORAGE_KEY: &str = "ticker.theme";

impl ThemeChoice {
    /// The choice as stored and as `data-theme` (`system` sets no attribute).
    pub fn key(self) -> &'static str {
        match self {
            ThemeChoice::System => "system",
            ThemeChoice::Light => "light",
            ThemeChoice::Dark => "dark",
        }
    }

    /// Reads a stored choice; anything unknown means the system's.
    pub fn parse(text: &str) -> Self {
        match text {
            "light" => ThemeChoice::Light,
            "dark" => ThemeChoice::Dark,
            _ => ThemeChoice::System,
        }
    }

    /// The next choice of the theme button: system → light → dark → system.
    pub fn next(self) -> Self {
        match self {
            ThemeChoice::System => ThemeChoice::Light,
            ThemeChoice::Light => ThemeChoice::Dark,
            ThemeChoice::Dark => ThemeChoice::System,
        }
    }

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::System => "Theme: system",
            ThemeChoice::Light => "Theme: light",
            ThemeChoice::Dark => "Theme: dark",
        }
    }

    /// The theme in effect when the system prefers dark (`system_dark`) or not.
    pub fn effective(self, system_dark: bool) -> Theme {
        match self {
            ThemeChoice::Light => Theme::Light,
            ThemeChoice::Dark => Theme::Dark,
            ThemeChoice::System if system_dark => Theme::Dark,
            ThemeChoice::System => Theme::Light,
        }
    }
}

impl Theme {
    /// Its name, as the page's `data-theme-effective` shows it.
    pub fn key(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The stored choice (the system's when nothing is stored or storage is unavailable).
pub fn stored_choice() -> ThemeChoice {
    crate::storage::load(STORAGE_KEY).map_or(ThemeChoice::System, |text| ThemeChoice::parse(&text))
}

/// Keeps `choice` for the next visit and applies it to the page.
pub fn store_and_apply(choice: ThemeChoice, effective: Theme) {
    crate::storage::save(STORAGE_KEY, choice.key());
    apply(choice, effective);
}

/// Sets `data-theme` on `<html>` (removed for the system's theme) and `data-theme-effective`.
pub fn apply(choice: ThemeChoice, effective: Theme) {
    let Some(root) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.document_element())
    else {
        return;
    };
    let _ = match choice {
        ThemeChoice::System => root.remove_attribute("data-theme"),
        pinned => root.set_attribute("data-theme", pinned.key()),
    };
    let _ = root.set_attribute("data-theme-effective", effective.key());
}

/// The media query that says whether the system prefers dark.
pub fn system_dark_query() -> Option<web_sys::MediaQueryList> {
    web_sys::window()?
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_button_cycles_through_every_choice() {
        let mut choice = ThemeChoice::System;
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(choice);
            choice = choice.next();
        }
        assert_eq!(choice, ThemeChoice::System);
        assert_eq!(
            seen,
            [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark]
        );
    }

    #[test]
    fn a_stored_choice_round_trips_and_junk_means_system() {
        for choice in [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark] {
            assert_eq!(ThemeChoice::parse(choice.key()), choice);
        }
        assert_eq!(ThemeChoice::parse("purple"), ThemeChoice::System);
    }

    #[test]
    fn the_system_decides_only_when_asked_to() {
        assert_eq!(ThemeChoice::System.effective(true), Theme::Dark);
        assert_eq!(ThemeChoice::System.effective(false), Theme::Light);
        assert_eq!(ThemeChoice::Light.effective(true), Theme::Light);
        assert_eq!(ThemeChoice::Dark.effective(false), Theme::Dark);
    }
}
