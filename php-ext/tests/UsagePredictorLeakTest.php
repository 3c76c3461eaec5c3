<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\TenantMlException;
use TenantMl\UsagePredictor;

/**
 * Predictor handles, returned strings and predictor bytes are released: after
 * a warm-up, many forecast/backtest/toBytes/fromBytes rounds must not grow the
 * process (VmRSS) or the PHP heap. The pattern of ModelLeakTest.
 */
final class UsagePredictorLeakTest extends TestCase
{
    private const WARMUP = 10;
    private const ITERATIONS = 100;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;
    private const START = 1704067200;

    /** @var list<int> */
    private array $t = [];
    /** @var list<float> */
    private array $v = [];
    private ?UsagePredictor $predictor = null;

    protected function setUp(): void
    {
        parent::setUp();
        mt_srand(12);
        for ($i = 0; $i < 21 * 24; $i++) {
            $this->t[] = self::START + $i * 3600;
            $this->v[] = (($i % 24) >= 8 && ($i % 24) < 18 ? 10.0 : 3.0) + mt_rand(0, 10) / 10;
        }
        $this->predictor = UsagePredictor::fit($this->t, $this->v, [
            'model' => ['gbdt' => ['rounds' => 10], 'forest' => ['trees' => 3]],
            'calibration_windows' => 2,
        ]);
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
            'VmRSS grew by %d bytes over %d iterations; a predictor, returned string or bytes are probably '
            . 'not released (tml_forecaster_free / tml_string_free / tml_bytes_free)',
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
        $p = $this->predictor;
        $p->forecast($this->t, $this->v, 24, [80, 95]);
        $p->forecast(array_slice($this->t, -48), array_slice($this->v, -48), 6);
        $p->forecast([], [], 3, [80], self::START);
        $p->info();
        UsagePredictor::fallback($this->t, $this->v, 12, [80]);
        $copy = UsagePredictor::fromBytes($p->toBytes());
        $copy->setMetadata(['version' => $i]);
        $copy->forecast($this->t, $this->v, 1);
        if ($i % 10 === 0) {
            $p->save("{$dir}/usage.tml");
            UsagePredictor::load("{$dir}/usage.tml");
            unserialize(serialize($copy));
            $p->refit($this->t, $this->v)->forecast($this->t, $this->v, 1);
        }
        foreach ([
            fn () => UsagePredictor::fromBytes('garbage'),
            fn () => $p->forecast($this->t, $this->v, 0),
            fn () => $p->forecast([self::START], [INF], 2),
            fn () => UsagePredictor::fit([self::START], [1.0], ['nope' => 1]),
            fn () => $p->refitMany([]),
        ] as $bad) {
            try {
                $bad();
            } catch (TenantMlException) {
            }
        }
    }
}
