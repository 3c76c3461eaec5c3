<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\ChurnPredictor;
use TenantMl\Exception\TenantMlException;

/**
 * Churn predictor handles, returned strings and predictor bytes are released:
 * after a warm-up, many predict/triggers/toBytes/fromBytes rounds (and failing
 * calls) must not grow the process (VmRSS) or the PHP heap. The pattern of
 * UsagePredictorLeakTest.
 */
final class ChurnPredictorLeakTest extends TestCase
{
    private const WARMUP = 10;
    private const ITERATIONS = 100;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;
    private const DAY = 86400;
    private const AS_OF = 1736121600 + 200 * self::DAY;

    private ?ChurnPredictor $predictor = null;
    /** @var list<array<string, mixed>> */
    private array $tenants = [];

    protected function setUp(): void
    {
        parent::setUp();
        $this->predictor = ChurnPredictor::coldStart(['tenants' => 200], 3, [
            'model' => ['task' => 'binary', 'calibration' => 'platt', 'gbdt' => ['rounds' => 20]],
        ]);
        foreach ([[1, 1], [4, 25], [2, 10]] as $i => [$every, $quiet]) {
            $events = [];
            for ($d = 90; $d >= $quiet; $d -= $every) {
                $events[] = ['at' => self::AS_OF - $d * self::DAY, 'amount' => 5.0];
            }
            $this->tenants[] = [
                'id' => "t{$i}",
                'events' => $events,
                'subscription' => ['started_at' => self::AS_OF - 300 * self::DAY, 'seats' => 15],
                'failed_payments' => [self::AS_OF - 3 * self::DAY],
                'tickets' => [],
            ];
        }
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
            . 'not released (tml_churn_free / tml_string_free / tml_bytes_free)',
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
        $scores = $p->predictMany($this->tenants, self::AS_OF);
        $p->predict($this->tenants[1], self::AS_OF, 3);
        $p->predictFeatures(ChurnPredictor::features($this->tenants[2], self::AS_OF));
        $p->info();
        $outcome = ChurnPredictor::triggers($scores, null, self::AS_OF);
        ChurnPredictor::triggers($scores, $outcome['state'], self::AS_OF + self::DAY);
        ChurnPredictor::rulesOnly()->predict($this->tenants[0], self::AS_OF);
        $copy = ChurnPredictor::fromBytes($p->toBytes());
        $copy->setMetadata(['version' => $i]);
        $copy->predict($this->tenants[0], self::AS_OF, 1);
        if ($i % 10 === 0) {
            $p->save("{$dir}/churn.tml");
            ChurnPredictor::load("{$dir}/churn.tml");
            unserialize(serialize($copy));
        }
        $failing = [
            fn () => ChurnPredictor::fromBytes('garbage'),
            fn () => $p->predict(['id' => 'x', 'evnts' => []], self::AS_OF),
            fn () => $p->predictFeatures(array_fill(0, 21, INF)),
            fn () => ChurnPredictor::rulesOnly(['nope' => 1]),
            fn () => ChurnPredictor::triggers($scores, null, self::AS_OF, ['rules' => [['action' => '']]]),
        ];
        foreach ($failing as $bad) {
            try {
                $bad();
            } catch (TenantMlException) {
            }
        }
    }
}
