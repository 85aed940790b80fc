//! The bound on `history` pages one connection has asked for and not yet been sent.
//!
//! A page is up to about 40 KB, and a connection's outbound queue counts messages, not bytes:
//! a client asking quickly and reading slowly could otherwise hold a queue's length of pages.
//! The connection takes a place before it passes a request to the hub and gives it back once
//! it has written the page, so at most [`MAX_HISTORY_IN_FLIGHT`] pages wait for it.

use ticker_shared::{ErrorCode, ErrorMessage, MAX_HISTORY_IN_FLIGHT};

/// The places of one connection's `history` requests in flight.
#[derive(Debug, Default)]
pub struct HistoryBudget {
    /// Requests passed to the hub whose pages have not been written yet.
    in_flight: usize,
}

impl HistoryBudget {
    /// Takes a place for one more request, or returns the `error` refusing it.
    pub fn take(&mut self) -> Result<(), ErrorMessage> {
        if self.in_flight >= MAX_HISTORY_IN_FLIGHT {
            let message = format!(
                "{MAX_HISTORY_IN_FLIGHT} history requests of this connection are still waiting \
                 for their answers to be sent; this one was not answered, ask again once an \
                 answer has arrived"
            );
            return Err(ErrorMessage::new(ErrorCode::RateLimited, message).replying_to("history"));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Gives back the place of a request whose page has been written.
    pub fn written(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_limit_are_in_flight_and_a_written_page_frees_a_place() {
        let mut budget = HistoryBudget::default();
        for _ in 0..MAX_HISTORY_IN_FLIGHT {
            assert_eq!(budget.take(), Ok(()));
        }
        let refused = budget.take().unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(refused.in_reply_to.as_deref(), Some("history"));
        assert!(refused.message.contains("ask again"), "{}", refused.message);
        budget.written();
        assert_eq!(budget.take(), Ok(()), "one place free again");
        assert!(budget.take().is_err());
    }
}
