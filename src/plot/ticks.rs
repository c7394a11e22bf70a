//! Axis ticks at "nice" values: multiples of 1, 2 or 5 times a power of ten, so labels read
//! 120, 140, 160 rather than 116.7, 136.2.

/// The 1-2-5 step nearest to `raw` (> 0) on a log scale.
pub fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    // the geometric midpoints between 1, 2, 5 and 10
    let nice = if fraction < 2f64.sqrt() {
        1.0
    } else if fraction < 10f64.sqrt() {
        2.0
    } else if fraction < 50f64.sqrt() {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Ticks inside [lo, hi] at a 1-2-5 step giving about `target` intervals, and that step.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let step = nice_step((hi - lo) / target.max(1) as f64);
    if !(step.is_finite() && step > 0.0) {
        return (vec![lo], 1.0);
    }
    // integer multiples of the step, so no error accumulates along the axis
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step + 0.0).collect();
    (ticks, step)
}

/// `value` with as many decimals as `step` needs (step 20 -> "120", step 0.5 -> "1.5").
pub fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-(step.log10() + 1e-9).floor()).max(0.0) as usize;
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.0" read as zero
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lo: f64, hi: f64, target: usize) -> Vec<String> {
        let (ticks, step) = nice_ticks(lo, hi, target);
        ticks.iter().map(|&t| tick_label(t, step)).collect()
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        for (raw, nice) in [
            (1.0, 1.0),
            (1.3, 1.0),
            (1.5, 2.0),
            (2.9, 2.0),
            (3.3, 5.0),
            (6.9, 5.0),
            (7.2, 10.0),
            (23.5, 20.0),
            (0.037, 0.05),
            (0.00012, 0.0001),
        ] {
            let got = nice_step(raw);
            assert!((got - nice).abs() < 1e-12 * nice, "{raw}: {got} != {nice}");
        }
    }

    #[test]
    fn loss_ranges_get_round_labels() {
        // the range of the plot (251.6, 216.7, ... before)
        assert_eq!(labels(185.1, 266.4, 5), ["200", "220", "240", "260"]);
        assert_eq!(labels(101.3, 218.9, 5), ["120", "140", "160", "180", "200"]);
        assert_eq!(
            labels(0.0, 1.0, 5),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            labels(99.95, 100.05, 4),
            ["99.96", "99.98", "100.00", "100.02", "100.04"]
        );
        assert_eq!(labels(-3.2, 7.9, 5), ["-2", "0", "2", "4", "6"]);
        assert_eq!(labels(-0.3, 0.3, 3), ["-0.2", "0.0", "0.2"]);
        assert_eq!(
            labels(0.0, 30.0, 8),
            ["0", "5", "10", "15", "20", "25", "30"]
        );
    }

    #[test]
    fn ticks_stay_inside_the_range_and_are_at_least_two_for_a_wide_one() {
        for (lo, hi) in [
            (1.0, 2.0),
            (37.0, 41.0),
            (1e-4, 3e-4),
            (-500.0, -20.0),
            (0.0, 543.0),
        ] {
            let (ticks, _) = nice_ticks(lo, hi, 5);
            assert!(ticks.len() >= 2, "{lo}..{hi}: {ticks:?}");
            assert!(
                ticks.iter().all(|&t| t >= lo - 1e-12 && t <= hi + 1e-12),
                "{ticks:?}"
            );
        }
    }
}
