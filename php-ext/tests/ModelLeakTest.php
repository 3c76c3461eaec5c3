<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\TenantMlException;
use TenantMl\Model;

/**
 * Model handles, returned strings and model bytes are released: after a
 * warm-up, many fit/predict/explain/toBytes/fromBytes rounds must not grow
 * the process (VmRSS) or the PHP heap. The pattern of LeakTest.
 */
final class ModelLeakTest extends TestCase
{
    private const WARMUP = 30;
    private const ITERATIONS = 300;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;

    /** @var list<list<float>> */
    private array $rows = [];
    /** @var list<float> */
    private array $targets = [];

    protected function setUp(): void
    {
        parent::setUp();
        mt_srand(11);
        for ($i = 0; $i < 120; $i++) {
            $row = [mt_rand(0, 99) / 10, mt_rand(0, 99) / 10, mt_rand(0, 99) / 10, mt_rand(0, 99) / 10];
            $this->rows[] = $row;
            $this->targets[] = $row[0] * 2 + $row[1];
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
            'VmRSS grew by %d bytes (%d bytes/iteration) over %d iterations; a model, returned string or '
            . 'model bytes are probably not released (tml_model_free / tml_string_free / tml_bytes_free)',
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

    public function testPredictRowAllocatesNothingThatStays(): void
    {
        $model = Model::fit($this->rows, $this->targets, ['gbdt' => ['rounds' => 10]]);
        $row = [1.0, 2.0, null, 4.0];
        for ($i = 0; $i < 1000; $i++) {
            $model->predictRow($row);
        }
        gc_collect_cycles();
        $before = memory_get_usage();

        for ($i = 0; $i < 50000; $i++) {
            $row[0] = $i % 10;
            $model->predictRow($row);
            $model->predictRow([1.0, 2.0, 3.0, 4.0]);
        }
        gc_collect_cycles();

        $this->assertLessThan(4096, memory_get_usage() - $before);
    }

    private function workload(string $dir, int $i): void
    {
        $model = Model::fit($this->rows, $this->targets, [
            'model' => $i % 3 === 0 ? 'blend' : 'gbdt',
            'gbdt' => ['rounds' => 10],
            'forest' => ['trees' => 3],
            'feature_names' => ['a', 'b', 'c', 'd'],
        ]);
        $model->predict(array_slice($this->rows, 0, 20));
        $model->predictRow($this->rows[$i % 120]);
        $model->predictAssoc(['a' => 1.0, 'c' => null]);
        $model->explain($this->rows[$i % 120], 2, 'both');
        $model->info();
        $model->importance();
        $model->setMetadata(['name' => "model-{$i}", 'extra' => ['i' => $i]]);
        $copy = Model::fromBytes($model->toBytes());
        $copy->predictRow($this->rows[0]);
        unserialize(serialize($copy));
        if ($i % 10 === 0) {
            $model->save("{$dir}/model.tml");
            Model::load("{$dir}/model.tml");
        }
        try {
            Model::fromBytes('garbage');
        } catch (TenantMlException) {
        }
        try {
            Model::fit($this->rows, $this->targets, ['gbdt' => ['rounds' => 0]]);
        } catch (TenantMlException) {
        }
        try {
            $model->predictRow([1.0]);
        } catch (TenantMlException) {
        }
    }
}
