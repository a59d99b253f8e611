//! What an operator's monitoring scrapes: `GET /metrics` in the Prometheus text format.
//! Releases and shares held come from the database at scrape time; refusals by code,
//! requests and the time of the chain reads the server acted on are counted here.

use medconsent_keyrelease::wire::ErrorCode;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Metrics {
    requests: AtomicU64,
    refusals: [AtomicU64; ErrorCode::ALL.len()],
    chain_reads: AtomicU64,
    chain_read_micros: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            refusals: std::array::from_fn(|_| AtomicU64::new(0)),
            chain_reads: AtomicU64::new(0),
            chain_read_micros: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts a request; its id in the log (from 1).
    pub fn request(&self) -> u64 {
        self.requests
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    pub fn refused(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            if let Some(count) = self.refusals.get(i) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// One read the server acted on (all its nodes asked, their answers compared).
    pub fn chain_read(&self, took: Duration) {
        self.chain_reads.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.chain_read_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn render(&self, shares: u64, releases: u64) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
            let _ = writeln!(out, "# HELP medconsent_keyserver_{name} {help}");
            let _ = writeln!(out, "# TYPE medconsent_keyserver_{name} {kind}");
            for (suffix, value) in lines {
                let _ = writeln!(out, "medconsent_keyserver_{name}{suffix} {value}");
            }
        };
        let load = |count: &AtomicU64| count.load(Ordering::Relaxed).to_string();
        metric(
            "releases_total",
            "counter",
            "Shares released, one per log entry.",
            &[(String::new(), releases.to_string())],
        );
        metric(
            "shares_held",
            "gauge",
            "Shares held (one per record version).",
            &[(String::new(), shares.to_string())],
        );
        metric(
            "requests_total",
            "counter",
            "HTTP requests answered.",
            &[(String::new(), load(&self.requests))],
        );
        let refusals: Vec<(String, String)> = ErrorCode::ALL
            .iter()
            .zip(&self.refusals)
            .map(|(code, count)| (format!("{{code=\"{code}\"}}"), load(count)))
            .collect();
        metric("refusals_total", "counter", "Refusals by code.", &refusals);
        let seconds = self.chain_read_micros.load(Ordering::Relaxed) as f64 / 1e6;
        metric(
            "chain_read_seconds",
            "summary",
            "Chain reads the server acted on: every node asked, the answers compared.",
            &[
                ("_sum".into(), format!("{seconds:.6}")),
                ("_count".into(), load(&self.chain_reads)),
            ],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_lists_every_code_and_the_counts() {
        let metrics = Metrics::default();
        assert_eq!(metrics.request(), 1);
        assert_eq!(metrics.request(), 2);
        metrics.refused(ErrorCode::EntryUsed);
        metrics.refused(ErrorCode::EntryUsed);
        metrics.chain_read(Duration::from_micros(1_500));
        let text = metrics.render(7, 3);
        for line in [
            "medconsent_keyserver_releases_total 3",
            "medconsent_keyserver_shares_held 7",
            "medconsent_keyserver_requests_total 2",
            "medconsent_keyserver_refusals_total{code=\"entry_used\"} 2",
            "medconsent_keyserver_refusals_total{code=\"bad_signature\"} 0",
            "medconsent_keyserver_chain_read_seconds_sum 0.001500",
            "medconsent_keyserver_chain_read_seconds_count 1",
            "# TYPE medconsent_keyserver_refusals_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let codes = text
            .lines()
            .filter(|l| l.starts_with("medconsent_keyserver_refusals_total{"))
            .count();
        assert_eq!(codes, ErrorCode::ALL.len());
    }
}
