//! Entry point of the WebAssembly app: panic hook, logging, mount.

fn main() {
    console_error_panic_hook::set_once();
    ticker_frontend::log::init(tracing::Level::INFO);
    leptos::mount::mount_to_body(ticker_frontend::App);
}
