//! Faults the replay server injects on purpose, shared by the server (error answers) and the relay in
//! front of it (dropped connections).

/// Trouble the server adds on purpose, to test retries and timing: a fixed latency on every answer, and a
/// fraction of requests answered with throttling errors or 500s (in each service's own format), or whose
/// connection is dropped before an answer (a third of the faults each), instead of their recording.
/// Which requests fail depends only on the seed, the request and how often it was seen, not on arrival
/// order, so a run is reproducible however its calls interleave.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub latency: std::time::Duration,
    /// 0.0 to 1.0.
    pub rate: f64,
    pub seed: u64,
}

impl Faults {
    /// The share of requests whose connection the relay in front of the server drops: a third of the
    /// faults.
    pub(super) fn drop_rate(&self) -> f64 {
        self.rate / 3.0
    }

    /// The share of the requests that get through the relay that the server answers with an error, so
    /// that drops and errors together make `rate`.
    pub(super) fn error_rate(&self) -> f64 {
        let dropped = self.drop_rate();
        (self.rate - dropped) / (1.0 - dropped)
    }

    /// A number in [0, 1) from the seed, the request and its attempt (FNV-1a, stable across builds).
    pub(super) fn draw(&self, key: &str, attempt: u32, salt: u8) -> f64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let bytes = self
            .seed
            .to_le_bytes()
            .into_iter()
            .chain(key.bytes())
            .chain(attempt.to_le_bytes())
            .chain([salt]);
        for byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Finalise (splitmix64) so nearby inputs spread over the whole range.
        hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^= hash >> 31;
        (hash >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_errors_together_make_the_rate() {
        for rate in [0.0, 0.3, 0.5, 1.0] {
            let faults = Faults {
                rate,
                ..Faults::default()
            };
            let total = faults.drop_rate() + (1.0 - faults.drop_rate()) * faults.error_rate();
            assert!((total - rate).abs() < 1e-12, "{rate}: {total}");
        }
    }
}
