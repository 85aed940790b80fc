//! Test knobs behind `--enable-admin` (off by default): `POST /admin/stall/{symbol}` makes the
//! feed silently stop publishing that symbol's ticks, as a stalled upstream would, and
//! `POST /admin/unstall/{symbol}` resumes it. The browser test uses them to check per-symbol
//! staleness.
//!
//! A stalled symbol's trades still happen in the simulator (the others' prices, and its own
//! session high, low and volume, go on as before); they are just not published. The feed
//! renumbers that symbol's later ticks so its sequence numbers still grow by exactly one from
//! one published tick to the next: to clients a stall is silence, never a gap.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use actix_web::{HttpRequest, HttpResponse, ResponseError, http::StatusCode, web};
use serde::Serialize;
use ticker_shared::{ErrorCode, ServerMessage, Symbol, Tick};
use tracing::info;

use crate::{app::AppState, universe::Universe};

/// Which symbols are stalled; set by the admin routes, read by the feed.
#[derive(Debug)]
pub struct Stalls {
    universe: Arc<Universe>,
    stalled: Vec<AtomicBool>,
}

impl Stalls {
    /// Nothing stalled, over the symbols of `universe`.
    pub fn new(universe: Arc<Universe>) -> Arc<Self> {
        let stalled = universe.all_ids().map(|_| AtomicBool::new(false)).collect();
        Arc::new(Stalls { universe, stalled })
    }

    /// Stalls (`true`) or resumes (`false`) `symbol`; `None` if it is not offered.
    pub fn set(&self, symbol: &str, stalled: bool) -> Option<()> {
        let id = self.universe.id(symbol)?;
        self.stalled[id.0].store(stalled, Ordering::Relaxed);
        Some(())
    }

    /// The feed's side: a filter over its ticks.
    pub fn gate(self: &Arc<Self>) -> StallGate {
        StallGate {
            stalls: Arc::clone(self),
            skipped: vec![0; self.stalled.len()],
        }
    }
}

/// Drops the ticks of stalled symbols and renumbers the rest of theirs; owned by the feed.
#[derive(Debug)]
pub struct StallGate {
    stalls: Arc<Stalls>,
    /// Ticks withheld so far, per symbol: later ticks' `seq` is lowered by this much.
    skipped: Vec<u64>,
}

impl StallGate {
    /// The tick to publish, or `None` while its symbol is stalled.
    pub fn pass(&mut self, mut tick: Tick) -> Option<Tick> {
        let Some(id) = self.stalls.universe.id(tick.symbol.as_str()) else {
            return Some(tick);
        };
        if self.stalls.stalled[id.0].load(Ordering::Relaxed) {
            self.skipped[id.0] += 1;
            return None;
        }
        tick.seq -= self.skipped[id.0];
        Some(tick)
    }
}

/// Registers the admin routes: `POST /admin/stall/{symbol}` and `POST /admin/unstall/{symbol}`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/admin/{action}/{symbol}", web::post().to(admin));
}

/// What a successful call answers.
#[derive(Debug, Serialize)]
struct StallState<'a> {
    symbol: &'a str,
    stalled: bool,
}

async fn admin(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    app: web::Data<AppState>,
) -> HttpResponse {
    let (action, symbol) = path.into_inner();
    match action.as_str() {
        "stall" => set(&req, &symbol, &app, true),
        "unstall" => set(&req, &symbol, &app, false),
        _ => HttpResponse::NotFound().finish(),
    }
}

fn set(req: &HttpRequest, symbol: &str, app: &AppState, stalled: bool) -> HttpResponse {
    // A plain cross-site form could POST here; only the site's own pages (and non-browsers) may.
    if let Err(refusal) = app.admission.origins.check(req) {
        return refusal.error_response();
    }
    let Some(stalls) = &app.stalls else {
        return HttpResponse::NotFound().finish();
    };
    if let Err(err) = Symbol::new(symbol) {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidMessage,
            format!("{symbol:?} is not a symbol: {err}"),
        );
    }
    if stalls.set(symbol, stalled).is_none() {
        return refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownSymbol,
            format!("unknown symbol {symbol:?}"),
        );
    }
    info!(symbol, stalled, "admin: feed of one symbol changed");
    HttpResponse::Ok().json(StallState { symbol, stalled })
}

fn refuse(status: StatusCode, code: ErrorCode, message: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(ServerMessage::error(code, message).to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        catalogue,
        simulator::{Simulator, SimulatorConfig},
        universe::SymbolId,
    };

    #[test]
    fn a_stalled_symbol_is_silent_and_continues_without_a_gap_after() {
        let instruments = catalogue::first(2);
        let universe = Arc::new(Universe::new(
            instruments.iter().map(|i| i.info.clone()).collect(),
        ));
        let (stalled, other) = (
            universe.symbol(SymbolId(0)).clone(),
            universe.symbol(SymbolId(1)).clone(),
        );
        let config = SimulatorConfig {
            tick_rate: 100.0,
            seed: 3,
        };
        let mut simulator = Simulator::new(&instruments, config, 0);
        let stalls = Stalls::new(universe);
        let mut gate = stalls.gate();
        let mut published = |until: i64| -> Vec<Tick> {
            simulator
                .ticks_until(until)
                .filter_map(|tick| gate.pass(tick))
                .collect()
        };
        let seqs = |ticks: &[Tick], symbol: &Symbol| -> Vec<u64> {
            ticks
                .iter()
                .filter(|t| t.symbol == *symbol)
                .map(|t| t.seq)
                .collect()
        };
        let before = published(1_000);
        let last = *seqs(&before, &stalled).last().unwrap();
        stalls.set(stalled.as_str(), true).unwrap();
        let during = published(2_000);
        assert!(seqs(&during, &stalled).is_empty());
        assert!(!seqs(&during, &other).is_empty(), "the others go on");
        stalls.set(stalled.as_str(), false).unwrap();
        let after = seqs(&published(3_000), &stalled);
        let expected: Vec<u64> = (last + 1..).take(after.len()).collect();
        assert!(!after.is_empty());
        assert_eq!(after, expected, "no gap after the stall");
        assert_eq!(stalls.set("ZZZZ", true), None);
    }
}
