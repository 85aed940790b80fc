//! How the page looks: the light and dark themes (chosen, kept across a reload, back to the
//! system's), the screenshots README shows, and a small phone's width.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use fantoccini::{
    Client, Locator,
    actions::{InputSource, MouseActions, PointerAction},
};

use super::{page, wait_for_page, watchlist_full};

/// The page background of each theme (`--bg` in style.css), as the browser computes it.
const LIGHT_BACKGROUND: &str = "rgb(243, 245, 248)";
const DARK_BACKGROUND: &str = "rgb(11, 15, 21)";

/// The theme button pins light, then dark, and the choice survives a reload; a click more goes
/// back to the system's theme. Saves `docs/screenshot-light.png` and `docs/screenshot.png`
/// (dark).
pub(super) async fn themes(client: &Client, root: &Path, symbols: usize) -> Result<()> {
    let theme_button = || client.find(Locator::Css("[data-testid=theme]"));
    let start = page(client).await?;
    ensure!(
        start["themeChoice"] == "system",
        "the theme follows the system at first: {}",
        start["themeChoice"]
    );
    std::fs::create_dir_all(root.join("docs"))?;
    // A fresh page for the pictures: the desk as a newcomer finds it.
    client.refresh().await?;
    wait_for_page(client, "the app is live again", |s| {
        s["state"] == "live" && watchlist_full(s, symbols)
    })
    .await?;
    super::watchlist::sparklines_drawn(client, symbols).await?;
    for (choice, background, file) in [
        ("light", LIGHT_BACKGROUND, "docs/screenshot-light.png"),
        ("dark", DARK_BACKGROUND, "docs/screenshot.png"),
    ] {
        theme_button().await?.click().await?;
        wait_for_page(client, &format!("the {choice} theme"), |s| {
            s["themeChoice"] == choice && s["theme"] == choice && s["background"] == background
        })
        .await?;
        // The picture shows the crosshair and its tooltip, a third of the way into the chart,
        // painted in the new colours.
        let paints = page(client).await?["chartPaints"].as_f64().unwrap_or(0.0);
        hover_chart(client).await?;
        super::chart::wait_for_chart(client, "the chart repaints with its tooltip", |s| {
            s["paints"].as_f64() > Some(paints) && s["tooltip"].is_string()
        })
        .await?;
        save_screenshot(client, &root.join(file)).await?;
        println!("e2e | {choice} theme; screenshot saved to {file}");
    }
    client.refresh().await?;
    wait_for_page(client, "the dark theme is kept across a reload", |s| {
        s["state"] == "live"
            && watchlist_full(s, symbols)
            && s["themeChoice"] == "dark"
            && s["background"] == DARK_BACKGROUND
    })
    .await?;
    theme_button().await?.click().await?;
    wait_for_page(client, "back to the system's theme", |s| {
        s["themeChoice"] == "system"
    })
    .await?;
    println!("e2e | the theme choice survives a reload; back to the system's");
    Ok(())
}

/// Moves the mouse over the chart, a third of the way in from the left, above the middle.
async fn hover_chart(client: &Client) -> Result<()> {
    let canvas = client.find(Locator::Css("[data-testid=chart]")).await?;
    let width = client
        .execute(
            "return document.querySelector('[data-testid=chart]').clientWidth",
            Vec::new(),
        )
        .await?
        .as_f64()
        .unwrap_or(0.0);
    let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: canvas,
        duration: None,
        x: -width / 6.0,
        y: -40.0,
    });
    client.perform_actions(mouse).await?;
    Ok(())
}

/// At the width of a small phone (375 px) nothing scrolls sideways and the watchlist's
/// columns fit their panel.
pub(super) async fn phone(client: &Client) -> Result<()> {
    let (width, height) = client.get_window_size().await?;
    client.set_window_size(375, 812).await?;
    let narrow = wait_for_page(client, "the layout fits 375 px", |s| {
        s["pageOverflow"].as_f64() <= Some(0.0) && s["tableOverflow"].as_f64() <= Some(0.0)
    })
    .await;
    client.set_window_size(width as u32, height as u32).await?;
    narrow?;
    println!("e2e | the layout fits a 375 px wide phone");
    Ok(())
}

pub(super) async fn save_screenshot(client: &Client, path: &Path) -> Result<()> {
    let png = client.screenshot().await?;
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}
