<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\TenantMlException;
use TenantMl\RetrainPolicy;
use TenantMl\StreamingDetector;

/** Streaming detectors persisted between "requests", and the retraining policy. */
final class StreamingDetectorTest extends TestCase
{
    /** @return list<float> */
    private static function stream(): array
    {
        $xs = [];
        for ($i = 0; $i < 1200; $i++) {
            $xs[] = ($i < 600 ? 0.2 : 1.0) + 0.03 * ($i % 5);
        }
        return $xs;
    }

    /** @return iterable<string, array{string}> */
    public static function kinds(): iterable
    {
        yield 'page_hinkley' => ['pageHinkley'];
        yield 'adwin' => ['adwin'];
    }

    /** @dataProvider kinds */
    public function testStatePersistedEveryRequestDetectsLikeOneDetector(string $factory): void
    {
        $xs = self::stream();
        $whole = StreamingDetector::$factory();
        $run = $whole->updateMany($xs);
        $this->assertGreaterThanOrEqual(600, $run['first_detection']);
        $this->assertGreaterThanOrEqual(1, $run['detections']);

        // One value per request: restore, update, store.
        $state = StreamingDetector::$factory()->toJson();
        $hits = [];
        foreach (array_slice($xs, 0, 900) as $i => $x) {
            $d = StreamingDetector::fromJson($state);
            if ($d->update($x)) {
                $hits[] = $i;
            }
            $state = $d->toJson();
        }
        $this->assertSame($run['first_detection'], $hits[0] ?? null);
        $this->assertSame($factory === 'adwin' ? 'adwin' : 'page_hinkley', StreamingDetector::fromJson($state)->kind());
    }

    public function testUpdateManyWithoutChangeAndSerialize(): void
    {
        $d = StreamingDetector::pageHinkley(['threshold' => 20, 'mode' => 'up']);
        $this->assertSame(['first_detection' => null, 'detections' => 0], $d->updateMany(array_fill(0, 100, 0.5)));
        $this->assertSame(['first_detection' => null, 'detections' => 0], $d->updateMany([]));
        $copy = unserialize(serialize($d));
        $this->assertSame($d->toJson(), $copy->toJson());
    }

    public function testNonFiniteValuesAreRefusedAndChangeNothing(): void
    {
        $d = StreamingDetector::adwin();
        $d->updateMany([0.1, 0.2, 0.3]);
        $before = $d->toJson();
        foreach ([NAN, INF, -INF] as $bad) {
            try {
                $d->update($bad);
                $this->fail('non-finite value accepted');
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('finite', $e->getMessage());
            }
        }
        try {
            $d->updateMany([1.0, NAN]);
            $this->fail('NaN in a batch accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('value 1', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        try {
            $d->updateMany([1.0, null]);
        } finally {
            $this->assertSame($before, $d->toJson());
        }
    }

    /** @return iterable<string, array{callable(): mixed, class-string, string}> */
    public static function badDetectors(): iterable
    {
        yield 'unknown param' => [
            fn () => StreamingDetector::pageHinkley(['lambda' => 3]),
            ParseException::class,
            'lambda',
        ];
        yield 'param out of range' => [
            fn () => StreamingDetector::adwin(['delta' => 2]),
            InvalidArgumentException::class,
            'delta',
        ];
        yield 'params as a list' => [
            fn () => StreamingDetector::adwin([1, 2]),
            InvalidArgumentException::class,
            'keyed by name',
        ];
        yield 'malformed state' => [
            fn () => StreamingDetector::fromJson('{"kind": "adwin", "state": {'),
            ParseException::class,
            'state',
        ];
        yield 'foreign kind' => [
            fn () => StreamingDetector::fromJson('{"kind": "kswin", "state": {}}'),
            ParseException::class,
            'kswin',
        ];
        yield 'empty state' => [fn () => StreamingDetector::fromJson(''), ParseException::class, 'parse error'];
        yield 'NUL in state' => [fn () => StreamingDetector::fromJson("{\0}"), InvalidArgumentException::class, 'NUL'];
    }

    /**
     * @dataProvider badDetectors
     * @param callable(): mixed $call
     * @param class-string<\Throwable> $class
     */
    public function testBadDetectorInput(callable $call, string $class, string $message): void
    {
        $this->expectException($class);
        $this->expectExceptionMessage($message);
        $call();
    }

    public function testReleasedDetectorThrows(): void
    {
        $d = StreamingDetector::pageHinkley();
        $d->free();
        $d->free();
        $this->expectException(TenantMlException::class);
        $this->expectExceptionMessage('released');
        $d->update(1.0);
    }

    public function testPolicyStateTravelsThroughTheCaller(): void
    {
        $policy = new RetrainPolicy(['consecutive_drift_reports' => 2, 'max_model_age_secs' => null]);
        $input = ['now' => 1_700_000_000, 'model_trained_at' => 1_690_000_000, 'dataset_drift' => true];
        $first = $policy->decide($input);
        $this->assertFalse($first['retrain']);
        $this->assertSame(1, json_decode($first['state'], true)['consecutive_drift']);
        $second = $policy->decide($input, $first['state']);
        $this->assertTrue($second['retrain']);
        $this->assertSame([['count' => 2, 'required' => 2, 'trigger' => 'consecutive_drift']], $second['reasons']);
        // Without the stored state, the count starts over.
        $this->assertFalse($policy->decide($input)['retrain']);

        $errors = (new RetrainPolicy())->decide([
            'now' => 1_700_000_000,
            'model_trained_at' => 1_699_999_000,
            'backtest_error' => 15.0,
            'baseline_error' => 10.0,
            'error_drift_detected' => true,
        ]);
        $this->assertSame(['error_stream_drift', 'error_above_baseline'], array_column($errors['reasons'], 'trigger'));
        $this->assertEqualsWithDelta(50.0, $errors['reasons'][1]['increase_pct'], 1e-12);
    }

    /** @return iterable<string, array{callable(): mixed, class-string, string}> */
    public static function badPolicy(): iterable
    {
        $in = ['now' => 10, 'model_trained_at' => 5];
        yield 'clock before training' => [
            fn () => (new RetrainPolicy())->decide(['now' => 1, 'model_trained_at' => 5]),
            InvalidArgumentException::class,
            'before the model',
        ];
        yield 'unknown policy key' => [
            fn () => (new RetrainPolicy(['cooldown' => 1]))->decide($in),
            ParseException::class,
            'retrain policy',
        ];
        yield 'damaged state' => [
            fn () => (new RetrainPolicy())->decide($in, '{"consecutive_drift": "x"}'),
            ParseException::class,
            'policy state',
        ];
        yield 'missing now' => [
            fn () => (new RetrainPolicy())->decide(['model_trained_at' => 5]),
            ParseException::class,
            'now',
        ];
        yield 'empty input' => [fn () => (new RetrainPolicy())->decide([]), InvalidArgumentException::class, 'now'];
        yield 'NaN error' => [
            fn () => (new RetrainPolicy())->decide($in + ['backtest_error' => NAN, 'baseline_error' => 1.0]),
            ParseException::class,
            'JSON',
        ];
        yield 'negative baseline' => [
            fn () => (new RetrainPolicy())->decide($in + ['backtest_error' => 1.0, 'baseline_error' => -1.0]),
            InvalidArgumentException::class,
            'baseline_error',
        ];
    }

    /**
     * @dataProvider badPolicy
     * @param callable(): mixed $call
     * @param class-string<\Throwable> $class
     */
    public function testBadPolicyInput(callable $call, string $class, string $message): void
    {
        $this->expectException($class);
        $this->expectExceptionMessage($message);
        $call();
    }
}
