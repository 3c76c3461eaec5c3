<?php

/*
 * Drift detection from PHP: this week's features against last month's, a
 * bounded reference stored as JSON instead of the training data, a
 * Page-Hinkley detector on the error stream persisted between "requests",
 * and the retraining policy with its state kept by the caller.
 *
 *     php php-ext/examples/drift.php
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\DriftDetector;
use TenantMl\RetrainPolicy;
use TenantMl\StreamingDetector;

// Deterministic stand-ins for $query->pluck('column')->all().
$lastMonth = ['requests' => [], 'latency_ms' => [], 'plan' => []];
$thisWeek = ['requests' => [], 'latency_ms' => [], 'plan' => []];
for ($i = 0; $i < 2000; $i++) {
    $lastMonth['requests'][] = 100 + ($i * 37) % 50;
    $lastMonth['latency_ms'][] = 120 + ($i * 13) % 30;
    $lastMonth['plan'][] = $i % 3;
    $thisWeek['requests'][] = 100 + ($i * 37) % 50;
    $thisWeek['latency_ms'][] = $i % 10 === 0 ? null : 135 + ($i * 13) % 30; // slower; some missing
    $thisWeek['plan'][] = $i % 4;                                            // a new plan appeared
}

$report = DriftDetector::compare($lastMonth, $thisWeek, ['categorical' => ['plan']]);
printf("%-12s %-6s %10s %12s %8s\n", 'feature', 'test', 'statistic', 'p-value', 'drifted');
foreach ($report['features'] as $f) {
    printf(
        "%-12s %-6s %10.4f %12.3g %8s\n",
        $f['name'],
        $f['test'],
        $f['statistic'],
        $f['p_value'] ?? NAN,
        $f['drifted'] ? 'yes' : 'no'
    );
}
printf(
    "dataset drift: %s (%d of %d features)\n\n",
    $report['dataset_drift'] ? 'yes' : 'no',
    $report['n_drifted'],
    count($report['features'])
);

// Keep a bounded summary (at most 500 values per numeric feature), not the data.
$stored = DriftDetector::buildReference($lastMonth, ['plan'], 500)->toJson();
$again = DriftDetector::fromReference($stored)->report($thisWeek, ['numeric_test' => 'psi']);
printf("against the stored reference (%d bytes of JSON): %s\n\n", strlen($stored), implode(', ', array_map(
    fn (array $f) => sprintf('%s %s %.3f', $f['name'], $f['test'], $f['statistic']),
    $again['features']
)));

// One error per request; the detector state lives in the cache between requests.
$cache = [];
foreach ([0.1, 0.12, 0.09, 0.11] as $round => $base) {
    $detector = isset($cache['ph'])
        ? StreamingDetector::fromJson($cache['ph'])
        : StreamingDetector::pageHinkley(['threshold' => 20]);
    $errors = array_map(fn (int $k) => ($round < 2 ? $base : 0.8) + 0.01 * ($k % 5), range(0, 99));
    $run = $detector->updateMany($errors);
    $cache['ph'] = $detector->toJson();
    printf("request %d: first detection %s\n", $round, $run['first_detection'] ?? '-');
}

$policy = new RetrainPolicy(['consecutive_drift_reports' => 2]);
$state = null;
foreach ([true, true] as $drift) {
    $input = ['now' => 1_760_000_000, 'model_trained_at' => 1_759_000_000, 'dataset_drift' => $drift];
    $decision = $policy->decide($input, $state);
    $state = $decision['state'];                 // store it (cache, database) for the next evaluation
    $triggers = json_encode(array_column($decision['reasons'], 'trigger'));
    printf("retrain: %s %s\n", $decision['retrain'] ? 'yes' : 'no', $triggers);
}
