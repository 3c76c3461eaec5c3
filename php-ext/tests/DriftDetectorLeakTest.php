<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\DriftDetector;
use TenantMl\Exception\TenantMlException;
use TenantMl\Model;
use TenantMl\RetrainPolicy;
use TenantMl\StreamingDetector;

/**
 * Drift detector handles, returned strings and buffers are released: after a
 * warm-up, many compare/reference/report/streaming/policy rounds (and failing
 * calls) must not grow the process (VmRSS) or the PHP heap. The pattern of
 * ChurnPredictorLeakTest.
 */
final class DriftDetectorLeakTest extends TestCase
{
    private const WARMUP = 10;
    private const ITERATIONS = 150;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;

    /** @var array<string, list<float>> */
    private array $train = [];
    /** @var array<string, list<float>> */
    private array $current = [];
    private string $modelBytes = '';

    protected function setUp(): void
    {
        parent::setUp();
        for ($i = 0; $i < 500; $i++) {
            $this->train['usage'][] = ($i * 37) % 100 / 3.0;
            $this->train['plan'][] = (float) ($i % 3);
            $this->current['usage'][] = ($i * 37) % 100 / 3.0 + 5.0;
            $this->current['plan'][] = (float) ($i % 4);
        }
        $rows = array_map(null, $this->train['usage'], $this->train['plan']);
        $model = Model::fit($rows, $this->train['usage'], ['gbdt' => ['rounds' => 3]]);
        $reference = DriftDetector::buildReference($this->train, ['plan'], 100);
        $model->setMetadata(['extra' => ['drift_reference' => [
            'features' => json_decode($reference->toJson(), true),
            'predictions' => ['kind' => 'numeric', 'values' => [0.1, 0.5, 0.9], 'count' => 3, 'missing' => 0],
        ]]]);
        $this->modelBytes = $model->toBytes();
    }

    public function testNoNativeLeaks(): void
    {
        if (self::rss() === null) {
            $this->markTestSkipped('/proc/self/status has no VmRSS here');
        }
        $valgrind = str_contains((string) getenv('LD_PRELOAD'), 'vgpreload');
        $growth = self::growth(fn (int $i) => $this->workload($i), self::WARMUP, self::ITERATIONS, self::rss(...));
        $this->assertLessThan($valgrind ? self::VALGRIND_RSS_LIMIT : self::RSS_LIMIT, $growth, sprintf(
            'VmRSS grew by %d bytes over %d iterations; a detector handle or returned string is probably '
            . 'not released (tml_drift_detector_free / tml_string_free)',
            $growth,
            self::ITERATIONS
        ));
    }

    public function testNoHeapGrowth(): void
    {
        $growth = self::growth(
            fn (int $i) => $this->workload($i),
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

    private function workload(int $i): void
    {
        DriftDetector::compare($this->train, $this->current, ['categorical' => ['plan']]);
        $reference = DriftDetector::buildReference($this->train, ['plan'], 50);
        DriftDetector::fromReference($reference->toJson())->report($this->current);
        $fromModel = DriftDetector::fromModelBytes($this->modelBytes);
        $fromModel->report($this->current);
        $fromModel->predictionDrift([0.2, 0.4, 0.6]);

        $detector = $i % 2 === 0 ? StreamingDetector::pageHinkley() : StreamingDetector::adwin();
        $detector->updateMany($this->current['usage']);
        $detector->update(0.5);
        $restored = StreamingDetector::fromJson($detector->toJson());
        $restored->update(1.5);
        unserialize(serialize($restored));
        $decision = (new RetrainPolicy())->decide(['now' => 100, 'model_trained_at' => 50, 'dataset_drift' => true]);
        (new RetrainPolicy())->decide(['now' => 200, 'model_trained_at' => 50], $decision['state']);

        $failing = [
            fn () => DriftDetector::fromModelBytes('garbage'),
            fn () => DriftDetector::fromReference('{"max_per_feature": 2'),
            fn () => $reference->report(['usage' => [NAN], 'plan' => [1.0]]),
            fn () => $reference->predictionDrift([1.0]),
            fn () => DriftDetector::compare($this->train, $this->current, ['alpha' => 1]),
            fn () => StreamingDetector::fromJson('{"kind": "adwin"}'),
            fn () => StreamingDetector::pageHinkley(['delta' => -1]),
            fn () => $restored->update(NAN),
            fn () => (new RetrainPolicy())->decide(['now' => 1, 'model_trained_at' => 2]),
        ];
        foreach ($failing as $bad) {
            try {
                $bad();
            } catch (TenantMlException) {
            }
        }
    }
}
