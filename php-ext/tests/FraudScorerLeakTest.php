<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\TenantMlException;
use TenantMl\FraudScorer;

/**
 * Scorer handles, returned strings and scorer bytes are released: after a
 * warm-up, many score/explain/features/info/toBytes/fromBytes rounds and
 * failing calls must not grow the process (VmRSS) or the PHP heap. The
 * pattern of ModelLeakTest and UsagePredictorLeakTest.
 */
final class FraudScorerLeakTest extends TestCase
{
    private const WARMUP = 10;
    private const ITERATIONS = 200;
    private const RSS_LIMIT = 4 * 1024 * 1024;
    private const VALGRIND_RSS_LIMIT = 32 * 1024 * 1024;
    private const HEAP_LIMIT = 64 * 1024;
    private const T0 = 1767900000;

    private ?FraudScorer $scorer = null;
    /** @var list<array<string, mixed>> */
    private array $history = [];
    /** @var array<string, mixed> */
    private array $txn = [];

    protected function setUp(): void
    {
        parent::setUp();
        $this->scorer = FraudScorer::coldStart(['customers' => 200, 'days' => 14], 3);
        for ($i = 1; $i <= 100; $i++) {
            $this->history[] = [
                'amount' => 20.0 + $i % 13,
                'timestamp' => self::T0 - $i * 7200,
                'payment_method' => 'card_' . ($i % 3),
                'country' => $i % 10 === 0 ? 'FR' : 'DE',
                'outcome' => $i % 17 === 0 ? 'failed' : 'succeeded',
            ];
        }
        $this->txn = [
            'amount' => 42.0,
            'timestamp' => self::T0,
            'customer' => 'cus_9',
            'payment_method' => 'card_1',
            'currency' => 'EUR',
            'country' => 'DE',
            'ip_country' => 'DE',
            'category' => 'fashion',
        ];
    }

    public function testNoNativeLeaks(): void
    {
        if (self::rss() === null) {
            $this->markTestSkipped('/proc/self/status has no VmRSS here');
        }
        $valgrind = str_contains((string) getenv('LD_PRELOAD'), 'vgpreload');
        $dir = $this->tempDir();
        $growth = self::growth(fn (int $i) => $this->workload($dir, $i), self::WARMUP, self::ITERATIONS, self::rss(...));
        $this->assertLessThan($valgrind ? self::VALGRIND_RSS_LIMIT : self::RSS_LIMIT, $growth, sprintf(
            'VmRSS grew by %d bytes over %d iterations; a scorer, returned string or bytes are probably '
            . 'not released (tml_fraud_free / tml_string_free / tml_bytes_free)',
            $growth,
            self::ITERATIONS
        ));
    }

    public function testNoHeapGrowth(): void
    {
        $dir = $this->tempDir();
        $growth = self::growth(fn (int $i) => $this->workload($dir, $i), self::WARMUP, self::ITERATIONS, memory_get_usage(...));
        $this->assertLessThan(self::HEAP_LIMIT, $growth, sprintf(
            'PHP heap grew by %d bytes over %d iterations; a CData or PHP object is probably kept alive',
            $growth,
            self::ITERATIONS
        ));
    }

    private function workload(string $dir, int $i): void
    {
        $s = $this->scorer;
        for ($j = 0; $j < 20; $j++) {
            $s->score(['amount' => 10.0 + $j] + $this->txn, $this->history);
        }
        $s->score($this->txn, array_slice($this->history, 0, $i % 100));
        $s->explain($this->txn, $this->history, 3);
        $s->features($this->txn, $this->history);
        $s->info();
        FraudScorer::checkRules(['rules' => [['type' => 'amount_over', 'limit' => 100, 'weight' => 0.5]]]);
        $rules = FraudScorer::rulesOnly(null, ['countries' => ['DE', 'FR']]);
        $rules->score($this->txn, $this->history);
        $copy = FraudScorer::fromBytes($rules->toBytes());
        $copy->setName('copy', $i);
        if ($i % 20 === 0) {
            $s->save("{$dir}/fraud.tml");
            FraudScorer::load("{$dir}/fraud.tml");
            unserialize(serialize($copy));
        }
        $failing = [
            fn () => FraudScorer::fromBytes('garbage'),
            fn () => $s->score(['amount' => NAN] + $this->txn, $this->history),
            fn () => $s->explain(['country' => 4000] + $this->txn, $this->history),
            fn () => FraudScorer::checkRules(['rules' => [['type' => 'moon_phase']]]),
            fn () => FraudScorer::coldStart('nope'),
        ];
        foreach ($failing as $bad) {
            try {
                $bad();
            } catch (TenantMlException) {
            }
        }
    }
}
