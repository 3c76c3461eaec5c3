<?php

/*
 * Micro-benchmark: nanoseconds per guarded call from PHP.
 *
 *     php php-ext/benchmarks/breaker.php [--iterations=1000000] [--runs=5]
 *
 * For an in-process and a shared (memory-mapped) store it times
 *   - allow() + record()    the explicit API (one Permit per call),
 *   - call(fn)              the closure API (no Permit object),
 *   - raw FFI               tml_breaker_call_begin + tml_breaker_call_success
 *                           called directly, i.e. the floor the wrapper adds to.
 * Each figure is the median (and best) of --runs runs of --iterations calls,
 * after a warm-up run; on a shared machine the best run is the steady state.
 * Budget (DESIGN.md): allow + record from PHP under 500 ns.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\BreakerStore;
use TenantMl\CircuitBreaker;
use TenantMl\Native;

$options = getopt('', ['iterations:', 'runs:']);
$iterations = (int) ($options['iterations'] ?? 1_000_000);
$runs = max(1, (int) ($options['runs'] ?? 5));

/**
 * Median ns per iteration of $body($n) over $runs runs, after a warm-up run
 * (the first few hundred thousand FFI calls of a process are measurably slower).
 */
$measure = static function (callable $body) use ($iterations, $runs): array {
    $body($iterations);
    $samples = [];
    for ($r = 0; $r < $runs; $r++) {
        $t = hrtime(true);
        $body($iterations);
        $samples[] = (hrtime(true) - $t) / $iterations;
    }
    sort($samples);
    return [$samples[intdiv(count($samples), 2)], $samples[0]];
};

$cases = static function (CircuitBreaker $breaker) use ($measure): array {
    $fn = static fn (): int => 1;
    $explicit = $measure(static function (int $n) use ($breaker): void {
        for ($i = 0; $i < $n; $i++) {
            $permit = $breaker->allow();
            $breaker->record($permit, true);
        }
    });
    $closure = $measure(static function (int $n) use ($breaker, $fn): void {
        for ($i = 0; $i < $n; $i++) {
            $breaker->call($fn);
        }
    });
    // The floor: the same two C calls with no wrapper around them.
    $ffi = Native::ffi();
    $handle = (fn () => $this->handle)->call($breaker);
    $call = $ffi->new('TmlBreakerCall');
    $call->breaker = $handle;
    $callPtr = FFI::addr($call);
    $raw = $measure(static function (int $n) use ($ffi, $callPtr): void {
        for ($i = 0; $i < $n; $i++) {
            $ffi->tml_breaker_call_begin($callPtr);
            $ffi->tml_breaker_call_success($callPtr);
        }
    });
    return [$explicit, $closure, $raw];
};

$dir = sys_get_temp_dir() . '/tenantml-bench-' . getmypid();
@mkdir($dir, 0700);
try {
    Native::ffi();
    $rows = [
        'in-process' => $cases(BreakerStore::inProcess()->breaker('bench')),
        'shared' => $cases(BreakerStore::shared($dir)->breaker('bench')),
    ];
} finally {
    @unlink("{$dir}/tenantml-breakers.shm");
    @rmdir($dir);
}

$jit = function_exists('opcache_get_status') && (opcache_get_status(false)['jit']['on'] ?? false) ? 'on' : 'off';
printf(
    "tenantml %s, PHP %s (%s, JIT %s), FFI via %s; median of %d runs x %d calls\n\n",
    Native::version(),
    PHP_VERSION,
    PHP_SAPI,
    $jit,
    Native::usesPreloadedScope() ? 'ffi.preload scope' : 'FFI::cdef',
    $runs,
    $iterations
);
printf("%-12s %22s %22s %22s\n", '', 'allow()+record()', 'call(fn)', 'raw FFI (floor)');
printf("%-12s %22s %22s %22s\n", 'store', 'median (best)', 'median (best)', 'median (best)');
foreach ($rows as $store => $cells) {
    printf("%-12s", $store);
    foreach ($cells as [$median, $best]) {
        printf(" %11.0f ns (%4.0f)", $median, $best);
    }
    printf("   wrapper/raw %.2f\n", $cells[0][0] / $cells[2][0]);
}
echo "\nbudget: one guarded call (allow + record) from PHP under 500 ns\n";
