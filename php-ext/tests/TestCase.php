<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\CircuitBreaker;

/**
 * Shared helpers: temporary directories removed after each test, and
 * breakers on fresh in-process stores.
 */
abstract class TestCase extends \PHPUnit\Framework\TestCase
{
    /** @var list<string> */
    private array $tempDirs = [];

    protected function tearDown(): void
    {
        foreach ($this->tempDirs as $dir) {
            self::removeTree($dir);
        }
        $this->tempDirs = [];
        parent::tearDown();
    }

    protected function tempDir(): string
    {
        $dir = sys_get_temp_dir() . '/tenantml-test-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($dir, 0700);
        return $this->tempDirs[] = $dir;
    }

    /** A breaker on a fresh in-process store. */
    protected function breaker(array $config = [], string $name = 'payments-api'): CircuitBreaker
    {
        return BreakerStore::inProcess()->breaker($name, $config);
    }

    /** Record $n failed calls. */
    protected static function recordFailures(CircuitBreaker $breaker, int $n): void
    {
        for ($i = 0; $i < $n; $i++) {
            $breaker->record($breaker->allow(), false);
        }
    }

    /**
     * How much $measure grows over $iterations rounds of $round, after $warmup rounds
     * (caches, lazily loaded code and allocator pools settle first).
     *
     * @param callable(int): mixed $round
     * @param callable(): (int|null) $measure
     */
    protected static function growth(callable $round, int $warmup, int $iterations, callable $measure): int
    {
        for ($i = 0; $i < $warmup; $i++) {
            $round($i);
        }
        gc_collect_cycles();
        $before = $measure();
        for ($i = 0; $i < $iterations; $i++) {
            $round($i);
        }
        gc_collect_cycles();
        return $measure() - $before;
    }

    /** This process's resident set size in bytes (VmRSS), or null where /proc has none. */
    protected static function rss(): ?int
    {
        $status = @file_get_contents('/proc/self/status');
        if ($status === false || !preg_match('/^VmRSS:\s+(\d+) kB$/m', $status, $m)) {
            return null;
        }
        return (int) $m[1] * 1024;
    }

    private static function removeTree(string $dir): void
    {
        if (!is_dir($dir)) {
            return;
        }
        foreach (scandir($dir) ?: [] as $entry) {
            if ($entry === '.' || $entry === '..') {
                continue;
            }
            $path = "{$dir}/{$entry}";
            is_dir($path) && !is_link($path) ? self::removeTree($path) : unlink($path);
        }
        rmdir($dir);
    }
}
