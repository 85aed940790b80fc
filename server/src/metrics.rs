//! Process-wide counters, exposed at `/metrics` in the Prometheus text format.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

/// Counters updated by the hub and the connections. Relaxed atomics: each is an independent
/// statistic, read only for reporting.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connections (WebSocket or event stream) accepted since start.
    pub connections_opened: AtomicU64,
    /// Connections ended since start.
    pub connections_closed: AtomicU64,
    /// Of the connections accepted, the Server-Sent Events streams.
    pub sse_streams_opened: AtomicU64,
    /// Ticks the hub received from the bus.
    pub ticks_published: AtomicU64,
    /// Ticks put in client queues (one per subscriber per tick, replays included).
    pub tick_deliveries: AtomicU64,
    /// WebSocket text frames written to clients.
    pub frames_sent: AtomicU64,
    /// Payload bytes of those frames.
    pub bytes_sent: AtomicU64,
    /// Text frames received from clients.
    pub client_messages: AtomicU64,
    /// Client messages refused with an `error` message.
    pub client_errors: AtomicU64,
    /// Clients disconnected because their outbound queue was full.
    pub slow_consumer_disconnects: AtomicU64,
    /// Clients disconnected because they were silent past the heartbeat timeout.
    pub heartbeat_timeouts: AtomicU64,
    /// Ticks the hub lost because it fell behind the bus.
    pub bus_lagged_ticks: AtomicU64,
    /// Handshakes refused: wrong Origin (403) or connection limits (503).
    pub handshakes_refused: AtomicU64,
    /// Client messages dropped by the per-connection rate limit.
    pub rate_limited_messages: AtomicU64,
    /// Connections closed for breaking the protocol or a limit (1002, 1007, 1008, 1009).
    pub protocol_closes: AtomicU64,
    /// Connections closed for staying subscribed to nothing past the idle timeout.
    pub idle_timeouts: AtomicU64,
    /// Price alerts that fired.
    pub alerts_fired: AtomicU64,
    /// Chat messages posted (each broadcast to every connection).
    pub chat_messages: AtomicU64,
}

impl Metrics {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        Self::add(counter, 1);
    }

    /// Connections open now.
    pub fn connections_open(&self) -> u64 {
        let opened = self.connections_opened.load(Ordering::Relaxed);
        opened.saturating_sub(self.connections_closed.load(Ordering::Relaxed))
    }

    /// The counters in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let counters: [(&str, &str, &AtomicU64); 18] = [
            (
                "connections_opened_total",
                "Connections accepted (WebSocket and event stream).",
                &self.connections_opened,
            ),
            (
                "connections_closed_total",
                "Connections ended.",
                &self.connections_closed,
            ),
            (
                "sse_streams_opened_total",
                "Server-Sent Events streams accepted (also counted as connections).",
                &self.sse_streams_opened,
            ),
            (
                "ticks_published_total",
                "Ticks received from the market-data bus.",
                &self.ticks_published,
            ),
            (
                "tick_deliveries_total",
                "Ticks queued to clients.",
                &self.tick_deliveries,
            ),
            (
                "frames_sent_total",
                "WebSocket text frames and event-stream chunks sent.",
                &self.frames_sent,
            ),
            (
                "bytes_sent_total",
                "Payload bytes of frames sent.",
                &self.bytes_sent,
            ),
            (
                "client_messages_total",
                "Text frames received from clients.",
                &self.client_messages,
            ),
            (
                "client_errors_total",
                "Client messages refused with an error.",
                &self.client_errors,
            ),
            (
                "slow_consumer_disconnects_total",
                "Clients closed because their queue was full.",
                &self.slow_consumer_disconnects,
            ),
            (
                "heartbeat_timeouts_total",
                "Clients closed for silence past the heartbeat timeout.",
                &self.heartbeat_timeouts,
            ),
            (
                "bus_lagged_ticks_total",
                "Ticks lost because the hub fell behind the bus.",
                &self.bus_lagged_ticks,
            ),
            (
                "handshakes_refused_total",
                "Handshakes refused (Origin 403, limits 503).",
                &self.handshakes_refused,
            ),
            (
                "rate_limited_messages_total",
                "Client messages dropped by the rate limit.",
                &self.rate_limited_messages,
            ),
            (
                "protocol_closes_total",
                "Connections closed for breaking the protocol or a limit.",
                &self.protocol_closes,
            ),
            (
                "idle_timeouts_total",
                "Connections closed for subscribing to nothing past the idle timeout.",
                &self.idle_timeouts,
            ),
            (
                "alerts_fired_total",
                "Price alerts that fired (each once).",
                &self.alerts_fired,
            ),
            (
                "chat_messages_total",
                "Chat messages posted to the desk.",
                &self.chat_messages,
            ),
        ];
        let mut out = String::with_capacity(2048);
        for (name, help, counter) in counters {
            let value = counter.load(Ordering::Relaxed);
            // Writing to a String cannot fail.
            let _ = write!(
                out,
                "# HELP ticker_{name} {help}\n# TYPE ticker_{name} counter\nticker_{name} {value}\n"
            );
        }
        let _ = write!(
            out,
            "# HELP ticker_connections_open Connections open now.\n# TYPE ticker_connections_open gauge\nticker_connections_open {}\n",
            self.connections_open()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter_with_help_and_type() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.frames_sent, 7);
        Metrics::inc(&metrics.connections_opened);
        let text = metrics.render_prometheus();
        assert!(
            text.contains("# TYPE ticker_frames_sent_total counter\nticker_frames_sent_total 7\n")
        );
        assert!(text.contains("ticker_connections_open 1\n"));
        assert_eq!(text.matches("# HELP").count(), 19);
    }
}
