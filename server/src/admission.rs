//! Who may open a long-lived connection: the Origin check against cross-site WebSocket
//! hijacking, and the limits on connections in total and per IP address.
//!
//! Both run at the handshake, before anything is upgraded or allocated, so a refused client
//! costs one HTTP response: 403 for a foreign Origin, 503 with `Retry-After` at a limit.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use actix_web::{HttpRequest, HttpResponse, ResponseError, http::StatusCode, http::header};

/// Seconds a client refused at a connection limit is told to wait.
const RETRY_AFTER_SECONDS: u32 = 5;

/// Why a handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The page that opened the connection is on an origin that is not allowed.
    #[error(
        "origin {0:?} may not connect: only this site's own pages and the origins in \
         --allowed-origins may open a connection"
    )]
    ForbiddenOrigin(String),
    /// The server holds as many connections as it accepts.
    #[error("the server is at its limit of {0} connections; try again later")]
    ServerFull(u32),
    /// This address holds as many connections as one address may.
    #[error("{ip} already has {max} connections open, the most one address may; try again later")]
    TooManyFromAddress {
        /// The client's address.
        ip: IpAddr,
        /// The per-address limit.
        max: u32,
    },
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Refusal::ForbiddenOrigin(_) => StatusCode::FORBIDDEN,
            Refusal::ServerFull(_) | Refusal::TooManyFromAddress { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("text/plain; charset=utf-8");
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
        }
        response.body(self.to_string())
    }
}

/// The Origin policy: same-origin always, plus an allow-list (`*` allows any origin).
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    any: bool,
}

impl OriginPolicy {
    /// A policy allowing the page's own origin and `allowed` (`scheme://host[:port]`, or `*`).
    pub fn new(allowed: &[String]) -> Self {
        OriginPolicy {
            any: allowed.iter().any(|origin| origin.trim() == "*"),
            allowed: allowed.iter().map(|origin| normalize(origin)).collect(),
        }
    }

    /// Checks the request's `Origin` header. A request without one is not from a browser page
    /// (browsers always send it on WebSocket and cross-site requests) and is allowed.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Refusal> {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or_default();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or_default();
        if self.allows(origin, host) {
            Ok(())
        } else {
            Err(Refusal::ForbiddenOrigin(origin.to_owned()))
        }
    }

    /// Whether a page on `origin` may connect to a server reached as `host`.
    pub fn allows(&self, origin: &str, host: &str) -> bool {
        if self.any {
            return true;
        }
        let origin = normalize(origin);
        if self.allowed.contains(&origin) {
            return true;
        }
        // Same origin: the Origin's authority is the Host the browser sent this request to.
        // (`null`, from sandboxed frames and files, has no authority and never matches.)
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        authority
            .is_some_and(|authority| !host.is_empty() && authority == host.to_ascii_lowercase())
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Counts open connections, in total and per IP address, and refuses those over the limits.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: u32,
    max_per_ip: u32,
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

impl ConnectionLimits {
    /// Limits of `max_total` connections, `max_per_ip` of them from one address.
    pub fn new(max_total: u32, max_per_ip: u32) -> Arc<Self> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::new(OpenConnections::default()),
        })
    }

    /// Takes a place for a connection from `ip`, held until the permit is dropped.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<ConnectionPermit, Refusal> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refusal::ServerFull(self.max_total));
        }
        if let Some(ip) = ip {
            let from_ip = open.per_ip.entry(ip).or_default();
            if *from_ip >= self.max_per_ip {
                return Err(Refusal::TooManyFromAddress {
                    ip,
                    max: self.max_per_ip,
                });
            }
            *from_ip += 1;
        }
        open.total += 1;
        Ok(ConnectionPermit {
            limits: self.clone(),
            ip,
        })
    }

    /// Connections holding a permit now.
    pub fn open(&self) -> u32 {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn release(&self, ip: Option<IpAddr>) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = ip
            && let Some(from_ip) = open.per_ip.get_mut(&ip)
        {
            *from_ip -= 1;
            if *from_ip == 0 {
                open.per_ip.remove(&ip);
            }
        }
    }
}

/// One connection's place under the limits; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    ip: Option<IpAddr>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limits.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_and_listed_origins_are_allowed_others_are_not() {
        let policy = OriginPolicy::new(&["https://Desk.Example.com/".to_owned()]);
        assert!(policy.allows("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(policy.allows("https://ticker.example.com", "Ticker.example.com"));
        assert!(policy.allows("https://desk.example.com", "127.0.0.1:8080"));
        assert!(!policy.allows("https://evil.example", "127.0.0.1:8080"));
        assert!(!policy.allows("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assert!(!policy.allows("null", "127.0.0.1:8080"));
        assert!(!policy.allows("http://", ""));
        assert!(OriginPolicy::new(&["*".to_owned()]).allows("null", "x"));
    }

    #[test]
    fn limits_count_per_address_and_in_total_and_free_on_drop() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limits.admit(Some(a)).unwrap();
        let _second = limits.admit(Some(a)).unwrap();
        assert_eq!(
            limits.admit(Some(a)).unwrap_err(),
            Refusal::TooManyFromAddress { ip: a, max: 2 }
        );
        let _third = limits.admit(Some(b)).unwrap();
        assert_eq!(limits.admit(Some(b)).unwrap_err(), Refusal::ServerFull(3));
        drop(first);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(Some(a)).is_ok());
        assert_eq!(limits.open(), 2, "the permit above was dropped at once");
    }

    #[test]
    fn refusals_map_to_403_and_503_with_retry_after() {
        let forbidden = Refusal::ForbiddenOrigin("https://evil.example".into()).error_response();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let full = Refusal::ServerFull(1).error_response();
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(full.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }
}
