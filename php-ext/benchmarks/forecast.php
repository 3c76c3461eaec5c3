<?php

/*
 * Micro-benchmark: usage forecasts from PHP.
 *
 *     php php-ext/benchmarks/forecast.php [--iterations=2000] [--runs=5]
 *
 * Fits a UsagePredictor (default settings) on one year of seeded hourly usage,
 * then times
 *   - forecastGrid(): one step from the last two weeks (as a young tenant, as the recent
 *     window of a 40-day-old tenant (the blended regime: both model and prior run) and of
 *     a tenant with a year of data) / the whole year of values
 *     on the grid (the per-request hot path: no timestamps to pack or sort),
 *   - forecast() of one step from two weeks of (timestamp, value) in the same three regimes
 *     (unix seconds one period apart: checked, then the grid path) / from the whole year,
 *   - 24 steps from two weeks, with 80/95% intervals,
 *   - the fallback rule, 24 steps from two weeks.
 * Each figure is the median (and best) of --runs runs after a warm-up run.
 * Budget (issue 4): one forecast step from PHP under 20 us.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\UsagePredictor;

$options = getopt('', ['iterations:', 'runs:']);
$iterations = (int) ($options['iterations'] ?? 2000);
$runs = max(1, (int) ($options['runs'] ?? 5));

mt_srand(2026);
$start = 1704067200;
$t = [];
$v = [];
for ($i = 0; $i < 8760; $i++) {
    $hour = $i % 24;
    $weekday = intdiv($i, 24) % 7;
    $t[] = $start + $i * 3600;
    $v[] = 100 * (($hour >= 8 && $hour < 18) ? 1.6 : 0.5) * ($weekday >= 5 ? 0.4 : 1.0)
        * (1 + $i / 8760) * (0.9 + mt_rand(0, 200) / 1000);
}
$began = hrtime(true);
$predictor = UsagePredictor::fit($t, $v);
printf("fit on one year of hourly data: %.2f s\n", (hrtime(true) - $began) / 1e9);
$t2 = array_slice($t, -336);
$v2 = array_slice($v, -336);
$t4 = array_slice($t, -672);
$v4 = array_slice($v, -672);

$cases = [
    'forecastGrid(), 1 step, 2 weeks of history' => static fn () => $predictor->forecastGrid($t2[0], $v2, 1, [80]),
    'forecastGrid(), 1 step, 2 weeks of a 1-year tenant' => static fn () => $predictor->forecastGrid($t2[0], $v2, 1, [80], 365.0),
    'forecastGrid(), 1 step, 2 weeks of a 40-day tenant' => static fn () => $predictor->forecastGrid($t2[0], $v2, 1, [80], 40.0),
    'forecastGrid(), 1 step, 4 weeks of history' => static fn () => $predictor->forecastGrid($t4[0], $v4, 1, [80]),
    'forecastGrid(), 1 step, 1 year of history' => static fn () => $predictor->forecastGrid($t[0], $v, 1, [80]),
    'forecast(), 1 step, 2 weeks of history' => static fn () => $predictor->forecast($t2, $v2, 1, [80]),
    'forecast(), 1 step, 2 weeks of a 1-year tenant' => static fn () => $predictor->forecast($t2, $v2, 1, [80], null, 365.0),
    'forecast(), 1 step, 2 weeks of a 40-day tenant' => static fn () => $predictor->forecast($t2, $v2, 1, [80], null, 40.0),
    'forecast(), 1 step, 1 year of history' => static fn () => $predictor->forecast($t, $v, 1, [80]),
    'forecast(), 24 steps, 2 weeks, 80/95%' => static fn () => $predictor->forecast($t2, $v2, 24, [80, 95]),
    'fallback(), 24 steps, 2 weeks' => static fn () => UsagePredictor::fallback($t2, $v2, 24, [80]),
];
foreach ($cases as $name => $call) {
    $n = str_contains($name, '1 year') ? max(1, intdiv($iterations, 10)) : $iterations;
    $times = [];
    for ($r = 0; $r <= $runs; $r++) {
        $began = hrtime(true);
        for ($i = 0; $i < $n; $i++) {
            $call();
        }
        $times[] = (hrtime(true) - $began) / 1e3 / $n;
    }
    array_shift($times); // warm-up
    sort($times);
    $answer = $call();
    printf(
        "%-42s %8.1f us/call (best %.1f)  %s\n",
        $name,
        $times[intdiv(count($times), 2)],
        $times[0],
        $answer['regime'] ?? ''
    );
}
