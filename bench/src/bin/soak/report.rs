//! Samples over time, the flatness criterion, and the tables printed at
//! the end (Markdown, to paste into `BENCHMARKS.md`).

use tether_bench::client::metric;
use tether_bench::{median, Table};

use crate::stats::{Stats, C};

/// One sample of the server and the clients.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the churn started.
    pub t: f64,
    pub rss_kib: u64,
    /// Server CPU time so far, seconds.
    pub cpu_s: f64,
    /// From `/metrics` (NaN when it could not be read).
    pub connections: f64,
    pub accepted: f64,
    pub slow_consumer: f64,
    pub stale: f64,
    pub messages_in: f64,
    pub messages_out: f64,
    pub dropped_rate_limited: f64,
    /// Client counters.
    pub churn: u64,
    pub published: u64,
    pub abuse_answered: u64,
    pub slow_kicked: u64,
    pub errors: u64,
}

impl Sample {
    /// A sample at `t` from the server's `/metrics` text (empty when it
    /// could not be read), its RSS and CPU time, and the client counters.
    pub fn new(t: f64, rss_kib: u64, cpu_s: f64, metrics: &str, stats: &Stats) -> Sample {
        let m = |name: &str| metric(metrics, name).unwrap_or(f64::NAN);
        Sample {
            t,
            rss_kib,
            cpu_s,
            connections: m("tether_connections"),
            accepted: m("tether_connections_accepted_total"),
            slow_consumer: m("tether_slow_consumer_disconnects_total"),
            stale: m("tether_stale_disconnects_total"),
            messages_in: m("tether_messages_in_total"),
            messages_out: m("tether_messages_out_total"),
            dropped_rate_limited: m("tether_dropped_total{reason=\"rate_limited\"}"),
            churn: stats.get(C::ChurnCycles),
            published: stats.get(C::HttpPublished)
                + stats.get(C::BulkPublished)
                + stats.get(C::WsPublished),
            abuse_answered: stats.abuse_answered(),
            slow_kicked: stats.get(C::SlowKicked),
            errors: stats.errors_total(),
        }
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    const HEADER: [&'static str; 11] = [
        "t (s)",
        "server RSS (MiB)",
        "connections",
        "accepted (total)",
        "churn cycles",
        "publications",
        "messages out (total)",
        "slow-consumer disconnects",
        "abuse answered",
        "server CPU (s)",
        "client errors",
    ];

    fn cells(&self) -> Vec<String> {
        let n = |v: f64| {
            if v.is_nan() {
                "-".to_owned()
            } else {
                format!("{v:.0}")
            }
        };
        vec![
            format!("{:.0}", self.t),
            format!("{:.1}", self.rss_mib()),
            n(self.connections),
            n(self.accepted),
            self.churn.to_string(),
            self.published.to_string(),
            n(self.messages_out),
            n(self.slow_consumer),
            self.abuse_answered.to_string(),
            format!("{:.0}", self.cpu_s),
            self.errors.to_string(),
        ]
    }
}

/// Every sample, for the CSV.
pub fn samples_table(samples: &[Sample]) -> Table {
    let mut header: Vec<&str> = Sample::HEADER.to_vec();
    header.extend([
        "stale disconnects",
        "messages in (total)",
        "dropped rate_limited",
    ]);
    let mut t = Table::new(&header);
    for s in samples {
        let mut cells = s.cells();
        for v in [s.stale, s.messages_in, s.dropped_rate_limited] {
            cells.push(if v.is_nan() {
                "-".into()
            } else {
                format!("{v:.0}")
            });
        }
        t.row(cells);
    }
    t
}

/// About `rows` samples evenly spread over the run, the first and the
/// last included.
pub fn summary_table(samples: &[Sample], rows: usize) -> Table {
    let mut t = Table::new(&Sample::HEADER);
    let Some(last) = samples.last() else {
        return t;
    };
    let step = last.t / rows.max(2).saturating_sub(1) as f64;
    let mut next = 0.0;
    for (i, s) in samples.iter().enumerate() {
        if s.t + 1e-6 >= next || i + 1 == samples.len() {
            t.row(s.cells());
            next = s.t + step * 0.999;
        }
    }
    t
}

/// The RSS and connection medians of one window of the run.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: f64,
    pub to: f64,
    pub samples: usize,
    pub rss_mib: f64,
    pub connections: f64,
}

impl Window {
    /// The samples with `from <= t <= to`.
    pub fn of(samples: &[Sample], from: f64, to: f64) -> Window {
        let w: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.t >= from - 1e-6 && s.t <= to + 1e-6)
            .collect();
        let rss: Vec<f64> = w.iter().map(|s| s.rss_mib()).collect();
        let conns: Vec<f64> = w
            .iter()
            .map(|s| s.connections)
            .filter(|c| !c.is_nan())
            .collect();
        Window {
            from,
            to,
            samples: w.len(),
            rss_mib: median(&rss),
            connections: median(&conns),
        }
    }
}

/// The flatness criterion: the median RSS of the last window may exceed
/// the first post-warm-up window's by at most `max(pct %, mib MiB)`, and
/// the two windows must carry a comparable load (median connection
/// counts within `population_pct` %).
#[derive(Debug, Clone)]
pub struct Flatness {
    pub first: Window,
    pub last: Window,
    pub bound_mib: f64,
    pub population_pct: f64,
    /// Least-squares slope of RSS over the samples after the warm-up,
    /// MiB per hour (context, not a criterion).
    pub slope_mib_per_h: f64,
}

impl Flatness {
    pub fn new(
        samples: &[Sample],
        warmup: f64,
        window: f64,
        end: f64,
        pct: f64,
        mib: f64,
        population_pct: f64,
    ) -> Flatness {
        let first = Window::of(samples, warmup, warmup + window);
        let last = Window::of(samples, end - window, end);
        let bound_mib = (first.rss_mib * pct / 100.0).max(mib);
        let after: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| s.t >= warmup)
            .map(|s| (s.t, s.rss_mib()))
            .collect();
        Flatness {
            first,
            last,
            bound_mib,
            population_pct,
            slope_mib_per_h: slope(&after) * 3600.0,
        }
    }

    pub fn growth_mib(&self) -> f64 {
        self.last.rss_mib - self.first.rss_mib
    }

    pub fn flat(&self) -> bool {
        self.growth_mib() <= self.bound_mib
    }

    /// Whether both windows have samples and comparable connection counts.
    pub fn comparable(&self) -> bool {
        let (a, b) = (self.first.connections, self.last.connections);
        self.first.samples > 0
            && self.last.samples > 0
            && a > 0.0
            && ((b - a).abs() / a) * 100.0 <= self.population_pct
    }

    pub fn table(&self) -> Table {
        let mut t = Table::new(&[
            "window",
            "t (s)",
            "samples",
            "median server RSS (MiB)",
            "median connections",
        ]);
        for (name, w) in [("first after warm-up", &self.first), ("last", &self.last)] {
            t.row(vec![
                name.to_owned(),
                format!("{:.0}-{:.0}", w.from, w.to),
                w.samples.to_string(),
                format!("{:.1}", w.rss_mib),
                format!("{:.0}", w.connections),
            ]);
        }
        t
    }
}

/// Least-squares slope of `points` (y per x unit), 0 with fewer than two.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, rss_mib: f64, connections: f64) -> Sample {
        let mut s = Sample::new(t, (rss_mib * 1024.0) as u64, 0.0, "", &Stats::default());
        s.connections = connections;
        s
    }

    #[test]
    fn flat_and_growing_runs() {
        let flat: Vec<Sample> = (0..=60)
            .map(|i| sample(f64::from(i), 100.0 + f64::from(i % 3), 1000.0))
            .collect();
        let f = Flatness::new(&flat, 10.0, 10.0, 60.0, 20.0, 16.0, 10.0);
        assert!(f.flat() && f.comparable(), "{f:?}");
        assert!(f.slope_mib_per_h.abs() < 100.0);

        // 2 MiB per second: 100 -> 220 MiB.
        let growing: Vec<Sample> = (0..=60)
            .map(|i| sample(f64::from(i), 100.0 + 2.0 * f64::from(i), 1000.0))
            .collect();
        let g = Flatness::new(&growing, 10.0, 10.0, 60.0, 20.0, 16.0, 10.0);
        assert!(!g.flat(), "{g:?}");
        assert!((g.slope_mib_per_h - 7200.0).abs() < 1.0);

        // The same RSS, but half the connections at the end: not comparable.
        let emptied: Vec<Sample> = (0..=60)
            .map(|i| sample(f64::from(i), 100.0, if i > 40 { 500.0 } else { 1000.0 }))
            .collect();
        assert!(!Flatness::new(&emptied, 10.0, 10.0, 60.0, 20.0, 16.0, 10.0).comparable());
    }

    #[test]
    fn summary_keeps_first_and_last() {
        let s: Vec<Sample> = (0..=100).map(|i| sample(f64::from(i), 1.0, 1.0)).collect();
        let md = summary_table(&s, 5).markdown();
        let rows: Vec<&str> = md.lines().skip(2).collect();
        assert_eq!(rows.len(), 5, "{md}");
        assert!(rows[0].starts_with("| 0 "), "{md}");
        assert!(rows[4].starts_with("| 100 "), "{md}");
    }
}
