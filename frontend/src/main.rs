//! Entry point of the WebAssembly app: panic hook, logging, mount.

fn main() {
    console_error_panic_hook::set_once();
    tracing_wasm::set_as_global_default_with_config(
        tracing_wasm::WASMLayerConfigBuilder::new()
            .set_max_level(tracing::Level::INFO)
            .build(),
    );
    leptos::mount::mount_to_body(ticker_frontend::App);
}
