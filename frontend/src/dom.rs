//! A few helpers for writing the page's DOM directly, for the parts that change often or are
//! built once from static markup (the chart's tooltip, the alerts panel, toasts): there a
//! handful of DOM calls replace reactive views that would cost kilobytes of WebAssembly each.
//! Text always goes in as `textContent`, never as markup.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

/// The page's document.
pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// The element with this `id`.
pub fn by_id(id: &str) -> Option<Element> {
    document()?.get_element_by_id(id)
}

/// The first element under `root` matching the CSS `selector`, as a `T`.
pub fn find<T: JsCast>(root: &Element, selector: &str) -> Option<T> {
    root.query_selector(selector).ok()??.dyn_into().ok()
}

/// A new `tag` element with class `class` (none if empty) holding the text `text`, appended to
/// `parent`.
pub fn append(parent: &Element, tag: &str, class: &str, text: &str) -> Option<Element> {
    let child = document()?.create_element(tag).ok()?;
    if !class.is_empty() {
        child.set_class_name(class);
    }
    if !text.is_empty() {
        child.set_text_content(Some(text));
    }
    parent.append_child(&child).ok()?;
    Some(child)
}
