<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\ChurnPredictor;
use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\RegistryCorruptException;
use TenantMl\Exception\SchemaMismatchException;
use TenantMl\Exception\TenantMlException;
use TenantMl\ModelRegistry;

/**
 * ModelRegistry: round trips, promote/rollback/retain, damaged files, bad
 * input, and several PHP processes saving at once (tests/fixtures/registry-worker.php).
 */
final class ModelRegistryTest extends TestCase
{
    private const WORKER = __DIR__ . '/fixtures/registry-worker.php';

    private static function churn(int $version): ChurnPredictor
    {
        return ChurnPredictor::rulesOnly(['name' => 'churn-php', 'version' => $version]);
    }

    private static function loadedVersion(ModelRegistry $registry, ?int $version = null): int
    {
        return $registry->load('churn', ChurnPredictor::class, $version)->info()['version'];
    }

    public function testSaveLoadRoundTripWithSidecar(): void
    {
        $registry = ModelRegistry::open($this->tempDir());
        $model = self::churn(7);
        $v = $registry->save('churn', $model, [
            'config' => ['threshold_days' => 14],
            'training_metrics' => ['auc' => 0.87],
        ]);
        $this->assertSame(1, $v);
        $this->assertSame(2, $registry->save('churn', self::churn(8)));

        $loaded = $registry->load('churn', ChurnPredictor::class, 1);
        $this->assertInstanceOf(ChurnPredictor::class, $loaded);
        $this->assertSame($model->toBytes(), $loaded->toBytes());

        ['bytes' => $bytes, 'info' => $info] = $registry->loadBytes('churn', 1);
        $this->assertSame($model->toBytes(), $bytes);
        $this->assertSame('churn-predictor', $info['model_type']);
        $this->assertSame(['threshold_days' => 14], $info['config']);
        $this->assertSame(0.87, $info['training_metrics']['auc']);
        $this->assertSame(strlen($bytes), $info['size']);
        $this->assertMatchesRegularExpression('/^fnv1a64:[0-9a-f]{16}$/', $info['feature_schema_hash']);
        $this->assertMatchesRegularExpression('/^crc32c:[0-9a-f]{8}$/', $info['checksum']);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT.*Z$/', $info['created_at']);
        $this->assertSame(['churn'], $registry->names());
    }

    public function testBytesMoveBetweenRegistriesLikeADisk(): void
    {
        $here = ModelRegistry::open($this->tempDir());
        $there = ModelRegistry::open($this->tempDir());
        $here->save('churn', self::churn(3));
        $bytes = $here->loadBytes('churn')['bytes'];
        $this->assertSame(1, $there->saveBytes('churn', $bytes, ['config' => []]));
        $this->assertSame(3, self::loadedVersion($there));
        $this->assertSame([], $there->loadBytes('churn')['info']['config']);
    }

    public function testPromoteRollbackRetain(): void
    {
        $registry = ModelRegistry::open($this->tempDir());
        foreach ([11, 12, 13, 14] as $modelVersion) {
            $registry->save('churn', self::churn($modelVersion));
        }
        $this->assertNull($registry->current('churn'));
        $this->assertSame(14, self::loadedVersion($registry), 'newest while nothing is promoted');

        $registry->promote('churn', 2);
        $registry->promote('churn', 3);
        $this->assertSame(3, $registry->current('churn'));
        $this->assertSame(13, self::loadedVersion($registry));
        $this->assertSame(2, $registry->rollback('churn'));
        $this->assertSame(12, self::loadedVersion($registry));

        $this->assertSame(1, $registry->retain('churn', 2));
        $listed = array_map(
            static fn (array $e): array => [$e['version'], $e['current'], $e['error']],
            $registry->versions('churn')
        );
        $this->assertSame([[2, true, null], [3, false, null], [4, false, null]], $listed);

        $this->expectException(InvalidArgumentException::class);
        $registry->rollback('churn');
    }

    public function testDamagedVersionFailsAloneAndIsMarked(): void
    {
        $dir = $this->tempDir();
        $registry = ModelRegistry::open($dir);
        foreach ([1, 2, 3] as $v) {
            $registry->save('churn', self::churn($v));
        }
        $corrupt = "{$dir}/churn/2.tml";
        $bytes = file_get_contents($corrupt);
        $bytes[50] = chr(ord($bytes[50]) ^ 1);
        file_put_contents($corrupt, $bytes);
        $truncated = "{$dir}/churn/3.tml";
        file_put_contents($truncated, substr((string) file_get_contents($truncated), 0, 20));

        foreach ([2, 3] as $v) {
            try {
                $registry->loadBytes('churn', $v);
                $this->fail("version {$v} is damaged");
            } catch (BadModelFileException $e) {
                $this->assertStringContainsString("{$v}.tml", $e->getMessage());
            }
        }
        $this->assertSame(1, self::loadedVersion($registry, 1));
        $errors = array_map(static fn (array $e) => $e['error'] !== null, $registry->versions('churn'));
        $this->assertSame([false, true, true], $errors);

        $this->expectException(BadModelFileException::class);
        $registry->promote('churn', 3);
    }

    public function testDamagedPointerIsAClearError(): void
    {
        $dir = $this->tempDir();
        $registry = ModelRegistry::open($dir);
        $registry->save('churn', self::churn(1));
        $registry->save('churn', self::churn(2));
        $registry->promote('churn', 1);
        file_put_contents("{$dir}/churn/CURRENT", '{"name": "churn", "cur');
        try {
            $registry->load('churn', ChurnPredictor::class);
            $this->fail('damaged pointer');
        } catch (RegistryCorruptException $e) {
            $this->assertStringContainsString('CURRENT', $e->getMessage());
        }
        $this->assertSame(2, self::loadedVersion($registry, 2));
        $registry->promote('churn', 2);
        $this->assertSame(2, self::loadedVersion($registry));
    }

    public function testSchemaExpectation(): void
    {
        $registry = ModelRegistry::open($this->tempDir());
        $registry->save('churn', self::churn(1));
        $hash = $registry->loadBytes('churn')['info']['feature_schema_hash'];
        $this->assertSame(1, $registry->load('churn', ChurnPredictor::class, null, $hash)->info()['version']);
        $this->expectException(SchemaMismatchException::class);
        $registry->load('churn', ChurnPredictor::class, null, 'fnv1a64:0000000000000000');
    }

    /** @return iterable<string, array{callable(ModelRegistry): mixed, class-string}> */
    public static function badInput(): iterable
    {
        yield 'path in name' => [
            fn (ModelRegistry $r) => $r->save('../x', self::churn(1)),
            InvalidArgumentException::class,
        ];
        yield 'empty name' => [fn (ModelRegistry $r) => $r->versions(''), InvalidArgumentException::class];
        yield 'NUL in name' => [fn (ModelRegistry $r) => $r->loadBytes("a\0b"), InvalidArgumentException::class];
        yield 'not a model file' => [
            fn (ModelRegistry $r) => $r->saveBytes('m', 'garbage'),
            BadModelFileException::class,
        ];
        yield 'empty bytes' => [fn (ModelRegistry $r) => $r->saveBytes('m', ''), BadModelFileException::class];
        yield 'truncated bytes' => [
            fn (ModelRegistry $r) => $r->saveBytes('m', substr(self::churn(1)->toBytes(), 0, 60)),
            BadModelFileException::class,
        ];
        yield 'no toBytes' => [
            fn (ModelRegistry $r) => $r->save('m', new \stdClass()),
            InvalidArgumentException::class,
        ];
        yield 'no fromBytes' => [
            fn (ModelRegistry $r) => $r->load('m', \stdClass::class),
            InvalidArgumentException::class,
        ];
        yield 'unknown metadata key' => [
            fn (ModelRegistry $r) => $r->save('m', self::churn(1), ['confg' => 1]),
            ParseException::class,
        ];
        yield 'NaN metric' => [
            fn (ModelRegistry $r) => $r->save('m', self::churn(1), ['training_metrics' => ['auc' => NAN]]),
            ParseException::class,
        ];
        yield 'version 0' => [fn (ModelRegistry $r) => $r->promote('m', 0), InvalidArgumentException::class];
        yield 'keep 0' => [fn (ModelRegistry $r) => $r->retain('m', 0), InvalidArgumentException::class];
        yield 'unknown model' => [fn (ModelRegistry $r) => $r->loadBytes('nothing'), InvalidArgumentException::class];
        yield 'missing version' => [fn (ModelRegistry $r) => $r->loadBytes('m', 5), InvalidArgumentException::class];
        yield 'nothing to roll back' => [fn (ModelRegistry $r) => $r->rollback('m'), InvalidArgumentException::class];
    }

    /**
     * @dataProvider badInput
     * @param callable(ModelRegistry): mixed $call
     * @param class-string $exception
     */
    public function testBadInputIsAClearError(callable $call, string $exception): void
    {
        $registry = ModelRegistry::open($this->tempDir());
        try {
            $call($registry);
            $this->fail("expected {$exception}");
        } catch (TenantMlException $e) {
            $this->assertSame($exception, get_class($e), $e->getMessage());
        }
        $this->assertSame([], $registry->versions('m'), 'a refused call stores nothing');
    }

    public function testARootThatIsAFileIsRefused(): void
    {
        $file = $this->tempDir() . '/file';
        file_put_contents($file, 'x');
        $this->expectException(TenantMlException::class);
        ModelRegistry::open($file);
    }

    public function testReleasedRegistryRefusesUse(): void
    {
        $registry = ModelRegistry::open($this->tempDir());
        $registry->free();
        $registry->free();
        $this->expectException(TenantMlException::class);
        $registry->names();
    }

    public function testConcurrentWriterProcessesGetDistinctVersions(): void
    {
        $dir = $this->tempDir();
        $writers = 4;
        $saves = 8;
        $children = [];
        for ($w = 0; $w < $writers; $w++) {
            $process = proc_open(
                [PHP_BINARY, self::WORKER, $dir, 'churn', (string) $w, (string) $saves],
                [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                $pipes
            );
            $this->assertIsResource($process);
            $children[] = [$process, $pipes];
        }
        $got = [];
        foreach ($children as [$process, $pipes]) {
            $stdout = (string) stream_get_contents($pipes[1]);
            $stderr = (string) stream_get_contents($pipes[2]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            $this->assertSame(0, proc_close($process), "worker failed: {$stdout} {$stderr}");
            $result = json_decode($stdout, true);
            $this->assertIsArray($result, "worker output: {$stdout}");
            $sorted = $result['versions'];
            sort($sorted);
            $this->assertSame($sorted, $result['versions'], 'one writer\'s versions increase');
            array_push($got, ...$result['versions']);
        }
        sort($got);
        $this->assertSame(range(1, $writers * $saves), $got, 'every save got its own version');

        $registry = ModelRegistry::open($dir);
        $seen = [];
        foreach ($registry->versions('churn') as $entry) {
            $this->assertNull($entry['error']);
            $config = $entry['info']['config'];
            $model = $registry->load('churn', ChurnPredictor::class, $entry['version']);
            $this->assertSame("writer-{$config['writer']}", $model->info()['name']);
            $this->assertSame($config['save'] + 1, $model->info()['version']);
            $seen["{$config['writer']}/{$config['save']}"] = true;
        }
        $this->assertCount($writers * $saves, $seen);
    }
}
