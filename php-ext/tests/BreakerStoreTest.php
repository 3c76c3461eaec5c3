<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;

/** Stores: snapshots, Prometheus metrics, the shared file, handle lifetimes. */
final class BreakerStoreTest extends TestCase
{
    public function testSnapshotsListEveryBreakerSortedByName(): void
    {
        $store = BreakerStore::inProcess();
        $store->breaker('search-api');
        $store->breaker('payments-api');

        $this->assertSame(['payments-api', 'search-api'], array_column($store->snapshots(), 'name'));
    }

    public function testEmptyStoreHasNoSnapshots(): void
    {
        $this->assertSame([], BreakerStore::inProcess()->snapshots());
    }

    public function testMetricsAreSortedPrometheusTextWithHelpAndType(): void
    {
        $store = BreakerStore::inProcess();
        $store->breaker('search-api');
        self::recordFailures($store->breaker('payments-api'), 5);

        $metrics = $store->metrics();

        $this->assertStringContainsString(
            "# HELP tenantml_breaker_state Circuit breaker state: 1 for the current state, 0 for the others.\n"
            . "# TYPE tenantml_breaker_state gauge\n"
            . "tenantml_breaker_state{breaker=\"payments-api\",state=\"closed\"} 0\n"
            . "tenantml_breaker_state{breaker=\"payments-api\",state=\"open\"} 1\n",
            $metrics
        );
        $this->assertStringContainsString(
            "tenantml_breaker_state{breaker=\"search-api\",state=\"closed\"} 1\n",
            $metrics
        );
        $this->assertStringContainsString(
            "# TYPE tenantml_breaker_calls_total counter\n"
            . "tenantml_breaker_calls_total{breaker=\"payments-api\",outcome=\"success\"} 0\n"
            . "tenantml_breaker_calls_total{breaker=\"payments-api\",outcome=\"failure\"} 5\n",
            $metrics
        );
        $this->assertStringContainsString("tenantml_breaker_transitions_total{breaker=\"payments-api\"} 1\n", $metrics);
        $this->assertStringEndsWith("\n", $metrics);
    }

    public function testEveryMetricsSampleLineIsWellFormed(): void
    {
        $store = BreakerStore::inProcess();
        $store->breaker('payments-api')->call(static fn () => 1);

        foreach (explode("\n", rtrim($store->metrics(), "\n")) as $line) {
            $this->assertMatchesRegularExpression(
                '/^(# (HELP|TYPE) tenantml_\w+ .+|tenantml_\w+\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\} \d+(\.\d+)?)$/',
                $line
            );
        }
    }

    public function testInProcessStoreIsNotShared(): void
    {
        $this->assertFalse(BreakerStore::inProcess()->isShared());
    }

    public function testSharedStoreCreatesItsFileInTheGivenDir(): void
    {
        $dir = $this->tempDir();

        $store = BreakerStore::shared($dir);

        $this->assertTrue($store->isShared());
        $this->assertFileExists("{$dir}/tenantml-breakers.shm");
        $this->assertSame(0660, fileperms("{$dir}/tenantml-breakers.shm") & 0777);
    }

    public function testSharedStoreHonoursFileNameAndMode(): void
    {
        $dir = $this->tempDir();

        BreakerStore::shared($dir, ['file_name' => 'billing.shm', 'mode' => 0600]);

        $this->assertSame(0600, fileperms("{$dir}/billing.shm") & 0777);
    }

    public function testTwoHandlesOnOneSharedFileShareBreakerState(): void
    {
        $dir = $this->tempDir();
        $first = BreakerStore::shared($dir)->breaker('payments-api');
        $second = BreakerStore::shared($dir)->breaker('payments-api');

        self::recordFailures($first, 5);

        $this->assertSame('open', $second->state());
    }

    public function testSharedStateOutlivesEveryHandle(): void
    {
        $dir = $this->tempDir();
        $store = BreakerStore::shared($dir);
        self::recordFailures($store->breaker('payments-api'), 5);
        unset($store);
        gc_collect_cycles();

        $this->assertSame('open', BreakerStore::shared($dir)->breaker('payments-api')->state());
    }

    public function testInProcessStoresAreIndependent(): void
    {
        self::recordFailures(BreakerStore::inProcess()->breaker('payments-api'), 5);

        $this->assertSame('closed', BreakerStore::inProcess()->breaker('payments-api')->state());
    }

    public function testSameNameInOneStoreIsOneBreaker(): void
    {
        $store = BreakerStore::inProcess();
        $a = $store->breaker('payments-api');
        $b = $store->breaker('payments-api');

        self::recordFailures($a, 5);

        $this->assertSame('open', $b->state());
    }

    public function testInProcessStoreHoldsManyBreakers(): void
    {
        $store = BreakerStore::inProcess();
        for ($i = 0; $i < 300; $i++) {
            $store->breaker("tenant-{$i}");
        }
        $this->assertCount(300, $store->snapshots());
    }
}
