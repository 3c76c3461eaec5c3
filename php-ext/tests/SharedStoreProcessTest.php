<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\Exception\CircuitOpenException;

/**
 * Two PHP processes, one shared store file: what one records, the other sees.
 * Children run tests/fixtures/shared-worker.php with the same PHP binary and
 * environment (TENANTML_LIB etc.).
 */
final class SharedStoreProcessTest extends TestCase
{
    private const WORKER = __DIR__ . '/fixtures/shared-worker.php';

    public function testFailuresRecordedByAnotherProcessOpenTheBreakerHere(): void
    {
        $dir = $this->tempDir();
        $breaker = BreakerStore::shared($dir)->breaker('payments-api');
        $this->assertSame('closed', $breaker->state());

        $child = $this->runWorker($dir, 'payments-api', 'fail', 5);

        $this->assertSame('open', $child['state']);
        $this->assertSame('open', $breaker->state());
        $this->expectException(CircuitOpenException::class);
        $breaker->allow();
    }

    public function testABreakerTrippedHereRejectsInAnotherProcess(): void
    {
        $dir = $this->tempDir();
        self::recordFailures(BreakerStore::shared($dir)->breaker('payments-api'), 5);

        $child = $this->runWorker($dir, 'payments-api', 'succeed', 3);

        $this->assertSame('open', $child['state']);
        $this->assertSame(3, $child['rejected']);
        $this->assertSame(3, BreakerStore::shared($dir)->breaker('payments-api')->snapshot()['totals']['rejected']);
    }

    public function testConcurrentProcessesLoseNoCounts(): void
    {
        $dir = $this->tempDir();
        BreakerStore::shared($dir)->breaker('payments-api');

        $children = [];
        for ($i = 0; $i < 3; $i++) {
            $children[] = $this->startWorker($dir, 'payments-api', 'succeed', 20000);
        }
        foreach ($children as $child) {
            $this->assertSame('closed', $this->finishWorker($child)['state']);
        }

        $totals = BreakerStore::shared($dir)->breaker('payments-api')->snapshot()['totals'];
        $this->assertSame(60000, $totals['successes']);
    }

    public function testAnotherProcessWithOtherSettingsGetsAConfigMismatch(): void
    {
        $dir = $this->tempDir();
        BreakerStore::shared($dir)->breaker('payments-api', ['open_wait_ms' => 100]);

        $child = $this->finishWorker($this->startWorker($dir, 'payments-api', 'state', 0, ['open_wait_ms' => 200]));

        $this->assertSame('TenantMl\\Exception\\ConfigMismatchException', $child['error']);
    }

    /** @return array<string, mixed> the worker's JSON line */
    private function runWorker(string $dir, string $name, string $action, int $n, array $config = []): array
    {
        return $this->finishWorker($this->startWorker($dir, $name, $action, $n, $config));
    }

    /** @return array{resource, array<int, resource>} */
    private function startWorker(string $dir, string $name, string $action, int $n, array $config = []): array
    {
        $command = [PHP_BINARY, self::WORKER, $dir, $name, $action, (string) $n];
        if ($config !== []) {
            $command[] = json_encode($config, JSON_THROW_ON_ERROR);
        }
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($process);
        return [$process, $pipes];
    }

    /**
     * @param array{resource, array<int, resource>} $worker
     * @return array<string, mixed>
     */
    private function finishWorker(array $worker): array
    {
        [$process, $pipes] = $worker;
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        proc_close($process);
        $this->assertSame('', $stderr, 'worker wrote to stderr');
        $result = json_decode((string) $stdout, true);
        $this->assertIsArray($result, "worker output: {$stdout}");
        $this->assertNotSame(getmypid(), $result['pid']);
        return $result;
    }
}
