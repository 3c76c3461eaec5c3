<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\ChurnPredictor;
use TenantMl\Exception\TenantMlException;
use TenantMl\ModelRegistry;

/**
 * Registry handles, returned bytes and JSON strings are released: after a
 * warm-up, many open/save/load/list rounds (and failing calls) must not grow
 * the process (VmRSS) or the PHP heap. The pattern of ChurnPredictorLeakTest.
 */
final class ModelRegistryLeakTest extends TestCase
{
    private const WARMUP = 10;
    private const ITERATIONS = 100;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;

    private string $bytes = '';

    protected function setUp(): void
    {
        parent::setUp();
        // About 100 kB, so that leaking the bytes of a load or save shows in VmRSS.
        $this->bytes = ChurnPredictor::coldStart(['tenants' => 200], 3, [
            'model' => ['task' => 'binary', 'calibration' => 'platt', 'gbdt' => ['rounds' => 150]],
        ])->toBytes();
    }

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
            'VmRSS grew by %d bytes over %d iterations; a registry handle, returned string or bytes are '
            . 'probably not released (tml_registry_free / tml_string_free / tml_bytes_free)',
            $growth,
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

    private function workload(string $dir, int $i): void
    {
        $registry = ModelRegistry::open($dir);
        $v = $registry->saveBytes('leak', $this->bytes, ['config' => ['i' => $i]]);
        $registry->loadBytes('leak', $v);
        $registry->promote('leak', $v);
        $registry->load('leak', ChurnPredictor::class);
        $registry->current('leak');
        $registry->names();
        if ($i % 5 === 0) {
            $registry->versions('leak');
            $registry->retain('leak', 3);
        }
        $failing = [
            fn () => $registry->saveBytes('leak', 'garbage'),
            fn () => $registry->loadBytes('leak', 1_000_000),
            fn () => $registry->loadBytes('../x'),
            fn () => $registry->loadBytes('leak', null, 'fnv1a64:0'),
        ];
        foreach ($failing as $bad) {
            try {
                $bad();
            } catch (TenantMlException) {
            }
        }
    }
}
