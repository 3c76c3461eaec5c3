<?php

/*
 * Micro-benchmark: fraud scoring from PHP.
 *
 *     php php-ext/benchmarks/fraud.php [--iterations=5000] [--runs=5]
 *
 * Fits the cold-start FraudScorer (default 'training' settings: 300 boosting
 * rounds on synthetic data) and a rules-only scorer, then times one
 * transaction against a customer history of 100 rows, features included:
 *   - score() with the history as columns of ints/floats (codes already mapped),
 *   - score() with the history as rows with string payment methods and countries
 *     (what an Eloquent query returns; ids hashed, strings mapped through the
 *     cached schema codes),
 *   - score() on the rules-only scorer,
 *   - explain() with the top-3 reasons (TreeSHAP over 300 trees).
 * Each figure is the median (and best) of --runs runs after a warm-up run.
 * Budget (issue 5): under 20 us per score without explanations, top-3 reasons under 1 ms.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\FraudScorer;

$options = getopt('', ['iterations:', 'runs:']);
$iterations = (int) ($options['iterations'] ?? 5000);
$runs = max(1, (int) ($options['runs'] ?? 5));

$began = hrtime(true);
$scorer = FraudScorer::coldStart('training', 42);
printf("cold start (synthetic data + 300 rounds): %.2f s\n", (hrtime(true) - $began) / 1e9);
$rules = FraudScorer::rulesOnly(null, $scorer->info()['schema']);

mt_srand(2026);
$t0 = 1767900000;
$rows = [];
for ($i = 1; $i <= 100; $i++) {
    $rows[] = [
        'amount' => round(35 * exp((mt_rand(0, 1000) / 1000 - 0.5)), 2),
        'timestamp' => $t0 - $i * 21_600 - mt_rand(0, 3600),
        'payment_method' => $i % 7 === 0 ? 'card_fp_b' : 'card_fp_a',
        'country' => 'DE',
        'outcome' => $i % 23 === 0 ? 'failed' : 'succeeded',
    ];
}
$de = $scorer->code('country', 'DE');
$columns = [
    'amount' => array_column($rows, 'amount'),
    'timestamp' => array_column($rows, 'timestamp'),
    'payment_method' => array_map(static fn (array $r): int => $r['payment_method'] === 'card_fp_a' ? 1 : 2, $rows),
    'country' => array_fill(0, 100, $de),
    'outcome' => array_map(static fn (array $r): int => $r['outcome'] === 'failed' ? 1 : 0, $rows),
];
$txn = [
    'amount' => 42.5,
    'timestamp' => $t0,
    'customer' => 1234,
    'payment_method' => 'card_fp_a',
    'currency' => 'EUR',
    'country' => 'DE',
    'ip_country' => 'DE',
    'category' => 'electronics',
];

$cases = [
    'score(), 100 rows as int/float columns' => static fn () => $scorer->score($txn, $columns),
    'score(), 100 rows as arrays with strings' => static fn () => $scorer->score($txn, $rows),
    'score(), rules only, 100 rows as columns' => static fn () => $rules->score($txn, $columns),
    'explain(), top 3 reasons, 100 rows' => static fn () => $scorer->explain($txn, $columns, 3),
];
foreach ($cases as $name => $call) {
    $n = str_starts_with($name, 'explain') ? max(1, intdiv($iterations, 10)) : $iterations;
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
    printf("%-44s %8.1f us/call (best %.1f)\n", $name, $times[intdiv(count($times), 2)], $times[0]);
}
