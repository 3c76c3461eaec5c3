<?php

/*
 * `make demo`: a circuit breaker protecting a flaky payment gateway, told in
 * about twenty lines. The breaker lives in a shared (memory-mapped) store, so
 * a second PHP process sees the same state, as php-fpm workers would. Then a
 * tree model fitted and explained in the same process, usage forecasts, churn
 * risk with reasons and the retention actions it triggers, fraud scores, drift
 * that triggers a retrain rolled forward through the model registry, and the
 * host-wide /metrics page.
 *
 *     php php-ext/examples/demo.php
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\BreakerStore;
use TenantMl\ChurnPredictor;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Model;
use TenantMl\ModelRegistry;
use TenantMl\Native;
use TenantMl\RetrainPolicy;
use TenantMl\Telemetry;
use TenantMl\UsagePredictor;

const OPEN_WAIT_MS = 300;

$dir = sys_get_temp_dir() . '/tenantml-demo-' . getmypid();
@mkdir($dir, 0700);
// Every prediction below counts itself into host-wide metrics in this file (step 11).
Telemetry::openShared("{$dir}/metrics.shm");
register_shutdown_function(static function () use ($dir): void {
    @unlink("{$dir}/tenantml-breakers.shm");
    @rmdir($dir);
});

// The "remote" dependency: healthy, then timing out, then healthy again.
$gatewayUp = true;
$gateway = static function (int $order) use (&$gatewayUp): string {
    if (!$gatewayUp) {
        usleep(2000); // a slow failure
        throw new RuntimeException('gateway timeout');
    }
    return "paid";
};
$fallback = static fn (Throwable $e): string => 'queued for retry (' . ($e instanceof CircuitOpenException
    ? 'rejected by the breaker, retry after ' . $e->retryAfterMs() . ' ms'
    : $e->getMessage()) . ')';

$store = BreakerStore::shared($dir);
$config = ['consecutive_failure_threshold' => 5, 'open_wait_ms' => OPEN_WAIT_MS];
$breaker = $store->breaker('payments-api', $config);

printf(
    "tenantml %s via %s, shared store %s/tenantml-breakers.shm\n",
    Native::version(),
    Native::usesPreloadedScope() ? 'ffi.preload' : 'FFI::cdef',
    $dir
);
printf(
    "breaker 'payments-api': opens after 5 failures in a row, waits %d ms, then lets one probe through\n\n",
    OPEN_WAIT_MS
);

class_exists(CircuitOpenException::class); // autoload now, not inside the first timed rejection

$order = 0;
$state = $breaker->state();
$charge = static function () use ($breaker, $gateway, $fallback, &$order, &$state): void {
    $order++;
    $t = hrtime(true);
    $result = $breaker->call(static fn () => $gateway($order), $fallback);
    $us = (hrtime(true) - $t) / 1e3;
    $now = $breaker->state();
    $states = $now === $state ? "[{$now}]" : "[{$state} -> {$now}]";
    printf("  order #%-2d %-66s %5.0f us  %s\n", $order, $result, $us, $states);
    $state = $now;
};

echo "1. The gateway is healthy.\n";
$charge();
$charge();

echo "2. The gateway starts timing out; call() records each failure and serves the fallback.\n";
$gatewayUp = false;
for ($i = 0; $i < 5; $i++) {
    $charge();
}

echo "3. The breaker is open: the gateway is not called at all, the fallback answers at once.\n";
$charge();
$charge();
$other = proc_open([PHP_BINARY, '-r', sprintf(
    'require %s; echo TenantMl\BreakerStore::shared(%s)->breaker("payments-api", %s)->state();',
    var_export(dirname(__DIR__) . '/autoload.php', true),
    var_export($dir, true),
    var_export($config, true)
)], [1 => ['pipe', 'w']], $pipes);
printf("  another PHP process (a php-fpm worker, say) sees the breaker: %s\n", stream_get_contents($pipes[1]));
proc_close($other);

printf("4. %d ms later the gateway is back; the breaker lets one probe through.\n", OPEN_WAIT_MS);
$gatewayUp = true;
usleep((OPEN_WAIT_MS + 20) * 1000);
$permit = $breaker->allow();
printf("  allow(): probe lease %d, %s\n", $permit->lease(), $permit->transition());
printf("  order #%-2d %s; record(success): %s\n", ++$order, $gateway($order), $breaker->record($permit, true));
$state = $breaker->state();
$charge();

echo "\n5. Prometheus metrics (\$store->metrics(), # HELP/# TYPE lines left out):\n";
foreach (explode("\n", trim($store->metrics())) as $line) {
    if ($line !== '' && $line[0] !== '#') {
        echo "  {$line}\n";
    }
}

echo "\n6. The same process also predicts. A blend of boosting and a forest learns hourly usage\n"
    . "   from hour of day, weekday and team size (synthetic: busy afternoons, quiet weekends):\n";
mt_srand(2026);
$rows = [];
$usage = [];
for ($i = 0; $i < 3000; $i++) {
    [$hour, $weekday, $users] = [mt_rand(0, 23), mt_rand(0, 6), mt_rand(5, 200)];
    $daily = exp(-(($hour - 14) ** 2) / 18); // peaks at 14:00
    $rows[] = [$hour, $weekday, $users];
    $usage[] = $users * (0.05 + $daily) * ($weekday >= 5 ? 0.3 : 1.0) * (0.9 + mt_rand(0, 20) / 100);
}
$t = hrtime(true);
$model = Model::fit($rows, $usage, [
    'model' => 'blend',
    'gbdt' => ['rounds' => 80, 'learning_rate' => 0.1],
    'forest' => ['trees' => 30, 'min_samples_leaf' => 10],
    'feature_names' => ['hour', 'weekday', 'users'],
    'seed' => 1,
]);
printf("  Model::fit(): 3000 rows in %.0f ms\n", (hrtime(true) - $t) / 1e6);
$model->setMetadata(['name' => 'usage-forecast', 'version' => 1]);

$days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
foreach ([[14, 1, 120], [3, 1, 120], [14, 5, 120], [10, 2, 20]] as $row) {
    $reasons = array_map(
        static fn (array $r): string => sprintf('%s=%g %+.1f', $r['name'], $r['value'], $r['contribution']),
        $model->explain($row, 3, 'both')['reasons']
    );
    printf(
        "  %s %02d:00, %3d users: %6.1f requests/h  because %s\n",
        $days[$row[1]],
        $row[0],
        $row[2],
        $model->predictRow($row),
        implode(', ', $reasons)
    );
}
$t = hrtime(true);
for ($i = 0; $i < 1000; $i++) {
    $model->predictRow([$i % 24, $i % 7, 50]);
}
printf("  predictRow(): %.1f us per call (1000 calls)\n", (hrtime(true) - $t) / 1e3 / 1000);

$bytes = $model->toBytes();
$reloaded = Model::fromBytes($bytes);
$info = $reloaded->info();
printf(
    "  toBytes(): %.1f KB (store them on any Laravel disk); fromBytes() predicts the same: %s\n",
    strlen($bytes) / 1024,
    $reloaded->predictRow([14, 1, 120]) === $model->predictRow([14, 1, 120]) ? 'yes' : 'NO'
);
printf(
    "  info(): '%s' v%d, %s (boosting weight %.2f), features %s, held-out MAE %.2f requests/h\n",
    $info['metadata']['name'],
    $info['metadata']['version'],
    $info['kind'],
    $info['gbdt_weight'],
    implode('/', $info['feature_names']),
    $info['metadata']['training_metrics']['valid_mae']
);

echo "\n7. Usage forecasting: one global model over 12 tenants (hourly, Europe/Berlin clock), then\n"
    . "   a mature tenant, a tenant on day 2 and one signing up now (synthetic usage):\n";
$hour = 3600;
$origin = 1717372800; // Monday 2024-06-03T00:00:00Z
$tenantUsage = static function (int $days, float $level, int $seed, int $start) use ($hour): array {
    mt_srand($seed);
    $t = [];
    $v = [];
    for ($i = 0; $i < $days * 24; $i++) {
        $ts = $start + $i * $hour;
        $local = (int) gmdate('G', $ts + 7200);              // CEST
        $weekday = (int) gmdate('N', $ts + 7200);
        $daily = 0.3 + exp(-(($local - 13) ** 2) / 12);
        $t[] = $ts;
        $v[] = round($level * $daily * ($weekday >= 6 ? 0.35 : 1.0) * (0.85 + mt_rand(0, 30) / 100), 2);
    }
    return [$t, $v];
};
$tenants = [];
for ($s = 0; $s < 12; $s++) {
    $tenants["tenant-{$s}"] = $tenantUsage(42, 20.0 * ($s + 1), 100 + $s, $origin - 42 * 24 * $hour);
}
$t = hrtime(true);
$usageTenants = $tenants;
$predictor = UsagePredictor::fitMany($tenants, [
    'name' => 'usage-hourly',
    'version' => 1,
    'time_zone' => 'Europe/Berlin',
    'model' => ['gbdt' => ['rounds' => 100], 'forest' => ['trees' => 30]],
]);
$info = $predictor->info();
printf(
    "  UsagePredictor::fitMany(): 12 x 42 days in %.0f ms; periods %s, transform %s, %d features\n",
    (hrtime(true) - $t) / 1e6,
    implode('/', $info['periods']),
    $info['transform'],
    count($info['features'])
);
$show = static function (string $who, array $result): void {
    $cells = [];
    foreach ([9, 13, 20] as $h) {
        $row = $result['rows'][$h];
        $cells[] = sprintf('%s %5.1f [%5.1f, %5.1f]', gmdate('H:i', $row['timestamp'] + 7200), $row['forecast'], $row['lower'], $row['upper']);
    }
    printf("  %-28s %-16s %s\n", $who, $result['regime'], implode('  ', $cells));
};
[$mt, $mv] = $tenantUsage(60, 150.0, 7, $origin - 60 * 24 * $hour);
$show('mature tenant (60 days):', $predictor->forecast($mt, $mv, 24, [80]));
[$nt, $nv] = $tenantUsage(1, 40.0, 8, $origin - 24 * $hour);
$show('new tenant (1 day):', $predictor->forecast($nt, $nv, 24, [80]));
$show('signing up now (no data):', $predictor->forecast([], [], 24, [80], $origin));
$show('fallback rule (60 days):', UsagePredictor::fallback($mt, $mv, 24, [80], 'Europe/Berlin'));
$last = array_slice($mt, -336);
$lastV = array_slice($mv, -336);
$t = hrtime(true);
for ($i = 0; $i < 200; $i++) {
    $predictor->forecast($last, $lastV, 1, [80]);
}
printf("  forecast() of one step from two weeks of history: %.1f us per call (200 calls)\n", (hrtime(true) - $t) / 1e3 / 200);
echo "  (times are local, Europe/Berlin; [80% interval]; every answer names its regime and model version)\n";

echo "\n8. Churn risk: a model fitted on synthetic tenants (no churn labels yet), four tenants as of\n"
    . "   2025-09-01 with the reasons behind each probability, then the retention actions it triggers:\n";
$day = 86400;
$asOf = 1756684800; // 2025-09-01T00:00:00Z
$t = hrtime(true);
$churn = ChurnPredictor::coldStart();
printf("  ChurnPredictor::coldStart(): trained on 1500 synthetic tenants in %.0f ms\n", (hrtime(true) - $t) / 1e6);
// A tenant's history: $sessions($d) sessions on the day $d days ago, failed payments $failed days ago.
$history = static function (
    string $id,
    int $seats,
    int $tenureDays,
    callable $sessions,
    array $failed = [],
) use (
    $asOf,
    $day,
): array {
    $events = [];
    for ($d = min(120, $tenureDays); $d >= 1; $d--) {
        for ($s = 0; $s < $sessions($d); $s++) {
            $events[] = ['at' => $asOf - $d * $day + 9 * 3600 + $s * 1800, 'amount' => 25.0];
        }
    }
    return [
        'id' => $id,
        'events' => $events,
        'subscription' => [
            'plan' => $seats >= 10 ? 'business' : 'starter',
            'started_at' => $asOf - $tenureDays * $day,
            'seats' => $seats,
            'monthly_price' => $seats * 40.0,
            'plan_allowance' => $seats * 900.0,
        ],
        'failed_payments' => array_map(static fn (int $d): int => $asOf - $d * $day, $failed),
        'tickets' => [],
    ];
};
$tenants = [
    $history('acme-active', 25, 700, static fn (int $d): int => $d % 7 < 5 ? 6 : 1),
    $history('globex-fading', 18, 500, static fn (int $d): int => $d > 60 ? 6 : ($d > 21 && $d % 4 === 0 ? 1 : 0)),
    $history('initech-payments', 4, 300, static fn (int $d): int => $d % 7 < 5 && $d % 3 > 0 ? 1 : 0, [2, 9, 16]),
    $history('hooli-new', 3, 12, static fn (int $d): int => $d === 11 ? 2 : 0),
];
$scores = $churn->predictMany($tenants, $asOf);
foreach ($scores as $s) {
    printf(
        "  %-17s p=%.2f  %-10s %s\n",
        $s['tenant_id'],
        $s['probability'],
        $s['regime'],
        implode('; ', array_slice(array_column($s['reasons'], 'description'), 0, 2))
    );
}
$outcome = ChurnPredictor::triggers($scores, null, $asOf);
foreach ($outcome['decisions'] as $d) {
    printf("  -> %-15s %-22s (%s)\n", $d['tenant_id'], $d['action'], $d['reason']);
}
printf("  cool-down state to store (JSON, e.g. in the cache): %s\n", json_encode($outcome['state']));
$again = ChurnPredictor::triggers($scores, $outcome['state'], $asOf + 2 * $day);
printf(
    "  two days later, same scores: %d actions, %d held back by their cool-down (%s)\n",
    count($again['decisions']),
    count($again['suppressed']),
    implode(', ', array_map(
        static fn (array $x): string => "{$x['action']} for {$x['tenant_id']} until "
            . gmdate('M j', $x['next_allowed_at']),
        array_slice($again['suppressed'], 0, 2)
    )) . (count($again['suppressed']) > 2 ? ', ...' : '')
);

echo "\n9. Fraud scoring: a day-1 (cold-start) scorer fitted on synthetic transactions with planted\n"
    . "   fraud, one customer's last 30 days, then four new transactions; then the rules alone:\n";
$t = hrtime(true);
$fraud = \TenantMl\FraudScorer::coldStart('training', 42);
printf("  FraudScorer::coldStart(): %.1f s (synthetic data + boosting, Platt calibration)\n", (hrtime(true) - $t) / 1e9);
$now = 1767900000; // Thursday 2026-01-08 20:20 Europe/Berlin
mt_srand(5);
$customerHistory = [];
for ($d = 1; $d <= 30; $d++) {
    $customerHistory[] = ['amount' => round(25 + mt_rand(0, 2500) / 100, 2), 'timestamp' => $now - $d * 86400 + mt_rand(-7200, 7200),
        'payment_method' => 'card_visa_4242', 'country' => 'DE', 'outcome' => 'succeeded'];
}
$usual = ['amount' => 38.90, 'timestamp' => $now, 'customer' => 'cus_anna', 'payment_method' => 'card_visa_4242',
    'currency' => 'EUR', 'country' => 'DE', 'ip_country' => 'DE', 'category' => 'groceries'];
$burst = $customerHistory;
for ($i = 1; $i <= 6; $i++) {
    $burst[] = ['amount' => 1.0, 'timestamp' => $now - 30 * $i, 'payment_method' => 'card_new_0001', 'country' => 'DE', 'outcome' => 'failed'];
}
$cases = [
    'usual purchase, 38.90' => [$usual, $customerHistory],
    'card testing: 7th 1.00 in 3 min' => [['amount' => 1.0, 'payment_method' => 'card_new_0001'] + $usual, $burst],
    'new card, BR card / NG IP, 420' => [['amount' => 420.0, 'payment_method' => 'card_new_9876', 'country' => 'BR',
        'ip_country' => 'NG', 'category' => 'gift_cards'] + $usual, $customerHistory],
    'usual card, 1890 electronics' => [['amount' => 1890.0, 'category' => 'electronics'] + $usual, $customerHistory],
];
$rulesOnly = \TenantMl\FraudScorer::rulesOnly(null, $fraud->info()['schema']);
foreach (['cold-start model' => $fraud, 'rules alone' => $rulesOnly] as $who => $scorer) {
    printf("  %s (%s):\n", $who, $scorer->info()['name']);
    foreach ($cases as $what => [$txn, $history]) {
        $answer = $scorer->explain($txn, $history, 2);
        $why = array_map(static fn (array $r): string => $r['description'], array_slice($answer['reasons'], 0, 2));
        printf(
            "    %-32s %.3f %-8s %-10s %s\n",
            $what,
            $answer['score'],
            $answer['decision'],
            $answer['regime'],
            $why === [] || $answer['decision'] === 'approve' ? '-' : implode('; ', $why)
        );
    }
}
$t = hrtime(true);
for ($i = 0; $i < 1000; $i++) {
    $fraud->score($usual, $customerHistory);
}
printf("  score() with 30 rows of history: %.1f us per call (1000 calls)\n", (hrtime(true) - $t) / 1e3 / 1000);
echo "  (score = calibrated fraud probability, or the combined rule weight for the rules; top-2 reasons\n"
    . "   of what was not approved; every answer names its regime and model)\n";

echo "\n10. Drift, retraining and the model registry. The usage forecaster's file keeps a summary of\n"
    . "    its training features. Version 1 is registered and promoted; then a tenant's usage turns\n"
    . "    bursty (a nightly batch job), weekly drift checks feed a retraining policy (retrain\n"
    . "    after 2 drifted reports in a row), and the refitted model is registered and rolled forward:\n";
$registry = ModelRegistry::open("{$dir}/models");
$v1 = $registry->save('usage-hourly', $predictor, ['config' => ['tenants' => 12, 'days' => 42]]);
$registry->promote('usage-hourly', $v1);
$live = $registry->load('usage-hourly', UsagePredictor::class);
$bursty = static function (int $days, int $seed, int $start) use ($tenantUsage, $hour): array {
    [$t, $v] = $tenantUsage($days, 60.0, $seed, $start);
    mt_srand($seed);
    foreach ($v as $i => $x) {
        $local = (int) gmdate('G', $t[$i] + 7200);
        $v[$i] = round($x * ($local < 5 ? 6.0 : 1.0) * (0.3 + mt_rand(0, 170) / 100), 2);
    }
    return [$t, $v];
};
$policy = new RetrainPolicy(['consecutive_drift_reports' => 2]);
$policyState = null;
$trainedAt = $origin;
foreach ([1, 2, 3] as $week) {
    $now = $origin + $week * 7 * 86400;
    // The last two weeks, and the day after them (kept aside to score forecasts below).
    [$wt, $wv] = $week === 1
        ? $tenantUsage(15, 60.0, 300, $now - 14 * 86400)   // week 1: still the usual rhythm
        : $bursty(15, 300 + $week, $now - 14 * 86400);     // then the batch job runs
    [$nextT, $nextV] = [array_slice($wt, 336), array_slice($wv, 336)];
    [$wt, $wv] = [array_slice($wt, 0, 336), array_slice($wv, 0, 336)];
    $report = $live->featureDrift($wt, $wv);
    Telemetry::recordDrift('usage-hourly', $report);
    $drifted = array_filter($report['features'], static fn (array $f): bool => $f['drifted']);
    usort($drifted, static fn (array $a, array $b): int => $b['statistic'] <=> $a['statistic']);
    $decision = $policy->decide(
        ['now' => $now, 'model_trained_at' => $trainedAt, 'dataset_drift' => $report['dataset_drift']],
        $policyState
    );
    $policyState = $decision['state'];
    printf(
        "  week %d: %2d of %d features drifted (KS; top: %s)\n          -> %s\n",
        $week,
        count($drifted),
        count($report['features']),
        implode(', ', array_map(static fn (array $f): string => sprintf('%s D=%.2f', $f['name'], $f['statistic']), array_slice($drifted, 0, 3))) ?: '-',
        $decision['retrain']
            ? 'retrain (' . implode(', ', array_column($decision['reasons'], 'trigger')) . ')'
            : 'keep the model'
    );
}
// Policy said retrain (the platform would queue a job): refit with 42 days of the new pattern.
$usageTenants['tenant-batch'] = $bursty(42, 302, $origin + 21 * 86400 - 42 * 86400);
$t = hrtime(true);
$retrained = UsagePredictor::fitMany($usageTenants, [
    'name' => 'usage-hourly',
    'version' => 2,
    'time_zone' => 'Europe/Berlin',
    'model' => ['gbdt' => ['rounds' => 100], 'forest' => ['trees' => 30]],
]);
$v2 = $registry->save('usage-hourly', $retrained, ['config' => ['tenants' => 13, 'days' => 42]]);
$registry->promote('usage-hourly', $v2);
$live = $registry->load('usage-hourly', UsagePredictor::class);
$mae = static function (UsagePredictor $model) use ($wt, $wv, $nextV): float {
    $f = $model->forecast($wt, $wv, 24, [80], null, 56.0);
    return array_sum(array_map(static fn (array $r, float $a): float => abs($r['forecast'] - $a), $f['rows'], $nextV)) / 24;
};
printf(
    "  refitted in %.1f s, registered as v%d and promoted (versions: %s);\n"
    . "  the next day of that tenant, forecast from its last two weeks: MAE v1 %.1f, v2 %.1f\n"
    . "  (rollback() would make v%d live again)\n",
    (hrtime(true) - $t) / 1e9,
    $v2,
    implode(', ', array_map(static fn (array $e): string => 'v' . $e['version'], $registry->versions('usage-hourly'))),
    $mae($predictor),
    $mae($live),
    $v1
);

echo "\n11. The host's /metrics page (Telemetry::metrics(\$store): every php-fpm worker adds into one\n"
    . "    memory-mapped file); prediction counts, drift and the registry version in use, abridged:\n";
foreach (explode("\n", Telemetry::metrics($store)) as $line) {
    if (
        preg_match('/^tenantml_(predictions_total|drift_detected|model_version_in_use)\{/', $line)
        || str_starts_with($line, 'tenantml_prediction_latency_seconds_count{model="usage-hourly"')
    ) {
        echo "  {$line}\n";
    }
}
echo "  (" . Telemetry::CONTENT_TYPE . "; a Laravel route returns it as is)\n";
