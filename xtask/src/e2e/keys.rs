//! Key presses as a person makes them: to whatever has the focus, through WebDriver actions.

use anyhow::Result;
use fantoccini::{
    Client,
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};

/// Presses and releases `key` on the focused element.
pub async fn press(client: &Client, key: Key) -> Result<()> {
    let value: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    client.perform_actions(actions).await?;
    Ok(())
}
