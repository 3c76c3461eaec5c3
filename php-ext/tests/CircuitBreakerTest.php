<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\CircuitOpenException;
use TenantMl\Transition;

/** The state machine as seen from PHP: one behaviour per test. */
final class CircuitBreakerTest extends TestCase
{
    public function testNewBreakerIsClosed(): void
    {
        $this->assertSame('closed', $this->breaker()->state());
    }

    public function testFourConsecutiveFailuresKeepItClosed(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 4);
        $this->assertSame('closed', $breaker->state());
    }

    public function testFifthConsecutiveFailureTripsIt(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 4);

        $transition = $breaker->record($breaker->allow(), false);

        $this->assertEquals(new Transition('closed', 'open'), $transition);
        $this->assertSame('open', $breaker->state());
    }

    public function testASuccessResetsTheConsecutiveCount(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 4);
        $breaker->record($breaker->allow(), true);
        self::recordFailures($breaker, 4);
        $this->assertSame('closed', $breaker->state());
    }

    public function testRecordWithoutTransitionReturnsNull(): void
    {
        $breaker = $this->breaker();
        $this->assertNull($breaker->record($breaker->allow(), true));
        $this->assertNull($breaker->record($breaker->allow(), false));
    }

    public function testOpenBreakerRejectsWithRetryAfter(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 60000]);
        self::recordFailures($breaker, 5);

        try {
            $breaker->allow();
            $this->fail('allow() on an open breaker must throw');
        } catch (CircuitOpenException $e) {
            $this->assertSame(200, $e->getCode());
            $this->assertSame('payments-api', $e->breaker());
            $this->assertGreaterThan(59000, $e->retryAfterMs());
            $this->assertLessThanOrEqual(60000, $e->retryAfterMs());
            $this->assertSame("circuit 'payments-api' is open; retry after {$e->retryAfterMs()} ms", $e->getMessage());
        }
    }

    public function testRejectionsAreCounted(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 5);
        for ($i = 0; $i < 3; $i++) {
            try {
                $breaker->allow();
            } catch (CircuitOpenException) {
            }
        }
        $this->assertSame(3, $breaker->snapshot()['totals']['rejected']);
    }

    public function testStaysOpenBeforeTheWaitHasPassed(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 10000]);
        self::recordFailures($breaker, 5);
        usleep(20000);
        $this->expectException(CircuitOpenException::class);
        $breaker->allow();
    }

    public function testAfterTheWaitAProbeIsLetThroughHalfOpen(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50]);
        self::recordFailures($breaker, 5);
        usleep(70000);

        $probe = $breaker->allow();

        $this->assertTrue($probe->isProbe());
        $this->assertSame(1, $probe->lease());
        $this->assertEquals(new Transition('open', 'half_open'), $probe->transition());
        $this->assertSame('half_open', $breaker->state());
    }

    public function testSuccessfulProbeClosesIt(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50]);
        self::recordFailures($breaker, 5);
        usleep(70000);

        $transition = $breaker->record($breaker->allow(), true);

        $this->assertEquals(new Transition('half_open', 'closed'), $transition);
        $this->assertSame('closed', $breaker->state());
    }

    public function testFailedProbeReopensIt(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50]);
        self::recordFailures($breaker, 5);
        usleep(70000);

        $transition = $breaker->record($breaker->allow(), false);

        $this->assertEquals(new Transition('half_open', 'open'), $transition);
        $this->assertSame('open', $breaker->state());
    }

    public function testHalfOpenAdmitsOnlyHalfOpenPermitsProbes(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50, 'half_open_permits' => 2]);
        self::recordFailures($breaker, 5);
        usleep(70000);
        $first = $breaker->allow();
        $second = $breaker->allow();

        $this->assertSame([1, 2], [$first->lease(), $second->lease()]);
        $this->expectException(CircuitOpenException::class);
        $breaker->allow();
    }

    public function testHalfOpenClosesAfterHalfOpenPermitsSuccesses(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50, 'half_open_permits' => 2]);
        self::recordFailures($breaker, 5);
        usleep(70000);
        $first = $breaker->allow();
        $second = $breaker->allow();

        $this->assertNull($breaker->record($first, true));
        $this->assertSame('half_open', $breaker->state());
        $this->assertEquals(new Transition('half_open', 'closed'), $breaker->record($second, true));
    }

    public function testCallReturnsTheValueAndRecordsASuccess(): void
    {
        $breaker = $this->breaker();

        $this->assertSame(42, $breaker->call(static fn (): int => 42));
        $this->assertSame(1, $breaker->snapshot()['totals']['successes']);
    }

    public function testCallRecordsAFailureAndRethrowsWithoutFallback(): void
    {
        $breaker = $this->breaker();
        try {
            $breaker->call(static function (): never {
                throw new \DomainException('gateway timeout');
            });
            $this->fail('call() must rethrow');
        } catch (\DomainException $e) {
            $this->assertSame('gateway timeout', $e->getMessage());
        }
        $this->assertSame(1, $breaker->snapshot()['totals']['failures']);
    }

    public function testCallPassesTheFailureToTheFallback(): void
    {
        $breaker = $this->breaker();

        $result = $breaker->call(
            static function (): never {
                throw new \DomainException('gateway timeout');
            },
            static fn (\Throwable $e): string => 'cached:' . $e->getMessage()
        );

        $this->assertSame('cached:gateway timeout', $result);
        $this->assertSame(1, $breaker->snapshot()['totals']['failures']);
    }

    public function testCallPassesTheRejectionToTheFallbackWithoutCallingFn(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 5);
        $called = false;

        $result = $breaker->call(
            static function () use (&$called): string {
                $called = true;
                return 'live';
            },
            static fn (\Throwable $e): string => get_class($e)
        );

        $this->assertSame(CircuitOpenException::class, $result);
        $this->assertFalse($called);
    }

    public function testCallThrowsTheRejectionWithoutFallback(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 5);

        $this->expectException(CircuitOpenException::class);
        $this->expectExceptionMessageMatches("/^circuit 'payments-api' is open; retry after \\d+ ms$/");
        $breaker->call(static fn (): string => 'live');
    }

    public function testFiveFailingCallsTripTheBreaker(): void
    {
        $breaker = $this->breaker();
        for ($i = 0; $i < 5; $i++) {
            $breaker->call(static fn () => throw new \RuntimeException('down'), static fn () => null);
        }
        $this->assertSame('open', $breaker->state());
    }

    public function testNestedCallsOnOneBreakerEachRecordOnce(): void
    {
        $breaker = $this->breaker();

        $value = $breaker->call(static fn () => $breaker->call(static fn (): int => 7) + 1);

        $this->assertSame(8, $value);
        $this->assertSame(2, $breaker->snapshot()['totals']['successes']);
    }

    public function testForceOpenRejectsUntilReset(): void
    {
        $breaker = $this->breaker();

        $this->assertEquals(new Transition('closed', 'forced_open'), $breaker->forceOpen());
        $this->assertSame('forced_open', $breaker->state());
        try {
            $breaker->allow();
            $this->fail('allow() on a forced-open breaker must throw');
        } catch (CircuitOpenException $e) {
            $this->assertNull($e->retryAfterMs());
            $this->assertSame(
                "circuit 'payments-api' is open; it was forced open and stays open until reset",
                $e->getMessage()
            );
        }
    }

    public function testForceOpenTwiceReportsNoSecondTransition(): void
    {
        $breaker = $this->breaker();
        $breaker->forceOpen();
        $this->assertNull($breaker->forceOpen());
    }

    public function testDisabledBreakerNeverTrips(): void
    {
        $breaker = $this->breaker();

        $this->assertEquals(new Transition('closed', 'disabled'), $breaker->disable());
        self::recordFailures($breaker, 50);
        $this->assertSame('disabled', $breaker->state());
    }

    public function testResetClosesAnOpenBreaker(): void
    {
        $breaker = $this->breaker();
        self::recordFailures($breaker, 5);

        $this->assertEquals(new Transition('open', 'closed'), $breaker->reset());
        $this->assertSame('closed', $breaker->state());
        $this->assertSame(0, $breaker->snapshot()['consecutive_failures']);
    }

    public function testResetEndsForcedOpen(): void
    {
        $breaker = $this->breaker();
        $breaker->forceOpen();
        $breaker->reset();
        $this->assertSame('closed', $breaker->state());
        $breaker->record($breaker->allow(), true);
        $this->assertSame(1, $breaker->snapshot()['totals']['successes']);
    }

    public function testResetEndsDisabled(): void
    {
        $breaker = $this->breaker();
        $breaker->disable();
        $breaker->reset();
        self::recordFailures($breaker, 5);
        $this->assertSame('open', $breaker->state());
    }

    public function testSlowCallsAreCountedFromTheGivenDuration(): void
    {
        $breaker = $this->breaker(['slow_call_duration_ms' => 100]);

        $breaker->record($breaker->allow(), true, 250.0);
        $breaker->record($breaker->allow(), true, 5.0);

        $this->assertSame(1, $breaker->snapshot()['totals']['slow_calls']);
    }

    public function testFailureRateRuleTripsOnTheWindow(): void
    {
        $breaker = $this->breaker([
            'consecutive_failure_threshold' => 0,
            'failure_rate_threshold' => 0.5,
            'minimum_calls' => 4,
            'sliding_window' => ['kind' => 'count', 'size' => 4],
        ]);
        $breaker->record($breaker->allow(), true);
        $breaker->record($breaker->allow(), false);
        $breaker->record($breaker->allow(), true);
        $this->assertSame('closed', $breaker->state());

        $this->assertEquals(new Transition('closed', 'open'), $breaker->record($breaker->allow(), false));
    }

    public function testOverlappingPermitsKeepTheirOwnValues(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 50, 'half_open_permits' => 2]);
        self::recordFailures($breaker, 5);
        usleep(70000);

        $first = $breaker->allow();
        $second = $breaker->allow();

        $this->assertSame(1, $first->lease());
        $this->assertEquals(new Transition('open', 'half_open'), $first->transition());
        $this->assertSame(2, $second->lease());
        $this->assertNull($second->transition());
        $this->assertGreaterThanOrEqual($first->startedNs(), $second->startedNs());
    }

    public function testRecordingAPermitTwiceIsRejected(): void
    {
        $breaker = $this->breaker();
        $permit = $breaker->allow();
        $breaker->record($permit, true);

        $this->expectException(\TenantMl\Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage("permit of circuit breaker 'payments-api' was already recorded");
        $breaker->record($permit, true);
    }

    public function testRecordingAnotherBreakersPermitIsRejected(): void
    {
        $payments = $this->breaker();
        $search = $this->breaker([], 'search-api');

        $this->expectException(\TenantMl\Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage("permit was not issued by circuit breaker 'search-api'");
        $search->record($payments->allow(), true);
    }

    public function testASpentPermitCannotBeRead(): void
    {
        $breaker = $this->breaker();
        $permit = $breaker->allow();
        $breaker->record($permit, true);

        $this->assertTrue($permit->isSpent());
        $this->expectException(\LogicException::class);
        $this->expectExceptionMessage('this permit was already recorded; read its values before record()');
        $permit->lease();
    }

    public function testSnapshotCountsCallsWhileClosed(): void
    {
        $breaker = $this->breaker();
        $breaker->record($breaker->allow(), true);
        self::recordFailures($breaker, 3);

        $snapshot = $breaker->snapshot();

        $this->assertSame('payments-api', $snapshot['name']);
        $this->assertSame('closed', $snapshot['state']);
        $this->assertSame(3, $snapshot['consecutive_failures']);
        $this->assertNull($snapshot['retry_after_ms']);
        $this->assertSame(['successes' => 1, 'failures' => 3, 'slow_calls' => 0, 'rejected' => 0], $snapshot['totals']);
        $this->assertSame(0, $snapshot['transitions']);
        $this->assertNull($snapshot['last_transition']);
        $this->assertSame(
            ['calls', 'failures', 'slow_calls', 'failure_rate', 'slow_call_rate'],
            array_keys($snapshot['window'])
        );
        $this->assertMatchesRegularExpression('/^[0-9a-f]{16}$/', $snapshot['config_hash']);
    }

    public function testSnapshotOfAnOpenBreakerShowsTheTripAndTheWait(): void
    {
        $breaker = $this->breaker(['open_wait_ms' => 60000]);
        self::recordFailures($breaker, 5);

        $snapshot = $breaker->snapshot();

        $this->assertSame('open', $snapshot['state']);
        $this->assertSame(1, $snapshot['consecutive_openings']);
        $this->assertGreaterThan(59000, $snapshot['retry_after_ms']);
        $this->assertSame(1, $snapshot['transitions']);
        $this->assertSame('closed', $snapshot['last_transition']['from']);
        $this->assertSame('open', $snapshot['last_transition']['to']);
        $this->assertIsInt($snapshot['last_transition']['age_ms']);
    }

    public function testConfigFillsInTheDefaults(): void
    {
        $config = $this->breaker(['open_wait_ms' => 1234])->config();

        $this->assertSame(1234, $config['open_wait_ms']);
        $this->assertSame(5, $config['consecutive_failure_threshold']);
        $this->assertSame(1, $config['half_open_permits']);
        $this->assertSame(10, $config['minimum_calls']);
        $this->assertSame(['kind' => 'count', 'size' => 100], $config['sliding_window']);
        $this->assertNull($config['failure_rate_threshold']);
    }

    public function testNameIsExposed(): void
    {
        $this->assertSame('search-api', $this->breaker([], 'search-api')->name);
    }
}
