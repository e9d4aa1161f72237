//! `--demo`: publishes plausible mining-fleet data every second on the
//! built-in topics that exist (`miners`, `system`, `metrics`, and now and
//! then `alerts`).

use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::AppState;

/// Number of simulated miners.
const MINERS: usize = 8;

/// Starts the demo publisher; it runs until the task is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut fleet = Fleet::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            fleet.step();
            let mut batch = vec![
                ("miners", None, fleet.miners()),
                ("metrics", None, fleet.metrics()),
                (
                    "system",
                    None,
                    fleet.system(state.started().elapsed().as_secs()),
                ),
            ];
            if let Some(alert) = fleet.alert() {
                batch.push(("alerts", Some("alert"), alert));
            }
            for (topic, event, data) in batch {
                if state.hub().topic_info(topic).is_some() {
                    // A failure (broker down) is counted and logged by
                    // `publish`; the demo goes on with the next tick.
                    let _ = state.publish(topic, event.map(str::to_owned), data).await;
                }
            }
        }
    })
}

/// Simulated miners with a slow random walk.
struct Fleet {
    hashrate: [f64; MINERS],
    temp: [f64; MINERS],
    online: [bool; MINERS],
    shares: u64,
    ticks: u64,
}

impl Fleet {
    fn new() -> Self {
        Fleet {
            hashrate: [110.0; MINERS],
            temp: [65.0; MINERS],
            online: [true; MINERS],
            shares: 0,
            ticks: 0,
        }
    }

    fn step(&mut self) {
        self.ticks += 1;
        for i in 0..MINERS {
            if fastrand::u32(..200) == 0 {
                self.online[i] = !self.online[i];
            }
            let walk = |v: f64, spread: f64, lo: f64, hi: f64| {
                (v + (fastrand::f64() - 0.5) * spread).clamp(lo, hi)
            };
            self.hashrate[i] = walk(self.hashrate[i], 4.0, 90.0, 130.0);
            self.temp[i] = walk(self.temp[i], 1.5, 50.0, 92.0);
            if self.online[i] {
                self.shares += fastrand::u64(0..4);
            }
        }
    }

    fn miners(&self) -> Value {
        let list: Vec<Value> = (0..MINERS)
            .map(|i| {
                let online = self.online[i];
                json!({
                    "id": format!("miner-{:02}", i + 1),
                    "status": if !online { "offline" } else if self.temp[i] > 85.0 { "hot" } else { "ok" },
                    "hashrate_ths": if online { round1(self.hashrate[i]) } else { 0.0 },
                    "temp_c": round1(self.temp[i]),
                })
            })
            .collect();
        json!({ "miners": list })
    }

    fn metrics(&self) -> Value {
        let online: Vec<usize> = (0..MINERS).filter(|&i| self.online[i]).collect();
        let total: f64 = online.iter().map(|&i| self.hashrate[i]).sum();
        json!({
            "total_hashrate_ths": round1(total),
            "miners_online": online.len(),
            "miners_total": MINERS,
            "shares_accepted": self.shares,
        })
    }

    fn system(&self, uptime_s: u64) -> Value {
        json!({
            "cpu_percent": round1(20.0 + fastrand::f64() * 30.0),
            "memory_percent": round1(40.0 + fastrand::f64() * 10.0),
            "uptime_s": uptime_s,
        })
    }

    fn alert(&self) -> Option<Value> {
        let hot = (0..MINERS).find(|&i| self.online[i] && self.temp[i] > 85.0);
        let offline = (0..MINERS).find(|&i| !self.online[i]);
        // At most one alert every 5 s.
        if !self.ticks.is_multiple_of(5) {
            return None;
        }
        if let Some(i) = hot {
            return Some(json!({
                "severity": "warning",
                "miner": format!("miner-{:02}", i + 1),
                "message": format!("temperature {:.1} °C", self.temp[i]),
            }));
        }
        offline.map(|i| {
            json!({
                "severity": "critical",
                "miner": format!("miner-{:02}", i + 1),
                "message": "miner offline",
            })
        })
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
