<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Exception\TenantMlException;

/**
 * Native handles and library strings are released: after a warm-up, many
 * create/use/free rounds must not grow the process (VmRSS) or the PHP heap.
 * In the spirit of onnxruntime-php's LeakTest.
 */
final class LeakTest extends TestCase
{
    private const WARMUP = 200;
    private const ITERATIONS = 3000;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;

    public function testNoNativeLeaks(): void
    {
        $rss = self::rss();
        if ($rss === null) {
            $this->markTestSkipped('/proc/self/status has no VmRSS here');
        }
        $valgrind = str_contains((string) getenv('LD_PRELOAD'), 'vgpreload');
        $dir = $this->tempDir();

        $growth = self::growth(
            fn (int $i) => $this->workload($dir, $i),
            self::WARMUP,
            self::ITERATIONS,
            self::rss(...)
        );

        $this->assertLessThan($valgrind ? self::VALGRIND_RSS_LIMIT : self::RSS_LIMIT, $growth, sprintf(
            'VmRSS grew by %d bytes (%d bytes/iteration) over %d iterations; a store, breaker or '
            . 'returned string is probably not released (tml_*_free / tml_string_free)',
            $growth,
            intdiv($growth, self::ITERATIONS),
            self::ITERATIONS
        ));
    }

    public function testNoHeapGrowth(): void
    {
        $dir = $this->tempDir();
        $growth = self::growth(
            fn (int $i) => $this->workload($dir, $i),
            self::WARMUP,
            self::ITERATIONS,
            memory_get_usage(...)
        );

        $this->assertLessThan(self::HEAP_LIMIT, $growth, sprintf(
            'PHP heap grew by %d bytes over %d iterations; a CData or PHP object is probably kept alive',
            $growth,
            self::ITERATIONS
        ));
    }

    public function testHotPathAllocatesNothingThatStays(): void
    {
        $breaker = BreakerStore::inProcess()->breaker('payments-api', ['consecutive_failure_threshold' => 0]);
        $fn = static fn (): int => 1;
        for ($i = 0; $i < 1000; $i++) {
            $breaker->record($breaker->allow(), $i % 2 === 0);
            $breaker->call($fn);
        }
        gc_collect_cycles();
        $before = memory_get_usage();

        for ($i = 0; $i < 100000; $i++) {
            $breaker->record($breaker->allow(), $i % 2 === 0);
            $breaker->call($fn);
        }
        gc_collect_cycles();

        $this->assertLessThan(4096, memory_get_usage() - $before);
    }

    private function workload(string $dir, int $i): void
    {
        $store = BreakerStore::inProcess();
        $breaker = $store->breaker('payments-api', ['open_wait_ms' => 60000]);
        $other = $store->breaker("tenant-" . ($i % 7));
        for ($k = 0; $k < 5; $k++) {
            $breaker->call(static fn () => throw new \RuntimeException('down'), static fn () => null);
        }
        try {
            $breaker->allow();
        } catch (CircuitOpenException) {
        }
        $breaker->call(static fn () => 1, static fn () => 0);
        $other->record($other->allow(), true);
        $other->forceOpen();
        $other->reset();
        $breaker->snapshot();
        $breaker->config();
        $store->snapshots();
        $store->metrics();
        try {
            $store->breaker('bad', ['half_open_permits' => 0]);
        } catch (TenantMlException) {
        }

        $shared = BreakerStore::shared($dir, ['capacity' => 16]);
        $shared->breaker("shared-" . ($i % 5))->call(static fn () => 1);
        $shared->metrics();
    }
}
