<?php

/*
 * `make demo`: a circuit breaker protecting a flaky payment gateway, told in
 * about twenty lines. The breaker lives in a shared (memory-mapped) store, so
 * a second PHP process sees the same state, as php-fpm workers would.
 *
 *     php php-ext/examples/demo.php
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use TenantMl\BreakerStore;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Native;

const OPEN_WAIT_MS = 300;

$dir = sys_get_temp_dir() . '/tenantml-demo-' . getmypid();
@mkdir($dir, 0700);
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
