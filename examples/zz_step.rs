use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::{ForecastParams, UsagePredictor};
const START: i64 = 1_704_067_200;
fn main() {
    let mut rng = StdRng::seed_from_u64(1);
    let noise = Normal::new(0.0, 0.1).unwrap();
    let values: Vec<f64> = (0..8760)
        .map(|t| {
            let hour = t % 24;
            let day = (t / 24) % 7;
            let daily = if (8..18).contains(&hour) { 1.6 } else { 0.5 };
            let weekly = if day >= 5 { 0.4 } else { 1.0 };
            100.0 * daily * weekly * (1.0 + t as f64 / 8760.0) * (1.0 + noise.sample(&mut rng))
        })
        .collect();
    let t: Vec<i64> = (0..8760).map(|i| START + i * 3600).collect();
    let series = Series::new(&t, &values, &SeriesOptions::default()).unwrap();
    let p = if std::path::Path::new("/tmp/fb/p.bin").exists() {
        UsagePredictor::load("/tmp/fb/p.bin").unwrap()
    } else {
        let p =
            UsagePredictor::fit(std::slice::from_ref(&series), &ForecastParams::default()).unwrap();
        p.save("/tmp/fb/p.bin").unwrap();
        p
    };
    let k: usize = std::env::var("K")
        .map(|s| s.parse().unwrap())
        .unwrap_or(336);
    let two_weeks = &series.values()[series.len() - k..];
    let s0 = series.timestamp(series.len() - k);
    let n = 100_000;
    let t = std::time::Instant::now();
    let mut acc = 0.0;
    for _ in 0..n {
        acc += p
            .forecast_values(s0, std::hint::black_box(two_weeks), 1, &[80.0])
            .unwrap()
            .points[0]
            .forecast;
    }
    println!(
        "{:.2} us/step {acc}",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
