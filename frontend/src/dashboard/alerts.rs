//! The dashboard's price alerts: the form's rules checked, kept and sent; the server's answers
//! applied; a fired rule shown as a toast and, if the user allowed it, a browser notification.

use std::rc::Rc;

use ticker_shared::{AlertCondition, AlertFired, AlertId, ClientMessage, Interval, ServerMessage};

use super::{Dashboard, count_metric};
use crate::{
    alerts::{Alerts, STORAGE_KEY},
    components::{alerts as panel, chart::paint::clock_label, toasts},
    storage,
};

/// The rules kept from the last visit.
pub(super) fn stored() -> Alerts {
    Alerts::parse(&storage::load(STORAGE_KEY).unwrap_or_default())
}

impl Dashboard {
    /// Sets the rule the alert form describes; the reason if it cannot be set.
    pub fn add_alert(
        &self,
        symbol: &str,
        condition: AlertCondition,
        price: &str,
    ) -> Result<(), String> {
        let offered =
            |symbol: &ticker_shared::Symbol| self.view.borrow().index_of(symbol.as_str()).is_some();
        let added = self
            .alerts
            .borrow_mut()
            .add(symbol, condition, price, offered);
        match added {
            Ok(message) => {
                *self.alert_error.borrow_mut() = None;
                self.alerts_changed();
                self.send(message);
                Ok(())
            }
            Err(err) => {
                let reason = err.to_string();
                *self.alert_error.borrow_mut() = Some(reason.clone());
                self.alerts_changed();
                Err(reason)
            }
        }
    }

    /// Removes rule `id`, here and on the server.
    pub fn remove_alert(&self, id: AlertId) {
        let removed = self.alerts.borrow_mut().remove(id);
        if let Some(message) = removed {
            self.alerts_changed();
            self.send(message);
        }
    }

    /// The connection ended: no rule is watched until the next one registers them again.
    pub fn alerts_disconnected(&self) {
        self.alerts.borrow_mut().disconnected();
        self.alerts_changed();
    }

    /// Every rule again, for a new connection (right after its `hello`).
    pub(super) fn register_alerts(&self) -> Vec<ClientMessage> {
        let messages = self.alerts.borrow_mut().register_all();
        self.alerts_changed();
        messages
    }

    /// Applies the server's answers about alerts; whether `message` was one.
    pub(super) fn receive_alert(self: &Rc<Self>, message: &ServerMessage) -> bool {
        match message {
            ServerMessage::AlertAdded(rule) => self.alerts.borrow_mut().confirmed(rule),
            ServerMessage::AlertRemoved { .. } => return true,
            ServerMessage::Alert(fired) => {
                if !self.alerts.borrow_mut().fired(fired) {
                    return true;
                }
                self.announce_alert(fired);
            }
            ServerMessage::Error(error) if error.in_reply_to.as_deref() == Some("add_alert") => {
                if let Some(id) = error.alert_id {
                    self.alerts.borrow_mut().refused(id);
                }
                *self.alert_error.borrow_mut() = Some(error.message.clone());
            }
            _ => return false,
        }
        self.alerts_changed();
        true
    }

    /// Shows a fired rule: a toast, and a browser notification when allowed.
    fn announce_alert(&self, fired: &AlertFired) {
        let side = match fired.condition {
            AlertCondition::Above => "at or above",
            AlertCondition::Below => "at or below",
        };
        let title = format!("{} {side} {}", fired.symbol, fired.price);
        let body = format!(
            "traded {} at {}",
            fired.trade_price,
            clock_label(fired.ts, Interval::S1)
        );
        count_metric("alertsFired");
        toasts::show(&format!("{title}: {body}"));
        if toasts::notify(&title, &body) {
            count_metric("notificationsShown");
        }
    }

    /// Keeps the rules for the next visit and shows them.
    pub fn alerts_changed(&self) {
        let alerts = self.alerts.borrow();
        storage::save(STORAGE_KEY, &alerts.to_text());
        panel::show(alerts.list(), self.alert_error.borrow().as_deref());
    }
}
