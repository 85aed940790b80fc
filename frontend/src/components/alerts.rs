//! The alerts panel: "notify me when SYMBOL trades at or above / below PRICE", the rules set
//! (each with its status and a remove button), the reason a rule was refused, and the browser
//! notification permission.
//!
//! The panel is static markup with its events handled once on the panel (they bubble), and
//! the dashboard writes the parts that change straight into it ([`show`], see [`crate::dom`]):
//! the same panel as reactive views cost 14 KB of WebAssembly.

use std::rc::Rc;

use leptos::{ev, html, prelude::*};
use ticker_shared::AlertCondition;
use wasm_bindgen::JsCast;
use web_sys::{
    Element, HtmlElement, HtmlInputElement, HtmlSelectElement, Notification, NotificationPermission,
};

use crate::{
    alerts::{Alert, Status},
    dashboard::Dashboard,
    dom,
    signals::Signals,
};

/// The panel's fixed markup: no user text in it.
const MARKUP: &str = r#"<h2 id="alerts-title">Price alerts</h2>
<form class="alert-form" novalidate>
<input name="symbol" aria-label="Symbol" placeholder="Symbol" list="alert-symbols" autocomplete="off" spellcheck="false" data-testid="alert-symbol">
<datalist id="alert-symbols"></datalist>
<select name="condition" aria-label="Condition" data-testid="alert-condition"><option value="above">at or above</option><option value="below">at or below</option></select>
<input name="price" aria-label="Price" placeholder="Price" inputmode="decimal" autocomplete="off" data-testid="alert-price">
<button type="submit" data-testid="alert-add">Set alert</button>
</form>
<p class="form-error" role="alert" data-testid="alert-error"></p>
<ul class="alert-list" data-testid="alert-list"></ul>
<button type="button" class="link" data-testid="notify">Also notify me outside this tab</button>
<p class="note" data-testid="notify-state" hidden></p>"#;

/// The panel's id.
const ID: &str = "alerts";

/// The alert form and the rules set.
#[component]
pub fn AlertsPanel(
    /// The engine that checks, keeps and sends the rules.
    dashboard: StoredValue<Rc<Dashboard>, LocalStorage>,
) -> impl IntoView {
    let signals = expect_context::<Signals>();
    let panel = NodeRef::<html::Section>::new();
    let on_submit = move |event: ev::SubmitEvent| {
        event.prevent_default();
        let Some(panel) = panel.get() else {
            return;
        };
        let (Some(symbol), Some(condition), Some(price)) = (
            dom::find::<HtmlInputElement>(&panel, "[name=symbol]"),
            dom::find::<HtmlSelectElement>(&panel, "[name=condition]"),
            dom::find::<HtmlInputElement>(&panel, "[name=price]"),
        ) else {
            return;
        };
        let side = if condition.value() == "below" {
            AlertCondition::Below
        } else {
            AlertCondition::Above
        };
        let set = dashboard.with_value(|d| d.add_alert(&symbol.value(), side, &price.value()));
        if set.is_ok() {
            price.set_value("");
        }
    };
    let on_click = move |event: ev::MouseEvent| {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if let Some(id) = target
            .get_attribute("data-remove")
            .and_then(|id| id.parse().ok())
        {
            dashboard.with_value(|d| d.remove_alert(id));
        } else if target.get_attribute("data-testid").as_deref() == Some("notify") {
            ask_permission();
        }
    };
    // Entering the form: it offers the server's symbols, starts on the one shown in the chart
    // (unless the user typed another) and hints at its last price.
    let on_focus = move |_: ev::FocusEvent| {
        let Some(panel) = panel.get() else {
            return;
        };
        let selected = signals.selected.get_untracked();
        signals.rows.with_untracked(|rows| {
            if let Some(list) = dom::find::<Element>(&panel, "datalist")
                && list.child_element_count() == 0
            {
                for row in rows {
                    if let Some(option) = dom::append(&list, "option", "", "") {
                        let _ = option.set_attribute("value", row.info.symbol.as_str());
                    }
                }
            }
            let Some(row) = rows
                .iter()
                .find(|row| Some(&row.info.symbol) == selected.as_ref())
            else {
                return;
            };
            if let Some(symbol) = dom::find::<HtmlInputElement>(&panel, "[name=symbol]")
                && symbol.value() == symbol.default_value()
            {
                symbol.set_value(row.info.symbol.as_str());
                symbol.set_default_value(row.info.symbol.as_str());
            }
            let last = row
                .quote
                .with_untracked(|q| q.as_ref().map(|q| q.last.to_string()));
            if let Some(price) = dom::find::<HtmlInputElement>(&panel, "[name=price]") {
                price.set_placeholder(last.as_deref().unwrap_or("Price"));
            }
        });
    };
    // The rules kept from the last visit show at once, before any connection.
    request_animation_frame(move || dashboard.with_value(|d| d.alerts_changed()));
    view! {
        <section
            id=ID
            node_ref=panel
            class="alerts panel"
            aria-labelledby="alerts-title"
            inner_html=MARKUP
            on:submit=on_submit
            on:click=on_click
            on:focusin=on_focus
        ></section>
    }
}

/// Shows `alerts` and the reason the last rule was refused (if any), and whether browser
/// notifications are allowed.
pub fn show(alerts: &[Alert], error: Option<&str>) {
    let Some(panel) = dom::by_id(ID) else {
        return;
    };
    if let Some(text) = dom::find::<Element>(&panel, ".form-error") {
        text.set_text_content(error);
    }
    if let Some(list) = dom::find::<Element>(&panel, ".alert-list") {
        list_rules(&list, alerts);
    }
    show_permission(&panel);
}

/// Writes the rules into `list`: text, status, and a remove button each.
fn list_rules(list: &Element, alerts: &[Alert]) {
    list.set_text_content(None);
    for Alert { rule, status } in alerts {
        let side = match rule.condition {
            AlertCondition::Above => "≥",
            AlertCondition::Below => "≤",
        };
        let text = format!("{} {side} {}", rule.symbol, rule.price);
        let status = match status {
            Status::Active => "watching",
            Status::Sending => "waiting…",
        };
        let Some(item) = dom::append(list, "li", "", "") else {
            continue;
        };
        let _ = item.set_attribute("data-alert", &text);
        let _ = item.set_attribute("data-status", status);
        dom::append(&item, "span", "rule", &text);
        dom::append(&item, "span", "status", status);
        if let Some(remove) = dom::append(&item, "button", "", "×") {
            let _ = remove.set_attribute("type", "button");
            let _ = remove.set_attribute("data-remove", &rule.id.to_string());
            let _ = remove.set_attribute("aria-label", &format!("Remove the alert {text}"));
        }
    }
}

/// Shows the button asking for notifications, or says whether they are on or blocked.
fn show_permission(panel: &Element) {
    let (Some(ask), Some(state)) = (
        dom::find::<HtmlElement>(panel, "[data-testid=notify]"),
        dom::find::<HtmlElement>(panel, "[data-testid=notify-state]"),
    ) else {
        return;
    };
    let said = match Notification::permission() {
        NotificationPermission::Granted => "Browser notifications are on.",
        NotificationPermission::Denied => {
            "Browser notifications are blocked for this site; alerts show here only."
        }
        _ => "",
    };
    ask.set_hidden(!said.is_empty());
    state.set_hidden(said.is_empty());
    state.set_text_content(Some(said));
}

/// Asks the browser for permission to notify, then shows the answer.
fn ask_permission() {
    let Ok(promise) = Notification::request_permission() else {
        return;
    };
    leptos::task::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        if let Some(panel) = dom::by_id(ID) {
            show_permission(&panel);
        }
    });
}
