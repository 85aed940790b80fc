//! A pure, seeded market simulator: geometric Brownian motion with jumps, quoted to the tick.
//!
//! The simulator does no I/O and reads no clock: it produces the tick stream of a virtual
//! market in time order, starting at a given instant. The feed task (`feed.rs`) paces it against
//! the wall clock. The same seed, instruments, rate and start give the same stream.

use std::{cmp::Reverse, collections::BinaryHeap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, StandardNormal};
use ticker_shared::{Price, Symbol, Tick};

use crate::catalogue::Instrument;

/// Milliseconds in a trading year (252 sessions of 6.5 hours), the unit of annualised
/// volatility.
const TRADING_YEAR_MS: f64 = 252.0 * 6.5 * 3_600_000.0;
/// Average number of price jumps (news) per symbol per trading hour.
const JUMPS_PER_HOUR: f64 = 1.5;
/// Standard deviation of a jump's log return (0.4 % moves).
const JUMP_SIZE: f64 = 0.004;
/// Median trade size in shares.
const MEDIAN_TRADE_SIZE: f64 = 120.0;
/// Dispersion of the log of the trade size: most trades are small, a few are blocks.
const TRADE_SIZE_SIGMA: f64 = 1.0;
/// Share of trades rounded to whole lots of 100 shares; the rest are odd lots.
const ROUND_LOT_SHARE: f64 = 0.6;
/// Largest single trade, in shares.
const MAX_TRADE_SIZE: f64 = 50_000.0;

/// Settings that shape the simulated stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatorConfig {
    /// Average ticks per second per symbol; the gaps between ticks are exponential (a Poisson
    /// process), so ticks arrive at random moments rather than on a metronome.
    pub tick_rate: f64,
    /// Seed of the random number generator.
    pub seed: u64,
}

/// The simulated market: one [`SymbolModel`] per instrument and a queue of who ticks next.
#[derive(Debug, Clone)]
pub struct Simulator {
    rng: ChaCha8Rng,
    symbols: Vec<SymbolModel>,
    /// When each symbol ticks next, earliest first; ties go to the lower index.
    schedule: BinaryHeap<Reverse<(i64, usize)>>,
    gap_ms: Exp<f64>,
    trade_size: LogNormal<f64>,
}

/// The evolving state of one instrument.
#[derive(Debug, Clone)]
struct SymbolModel {
    symbol: Symbol,
    tick_size: i64,
    volatility: f64,
    spread_bps: f64,
    /// The unobservable "true" mid price in cents; quotes are rounded from it.
    mid: f64,
    last_ts: i64,
    seq: u64,
    open: Option<Price>,
    high: Price,
    low: Price,
    volume: u64,
}

impl Simulator {
    /// A market of `instruments` whose clock starts at `start_ms` (Unix milliseconds).
    ///
    /// # Panics
    /// If `config.tick_rate` is not a positive finite number (the config layer validates it).
    pub fn new(instruments: &[Instrument], config: SimulatorConfig, start_ms: i64) -> Self {
        assert!(
            config.tick_rate.is_finite() && config.tick_rate > 0.0,
            "tick rate must be positive"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        // unwrap: the rate is positive (asserted above) and the log-normal parameters constant.
        let gap_ms = Exp::new(config.tick_rate / 1_000.0).expect("positive rate");
        let trade_size =
            LogNormal::new(MEDIAN_TRADE_SIZE.ln(), TRADE_SIZE_SIGMA).expect("valid log-normal");
        let symbols: Vec<SymbolModel> = instruments
            .iter()
            .map(|instrument| SymbolModel {
                symbol: instrument.info.symbol.clone(),
                tick_size: instrument.info.tick_size.cents().max(1),
                volatility: instrument.volatility,
                spread_bps: instrument.spread_bps,
                mid: instrument.info.reference_price.cents() as f64,
                last_ts: start_ms,
                seq: 0,
                open: None,
                high: instrument.info.reference_price,
                low: instrument.info.reference_price,
                volume: 0,
            })
            .collect();
        let schedule = (0..symbols.len())
            .map(|index| Reverse((start_ms + draw_gap(&mut rng, &gap_ms), index)))
            .collect();
        Simulator {
            rng,
            symbols,
            schedule,
            gap_ms,
            trade_size,
        }
    }

    /// When the next tick happens (Unix milliseconds), or `None` for an empty market.
    pub fn next_due(&self) -> Option<i64> {
        self.schedule.peek().map(|Reverse((due, _))| *due)
    }

    /// Produces the next tick in time order, or `None` for an empty market.
    pub fn next_tick(&mut self) -> Option<Tick> {
        let Reverse((due, index)) = self.schedule.pop()?;
        let gap = draw_gap(&mut self.rng, &self.gap_ms);
        self.schedule.push(Reverse((due + gap, index)));
        let size = self.draw_trade_size();
        let normal: f64 = self.rng.sample(StandardNormal);
        let jump_draw: f64 = self.rng.random();
        let jump_normal: f64 = self.rng.sample(StandardNormal);
        Some(self.symbols[index].trade(due, size, normal, jump_draw, jump_normal))
    }

    /// Every tick due at or before `until_ms`, in time order.
    pub fn ticks_until(&mut self, until_ms: i64) -> impl Iterator<Item = Tick> + '_ {
        std::iter::from_fn(move || {
            if self.next_due()? <= until_ms {
                self.next_tick()
            } else {
                None
            }
        })
    }

    fn draw_trade_size(&mut self) -> u32 {
        let raw = self
            .trade_size
            .sample(&mut self.rng)
            .clamp(1.0, MAX_TRADE_SIZE);
        let size = if self.rng.random_bool(ROUND_LOT_SHARE) {
            ((raw / 100.0).round() * 100.0).max(100.0)
        } else {
            raw.round()
        };
        // The clamp above keeps the value within u32.
        size as u32
    }
}

/// A gap between two ticks of one symbol, in whole milliseconds (at least 1, so time moves).
fn draw_gap(rng: &mut ChaCha8Rng, gap_ms: &Exp<f64>) -> i64 {
    (gap_ms.sample(rng).round() as i64).max(1)
}

impl SymbolModel {
    /// Moves the mid price from the previous tick to `ts` and trades `size` shares there.
    fn trade(&mut self, ts: i64, size: u32, normal: f64, jump_draw: f64, jump_normal: f64) -> Tick {
        let dt_ms = (ts - self.last_ts).max(1) as f64;
        let dt_years = dt_ms / TRADING_YEAR_MS;
        let sigma = self.volatility;
        let mut log_return = -0.5 * sigma * sigma * dt_years + sigma * dt_years.sqrt() * normal;
        let jump_probability = JUMPS_PER_HOUR * dt_ms / 3_600_000.0;
        if jump_draw < jump_probability {
            log_return += JUMP_SIZE * jump_normal;
        }
        // A stock never trades below one tick.
        self.mid = (self.mid * log_return.exp()).max(self.tick_size as f64);
        self.last_ts = ts;

        let (bid, ask) = self.quote();
        // Buyers lift the ask on up-moves, sellers hit the bid on down-moves: the bid-ask
        // bounce real prints show.
        let price = if log_return >= 0.0 { ask } else { bid };
        let open = *self.open.get_or_insert(price);
        self.high = if self.seq == 0 {
            price
        } else {
            self.high.max(price)
        };
        self.low = if self.seq == 0 {
            price
        } else {
            self.low.min(price)
        };
        self.volume += u64::from(size);
        self.seq += 1;
        Tick {
            symbol: self.symbol.clone(),
            seq: self.seq,
            ts,
            price,
            size,
            bid,
            ask,
            open,
            high: self.high,
            low: self.low,
            volume: self.volume,
        }
    }

    /// Best bid and ask around the mid, on the tick grid, at least one tick apart.
    fn quote(&self) -> (Price, Price) {
        let tick = self.tick_size;
        let spread_ticks = ((self.mid * self.spread_bps / 10_000.0) / tick as f64)
            .round()
            .max(1.0);
        let spread = spread_ticks as i64 * tick;
        let bid_ticks = ((self.mid - spread as f64 / 2.0) / tick as f64).floor() as i64;
        let bid = (bid_ticks * tick).max(tick);
        (Price(bid), Price(bid + spread))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::catalogue;

    const START: i64 = 1_764_000_000_000;

    fn simulator(seed: u64) -> Simulator {
        Simulator::new(
            &catalogue::all(),
            SimulatorConfig {
                tick_rate: 4.0,
                seed,
            },
            START,
        )
    }

    fn stream(seed: u64, count: usize) -> Vec<Tick> {
        let mut sim = simulator(seed);
        (0..count).map(|_| sim.next_tick().unwrap()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        assert_eq!(stream(42, 5_000), stream(42, 5_000));
    }

    #[test]
    fn a_different_seed_gives_a_different_stream() {
        assert_ne!(stream(42, 100), stream(43, 100));
    }

    #[test]
    fn the_seed_fixes_the_stream_relative_to_the_start() {
        let early = stream(7, 500);
        let mut sim = Simulator::new(
            &catalogue::all(),
            SimulatorConfig {
                tick_rate: 4.0,
                seed: 7,
            },
            0,
        );
        for tick in early {
            let later = sim.next_tick().unwrap();
            assert_eq!(
                (later.ts + START, later.seq, later.price),
                (tick.ts, tick.seq, tick.price)
            );
        }
    }

    #[test]
    fn ticks_come_in_time_order_with_consecutive_sequence_numbers_per_symbol() {
        let ticks = stream(1, 20_000);
        let mut last_seq: HashMap<Symbol, u64> = HashMap::new();
        let mut previous_ts = START;
        for tick in &ticks {
            assert!(tick.ts >= previous_ts, "time went backwards");
            previous_ts = tick.ts;
            let seq = last_seq.entry(tick.symbol.clone()).or_insert(0);
            assert_eq!(
                tick.seq,
                *seq + 1,
                "{} skipped a sequence number",
                tick.symbol
            );
            *seq = tick.seq;
        }
        assert_eq!(last_seq.len(), catalogue::all().len(), "every symbol ticks");
    }

    #[test]
    fn quotes_are_on_the_tick_grid_and_consistent() {
        for tick in stream(3, 20_000) {
            assert!(tick.bid < tick.ask, "crossed quote {tick:?}");
            assert!(tick.bid.cents() >= 1);
            assert!(tick.price == tick.bid || tick.price == tick.ask);
            assert!(tick.low <= tick.price && tick.price <= tick.high);
            assert!(tick.low <= tick.open && tick.open <= tick.high);
            assert!(tick.size >= 1 && f64::from(tick.size) <= MAX_TRADE_SIZE);
        }
    }

    #[test]
    fn volume_accumulates_the_trade_sizes() {
        let mut volume: HashMap<Symbol, u64> = HashMap::new();
        for tick in stream(5, 5_000) {
            let total = volume.entry(tick.symbol.clone()).or_insert(0);
            *total += u64::from(tick.size);
            assert_eq!(tick.volume, *total);
        }
    }

    #[test]
    fn the_tick_rate_sets_the_average_pace_with_random_spacing() {
        let mut sim = simulator(9);
        let hour = 3_600_000;
        let ticks: Vec<Tick> = sim.ticks_until(START + hour).collect();
        let per_symbol_per_second = ticks.len() as f64 / catalogue::all().len() as f64 / 3_600.0;
        assert!(
            (per_symbol_per_second - 4.0).abs() < 0.1,
            "rate {per_symbol_per_second}"
        );
        let aapl_gaps: Vec<i64> = ticks
            .iter()
            .filter(|t| t.symbol.as_str() == "AAPL")
            .map(|t| t.ts)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect();
        let distinct: std::collections::HashSet<i64> = aapl_gaps.iter().copied().collect();
        assert!(
            distinct.len() > 100,
            "gaps look like a metronome: {} distinct",
            distinct.len()
        );
    }

    #[test]
    fn hourly_moves_match_the_configured_volatility() {
        // Over half an hour, a 26 %-a-year stock diffuses 26% * sqrt(0.5/1638) = 0.45 % (one
        // sigma), and jumps add about 0.35 %: together about 0.57 %. Across many seeds the spread
        // of half-hourly log returns must be of that order.
        let returns: Vec<f64> = (0..100)
            .map(|seed| {
                let mut sim = Simulator::new(
                    &catalogue::select(&["AAPL".into()]).unwrap(),
                    SimulatorConfig {
                        tick_rate: 4.0,
                        seed,
                    },
                    START,
                );
                let last = sim.ticks_until(START + 1_800_000).last().unwrap();
                (last.price.cents() as f64 / 23_045.0).ln()
            })
            .collect();
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let sd =
            (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / returns.len() as f64).sqrt();
        assert!((0.0035..0.008).contains(&sd), "half-hourly sd {sd}");
    }
}
