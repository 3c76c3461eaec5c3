<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\ChurnPredictor;
use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\IoException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\TenantMlException;

/**
 * ChurnPredictor through PHP: the three regimes (own model, cold start, rules
 * only), reasons, features and the flat path, batches, retention triggers with
 * the cool-down state kept by the caller, persistence and bad input.
 */
final class ChurnPredictorTest extends TestCase
{
    private const DAY = 86400;
    /** 2025-01-06T00:00:00Z, the synthetic world's start. */
    private const START = 1736121600;
    private const AS_OF = self::START + 200 * self::DAY;
    /** Small tree models keep the suite fast. */
    private const QUICK = [
        'model' => ['task' => 'binary', 'calibration' => 'platt', 'gbdt' => ['rounds' => 60, 'min_samples_leaf' => 5]],
    ];

    private static ?ChurnPredictor $cold = null;

    private static function cold(): ChurnPredictor
    {
        return self::$cold ??= ChurnPredictor::coldStart(
            ['tenants' => 600],
            7,
            self::QUICK + ['name' => 'churn-eu', 'version' => 3]
        );
    }

    /**
     * A tenant with an event every $every days from 90 days before $asOf until $quiet days before it.
     *
     * @return array<string, mixed>
     */
    private static function tenant(string $id, int $every, int $quiet, array $extra = []): array
    {
        $events = [];
        for ($d = 90; $d >= $quiet; $d -= $every) {
            $events[] = ['at' => self::AS_OF - $d * self::DAY, 'amount' => 10.0];
        }
        return $extra + [
            'id' => $id,
            'events' => $events,
            'subscription' => [
                'plan' => 'pro',
                'started_at' => self::AS_OF - 400 * self::DAY,
                'seats' => 12,
                'monthly_price' => 360,
            ],
            'failed_payments' => [],
            'tickets' => [],
        ];
    }

    /**
     * 80 labelled tenants over 200 days: half fade out and cancel.
     *
     * @return array{0: list<array>, 1: array}
     */
    private static function labelled(): array
    {
        $tenants = [];
        for ($t = 0; $t < 80; $t++) {
            $churns = $t % 2 === 0;
            $churnDay = 100 + ($t * 7) % 90;
            $stop = $churns ? $churnDay - 15 - $t % 10 : 200;
            $events = [];
            for ($d = 0; $d < $stop; $d += 1 + $t % 3) {
                $events[] = ['at' => self::START + $d * self::DAY + 3600, 'amount' => 1 + $t % 5];
            }
            $tenant = ['id' => "t{$t}", 'events' => $events, 'failed_payments' => [], 'tickets' => []];
            if ($churns) {
                $tenant['churned_at'] = self::START + $churnDay * self::DAY;
            }
            $tenants[] = $tenant;
        }
        $spec = [
            'observation_dates' => [
                self::START + 90 * self::DAY,
                '2025-04-26',
                self::START + 130 * self::DAY,
                new \DateTimeImmutable('@' . (self::START + 150 * self::DAY)),
            ],
            'horizon_days' => 30,
            'data_end' => self::START + 200 * self::DAY,
        ];
        return [$tenants, $spec];
    }

    public function testColdStartScoresSayWhereTheyCameFrom(): void
    {
        $tenant = self::tenant('fading', 4, 22, ['failed_payments' => [self::AS_OF - 5 * self::DAY]]);
        $score = self::cold()->predict($tenant, self::AS_OF);
        $this->assertSame('fading', $score['tenant_id']);
        $this->assertSame('cold_start', $score['regime']);
        $this->assertSame('churn-eu', $score['model_name']);
        $this->assertSame(3, $score['model_version']);
        $this->assertSame(30, $score['horizon_days']);
        $this->assertSame(self::AS_OF, $score['as_of']);
        $this->assertTrue($score['inactive_flag']);
        $this->assertGreaterThan(0.0, $score['probability']);
        $this->assertLessThan(1.0, $score['probability']);
        $this->assertCount(3, $score['reasons']);
        foreach ($score['reasons'] as $reason) {
            $this->assertSame('model', $reason['source']);
            $this->assertContains($reason['code'], ChurnPredictor::featureNames());
            $this->assertNotSame('', $reason['description']);
        }
        $this->assertEquals(22.0, $score['facts']['days_inactive']);
        $this->assertEquals(12.0, $score['facts']['seats']);
    }

    public function testEveryRegime(): void
    {
        [$tenants, $spec] = self::labelled();
        $fitted = ChurnPredictor::fit($tenants, $spec, self::QUICK + ['name' => 'own']);
        $rules = ChurnPredictor::rulesOnly(['inactivity_threshold_days' => 10]);
        $fading = self::tenant('fading', 4, 22);
        $own = $fitted->predict($fading, self::AS_OF);
        $this->assertSame('model', $own['regime']);
        $this->assertSame('own', $own['model_name']);
        $this->assertSame('cold_start', self::cold()->predict($fading, self::AS_OF)['regime']);
        $rule = $rules->predict($fading, self::AS_OF);
        $this->assertSame('fallback', $rule['regime']);
        $this->assertSame('inactivity-rule', $rule['model_name']);
        $this->assertTrue($rule['inactive_flag']);
        $this->assertSame('rule:days_inactive', $rule['reasons'][0]['code']);
        $this->assertSame('rule', $rule['reasons'][0]['source']);
        $this->assertSame('no activity for 22 days (rule threshold 10)', $rule['reasons'][0]['description']);
        $info = $fitted->info();
        $this->assertSame('model', $info['regime']);
        $this->assertGreaterThan(100, $info['summary']['rows']);
    }

    public function testAFadingTenantRanksAboveAnActiveOne(): void
    {
        foreach ([self::cold(), ChurnPredictor::rulesOnly()] as $p) {
            $fading = $p->predict(self::tenant('fading', 4, 25), self::AS_OF);
            $active = $p->predict(self::tenant('active', 1, 1), self::AS_OF);
            $this->assertGreaterThan($active['probability'], $fading['probability'], $fading['regime']);
            $this->assertFalse($active['inactive_flag']);
        }
    }

    public function testReasonsCanBeFewerOrNone(): void
    {
        $tenant = self::tenant('fading', 4, 22);
        $three = self::cold()->predict($tenant, self::AS_OF);
        $one = self::cold()->predict($tenant, self::AS_OF, 1);
        $none = self::cold()->predict($tenant, self::AS_OF, 0);
        $this->assertSame([$three['reasons'][0]], $one['reasons']);
        $this->assertSame([], $none['reasons']);
        $this->assertSame($three['probability'], $none['probability']);
    }

    public function testFeaturesByNameAndTheFlatPathEqualsPredict(): void
    {
        $tenant = self::tenant('fading', 4, 22, ['failed_payments' => [self::AS_OF - 5 * self::DAY]]);
        $asOf = new \DateTimeImmutable('@' . self::AS_OF);
        $features = ChurnPredictor::features($tenant, $asOf);
        $this->assertSame(ChurnPredictor::featureNames(), array_keys($features));
        $this->assertCount(21, $features);
        $this->assertEquals(22.0, $features['days_since_last_activity']);
        $this->assertEquals(1.0, $features['failed_payments_30d']);
        $this->assertEquals(400.0, $features['tenure_days']);
        $this->assertNull(ChurnPredictor::features(['id' => 'bare'], $asOf)['seats']);
        foreach ([self::cold(), ChurnPredictor::rulesOnly()] as $p) {
            $score = $p->predict($tenant, $asOf, 0);
            $flat = $p->predictFeatures($features);
            $this->assertSame($score['probability'], $flat['probability']);
            $this->assertSame($score['regime'], $flat['regime']);
            $this->assertSame($flat, $p->predictFeatures(array_values($features)));
        }
    }

    public function testPredictManyKeepsTheInputOrder(): void
    {
        $tenants = [self::tenant('a', 1, 1), self::tenant('b', 4, 30), self::tenant('c', 2, 10)];
        $scores = self::cold()->predictMany($tenants, '2025-07-25');
        $this->assertSame(['a', 'b', 'c'], array_column($scores, 'tenant_id'));
        foreach ($scores as $i => $score) {
            $this->assertSame(self::cold()->predict($tenants[$i], self::AS_OF), $score);
        }
        $this->assertSame([], self::cold()->predictMany([], self::AS_OF));
    }

    public function testTriggersHoldAnActionBackForItsCoolDownWithTheReturnedState(): void
    {
        $policy = ['rules' => [
            ['action' => 'winback_email', 'min_probability' => 0.5, 'cooldown_days' => 7],
            ['action' => 'csm_call', 'min_probability' => 0.5, 'min_seats' => 50, 'cooldown_days' => 30],
        ]];
        $rules = ChurnPredictor::rulesOnly();
        // Tenant id "42" becomes an integer array key in PHP; the state must still round-trip.
        $scores = [
            $rules->predict(self::tenant('42', 4, 40), self::AS_OF),
            $rules->predict(self::tenant('active', 1, 1), self::AS_OF),
        ];

        $first = ChurnPredictor::triggers($scores, null, self::AS_OF, $policy);
        $this->assertCount(1, $first['decisions']);
        $decision = $first['decisions'][0];
        $this->assertSame('42', $decision['tenant_id']);
        $this->assertSame('winback_email', $decision['action']);
        $this->assertSame('critical', $decision['band']);
        $this->assertSame(self::AS_OF, $decision['fired_at']);
        $this->assertStringContainsString('probability', $decision['reason']);
        $this->assertSame([], $first['suppressed']);
        $this->assertSame(['last_fired' => [42 => ['winback_email' => self::AS_OF]]], $first['state']);

        // The application stores the state (cache, column) and passes it back.
        $stored = json_decode(json_encode($first['state']), true);
        $second = ChurnPredictor::triggers($scores, $stored, self::AS_OF + self::DAY, $policy);
        $this->assertSame([], $second['decisions']);
        $this->assertSame([[
            'tenant_id' => '42',
            'action' => 'winback_email',
            'last_fired_at' => self::AS_OF,
            'next_allowed_at' => self::AS_OF + 7 * self::DAY,
        ]], $second['suppressed']);
        $this->assertSame($first['state'], $second['state']);

        $later = self::AS_OF + 8 * self::DAY;
        $third = ChurnPredictor::triggers($scores, unserialize(serialize($second['state'])), $later, $policy);
        $this->assertCount(1, $third['decisions']);
        $this->assertSame($later, $third['state']['last_fired'][42]['winback_email']);

        // An empty state is no state; one score alone is accepted.
        $alone = ChurnPredictor::triggers($scores[0], ['last_fired' => []], self::AS_OF, $policy);
        $this->assertCount(1, $alone['decisions']);
    }

    public function testTheDefaultPolicyOnboardsANewQuietTenant(): void
    {
        $new = [
            'id' => 'new-gmbh',
            'events' => [['at' => self::AS_OF - 12 * self::DAY, 'amount' => 2.0]],
            'subscription' => ['plan' => 'starter', 'started_at' => self::AS_OF - 20 * self::DAY, 'seats' => 2],
            'failed_payments' => [],
            'tickets' => [],
        ];
        $outcome = ChurnPredictor::triggers([self::cold()->predict($new, self::AS_OF)], null, self::AS_OF);
        $this->assertContains('onboarding_email', array_column($outcome['decisions'], 'action'));
    }

    public function testBytesFileAndSerializeRoundTrips(): void
    {
        $p = self::cold();
        $tenant = self::tenant('fading', 4, 22);
        $expected = $p->predict($tenant, self::AS_OF);
        $this->assertSame($expected, ChurnPredictor::fromBytes($p->toBytes())->predict($tenant, self::AS_OF));
        $path = $this->tempDir() . '/churn.tml';
        $p->save($path);
        $this->assertSame($expected, ChurnPredictor::load($path)->predict($tenant, self::AS_OF));
        $copy = unserialize(serialize($p));
        $this->assertSame($expected, $copy->predict($tenant, self::AS_OF));
        $flat = $copy->predictFeatures(ChurnPredictor::features($tenant, self::AS_OF));
        $this->assertSame($expected['probability'], $flat['probability']);
        $rules = ChurnPredictor::fromBytes(ChurnPredictor::rulesOnly(['inactivity_threshold_days' => 21])->toBytes());
        $this->assertSame(21, (int) $rules->info()['inactivity_threshold_days']);
    }

    public function testMetadataChangesTheNameAndVersionScoresCarry(): void
    {
        $p = ChurnPredictor::fromBytes(self::cold()->toBytes());
        $p->setMetadata(['name' => 'churn-us', 'version' => 9]);
        $score = $p->predict(self::tenant('x', 2, 3), self::AS_OF, 0);
        $this->assertSame('churn-us', $score['model_name']);
        $this->assertSame(9, $score['model_version']);
        $this->assertSame(9, $p->info()['version']);
    }

    public function testDamagedBytesAreABadModelFile(): void
    {
        $bytes = self::cold()->toBytes();
        $this->expectException(BadModelFileException::class);
        ChurnPredictor::fromBytes(substr($bytes, 0, intdiv(strlen($bytes), 2)));
    }

    public function testAMissingFileIsAnIoError(): void
    {
        $this->expectException(IoException::class);
        ChurnPredictor::load($this->tempDir() . '/missing.tml');
    }

    /** A policy of one rule for action 'x'. */
    private static function rule(array $rule): array
    {
        return ['rules' => [['action' => 'x'] + $rule]];
    }

    /** @return iterable<string, array{0: callable, 1: class-string<TenantMlException>, 2: string}> */
    public static function badInput(): iterable
    {
        $t = self::tenant('x', 2, 3);
        $at = self::AS_OF;
        $p = static fn (): ChurnPredictor => self::cold();
        $parse = ParseException::class;
        $invalid = InvalidArgumentException::class;
        yield 'unknown tenant key' => [
            static fn () => $p()->predict(['id' => 'x', 'evnts' => []], $at),
            $parse,
            'evnts',
        ];
        yield 'tenant as a list' => [static fn () => $p()->predict([1, 2], $at), $invalid, 'list'];
        yield 'negative amount' => [
            static fn () => $p()->predict(['id' => 'x', 'events' => [['at' => 1, 'amount' => -1.0]]], $at),
            $invalid,
            'amount',
        ];
        yield 'NAN amount' => [
            static fn () => $p()->predict(['id' => 'x', 'events' => [['at' => 1, 'amount' => NAN]]], $at),
            $parse,
            'JSON',
        ];
        yield 'string time' => [
            static fn () => $p()->predict(['id' => 'x', 'failed_payments' => ['yesterday']], $at),
            $parse,
            'yesterday',
        ];
        yield 'as of before start' => [static fn () => $p()->predict($t, $at - 500 * self::DAY), $invalid, 'before'];
        yield 'as of without offset' => [static fn () => $p()->predict($t, '2025-07-25T10:00:00'), $invalid, 'offset'];
        yield 'negative reasons' => [static fn () => $p()->predict($t, $at, -1), $invalid, 'reasons'];
        yield 'short feature row' => [static fn () => $p()->predictFeatures([1.0, 2.0]), $invalid, '21'];
        yield 'infinite feature' => [static fn () => $p()->predictFeatures(array_fill(0, 21, INF)), $invalid, 'finite'];
        yield 'string feature' => [static fn () => $p()->predictFeatures(array_fill(0, 21, 'x')), $invalid, 'number'];
        yield 'unknown parameter' => [static fn () => ChurnPredictor::rulesOnly(['horizon' => 60]), $parse, 'horizon'];
        yield 'negative threshold' => [
            static fn () => ChurnPredictor::rulesOnly(['inactivity_threshold_days' => -1]),
            $invalid,
            'threshold',
        ];
        yield 'regression model' => [
            static fn () => ChurnPredictor::coldStart(['tenants' => 50], 1, ['model' => ['task' => 'regression', 'gbdt' => ['rounds' => 5]]]),
            $invalid,
            'binary',
        ];
        yield 'unknown setting' => [static fn () => ChurnPredictor::coldStart(['tenant' => 50]), $parse, 'tenant'];
        yield 'negative cool-down' => [
            static fn () => ChurnPredictor::triggers([], null, $at, self::rule(['cooldown_days' => -1])),
            $invalid,
            'cooldown_days',
        ];
        yield 'unknown rule key' => [
            static fn () => ChurnPredictor::triggers([], null, $at, self::rule(['min_prob' => 0.5])),
            $parse,
            'min_prob',
        ];
        yield 'bad state' => [
            static fn () => ChurnPredictor::triggers([], ['last_fired' => ['t' => ['x' => 'soon']]], $at),
            $parse,
            'cool-down state',
        ];
        yield 'incomplete score' => [
            static fn () => ChurnPredictor::triggers([['tenant_id' => 'x']], null, $at),
            $parse,
            'scores',
        ];
        yield 'one class only' => [
            static fn () => ChurnPredictor::fit([['id' => 'a', 'events' => []]], self::labelled()[1]),
            $invalid,
            'both',
        ];
        yield 'horizons differ' => [
            static fn () => ChurnPredictor::fit(self::labelled()[0], self::labelled()[1], ['horizon_days' => 60]),
            $invalid,
            'horizon',
        ];
        yield 'spec key' => [
            static fn () => ChurnPredictor::fit(self::labelled()[0], ['horizon' => 30]),
            $parse,
            'label spec',
        ];
    }

    /**
     * @dataProvider badInput
     * @param class-string<TenantMlException> $class
     */
    public function testBadInputIsAClearError(callable $call, string $class, string $needle): void
    {
        try {
            $call();
            $this->fail("expected a {$class}");
        } catch (TenantMlException $e) {
            $this->assertInstanceOf($class, $e, $e->getMessage());
            $this->assertStringContainsStringIgnoringCase($needle, $e->getMessage());
        }
    }
}
