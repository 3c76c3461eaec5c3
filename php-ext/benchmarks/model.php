<?php

/*
 * Micro-benchmark: tree-model predictions from PHP.
 *
 *     php php-ext/benchmarks/model.php [--rows=20000] [--rounds=300] [--iterations=100000] [--runs=5]
 *
 * Fits a GBDT (31 leaves, --rounds rounds) on --rows x 30 seeded synthetic
 * rows, then times
 *   - predictRow()          one row per call (the hot path),
 *   - raw FFI               tml_model_predict_row on a prepared buffer, i.e. the
 *                           floor the wrapper adds to (memcpy + call),
 *   - predictRow() on a one-tree model: what PHP and FFI add per call, with
 *                           next to no tree work,
 *   - predict()             a batch of 10,000 rows in one call (ns per row,
 *                           PHP packing included),
 *   - explain()             TreeSHAP with the top-3 reasons, JSON decoded,
 *   - fromBytes()           loading the 300-tree model from its bytes.
 * Each figure is the median (and best) of --runs runs after a warm-up run.
 * Budget (DESIGN.md): one prediction from PHP, 30 features, 300 trees, under 10 us.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\Model;
use TenantMl\Native;

const FEATURES = 30;
const BATCH = 10_000;

$options = getopt('', ['rows:', 'rounds:', 'iterations:', 'runs:']);
$nRows = (int) ($options['rows'] ?? 20_000);
$rounds = (int) ($options['rounds'] ?? 300);
$iterations = (int) ($options['iterations'] ?? 100_000);
$runs = max(1, (int) ($options['runs'] ?? 5));

/** Seeded rows: a smooth function of a few features plus noise, some values missing. */
$makeRows = static function (int $n, int $seed): array {
    mt_srand($seed);
    $rows = [];
    $targets = [];
    for ($i = 0; $i < $n; $i++) {
        $row = [];
        for ($j = 0; $j < FEATURES; $j++) {
            $row[] = mt_rand() / mt_getrandmax() * 10.0;
        }
        if ($i % 50 === 0) {
            $row[7] = null;
        }
        $rows[] = $row;
        $targets[] = 3.0 * sin($row[0]) + $row[1] * $row[2] / 10.0 + ($row[3] > 5.0 ? 2.0 : 0.0)
            + 0.1 * $row[4] + (mt_rand() / mt_getrandmax() - 0.5);
    }
    return [$rows, $targets];
};

/** Median and best of $runs timed runs of $body() (after a warm-up run), in ns per $per. */
$measure = static function (callable $body, int $per) use ($runs): array {
    $body();
    $samples = [];
    for ($r = 0; $r < $runs; $r++) {
        $t = hrtime(true);
        $body();
        $samples[] = (hrtime(true) - $t) / $per;
    }
    sort($samples);
    return [$samples[intdiv(count($samples), 2)], $samples[0]];
};

[$rows, $targets] = $makeRows($nRows, 42);
$t = hrtime(true);
$model = Model::fit($rows, $targets, [
    'gbdt' => ['rounds' => $rounds, 'max_leaves' => 31, 'learning_rate' => 0.05],
    'seed' => 42,
]);
$fitSeconds = (hrtime(true) - $t) / 1e9;

[$test] = $makeRows(BATCH, 43);
$one = $test[1];

$predictRow = $measure(static function () use ($model, $test, $iterations): void {
    $n = count($test);
    for ($i = 0; $i < $iterations; $i++) {
        $model->predictRow($test[$i % $n]);
    }
}, $iterations);

// The floor: the same memcpy + C call with no wrapper around them.
$ffi = Native::ffi();
$handle = (fn () => $this->handle)->call($model);
$buf = $ffi->new('double[' . FEATURES . ']');
$out = $ffi->new('double');
$outPtr = FFI::addr($out);
$raw = $measure(static function () use ($ffi, $handle, $buf, $outPtr, $test, $iterations): void {
    $n = count($test);
    for ($i = 0; $i < $iterations; $i++) {
        $row = $test[$i % $n];
        FFI::memcpy($buf, pack('d*', ...$row), 8 * FEATURES);
        $ffi->tml_model_predict_row($handle, $buf, FEATURES, $outPtr);
    }
}, $iterations);
// What the PHP side costs: the same call on a one-tree model.
$tiny = Model::fit(array_slice($rows, 0, 2000), array_slice($targets, 0, 2000), ['gbdt' => ['rounds' => 1]]);
$overhead = $measure(static function () use ($tiny, $test, $iterations): void {
    $n = count($test);
    for ($i = 0; $i < $iterations; $i++) {
        $tiny->predictRow($test[$i % $n]);
    }
}, $iterations);

// Clean rows only: the row with a null takes predictRow's slower conversion path.
$test = array_values(array_filter($test, static fn (array $r): bool => !in_array(null, $r, true)));

$batch = $measure(static function () use ($model, $test): void {
    $model->predict($test);
}, count($test));

$explainIterations = max(1, intdiv($iterations, 20));
$explain = $measure(static function () use ($model, $test, $explainIterations): void {
    $n = count($test);
    for ($i = 0; $i < $explainIterations; $i++) {
        $model->explain($test[$i % $n], 3);
    }
}, $explainIterations);

$bytes = $model->toBytes();
$loads = 20;
$fromBytes = $measure(static function () use ($bytes, $loads): void {
    for ($i = 0; $i < $loads; $i++) {
        Model::fromBytes($bytes);
    }
}, $loads);

$check = $model->predict([$one])[0] === $model->predictRow($one) ? 'equal' : 'DIFFERENT';
$jit = function_exists('opcache_get_status') && (opcache_get_status(false)['jit']['on'] ?? false) ? 'on' : 'off';
printf(
    "tenantml %s, PHP %s (%s, JIT %s), FFI via %s\n",
    Native::version(),
    PHP_VERSION,
    PHP_SAPI,
    $jit,
    Native::usesPreloadedScope() ? 'ffi.preload scope' : 'FFI::cdef'
);
printf(
    "GBDT %d rounds x 31 leaves on %d x %d rows: fit %.1f s; predict() vs predictRow(): %s\n\n",
    $rounds,
    $nRows,
    FEATURES,
    $fitSeconds,
    $check
);
printf("%-40s %14s %14s\n", "{$runs} runs after a warm-up", 'median', 'best');
printf("%-40s %11.2f us %11.2f us\n", "predictRow() x {$iterations}", $predictRow[0] / 1e3, $predictRow[1] / 1e3);
printf("%-40s %11.2f us %11.2f us\n", 'raw FFI memcpy + predict_row (floor)', $raw[0] / 1e3, $raw[1] / 1e3);
printf(
    "%-40s %11.2f us %11.2f us\n",
    'predictRow(), one-tree model (PHP cost)',
    $overhead[0] / 1e3,
    $overhead[1] / 1e3
);
printf("%-40s %11.0f ns %11.0f ns\n", 'predict() batch of ' . count($test) . ', per row', $batch[0], $batch[1]);
printf("%-40s %11.2f us %11.2f us\n", "explain(top 3) x {$explainIterations}", $explain[0] / 1e3, $explain[1] / 1e3);
printf(
    "%-40s %11.2f ms %11.2f ms\n",
    sprintf('fromBytes(), %.0f KB', strlen($bytes) / 1024),
    $fromBytes[0] / 1e6,
    $fromBytes[1] / 1e6
);
echo "\nbudgets: one prediction from PHP, 30 features, 300 trees, under 10 us; load from bytes under 2 ms\n";
