<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\UsagePredictor;

/**
 * UsagePredictor through PHP: fit one or many series, forecast rows with
 * intervals and regimes, the fallback rule, backtests, persistence and bad input.
 */
final class UsagePredictorTest extends TestCase
{
    /** Monday 2024-01-01T00:00:00Z. */
    private const START = 1704067200;
    private const HOUR = 3600;
    /** Small ensembles keep the suite fast. */
    private const PARAMS = ['model' => ['gbdt' => ['rounds' => 40], 'forest' => ['trees' => 10]]];

    private static ?UsagePredictor $shared = null;

    /**
     * Hourly usage with business hours, quiet weekends and noise.
     *
     * @return array{0: list<int>, 1: list<float>}
     */
    private static function usage(int $days, float $level, int $seed, int $start = self::START): array
    {
        mt_srand($seed);
        $t = [];
        $v = [];
        for ($i = 0; $i < $days * 24; $i++) {
            $hour = $i % 24;
            $weekday = intdiv($i, 24) % 7;
            $daily = ($hour >= 8 && $hour < 18) ? 1.6 : 0.5;
            $weekly = $weekday >= 5 ? 0.4 : 1.0;
            $t[] = $start + $i * self::HOUR;
            $v[] = $level * $daily * $weekly * (1 + (mt_rand(-100, 100) / 1000));
        }
        return [$t, $v];
    }

    private static function predictor(): UsagePredictor
    {
        if (self::$shared === null) {
            $series = [];
            for ($s = 0; $s < 4; $s++) {
                $series["tenant-{$s}"] = self::usage(35, 10.0 * ($s + 1), 10 + $s);
            }
            self::$shared = UsagePredictor::fitMany($series, self::PARAMS + ['name' => 'usage', 'version' => 3]);
        }
        return self::$shared;
    }

    public function testForecastRowsCarryIntervalsRegimeAndVersion(): void
    {
        [$t, $v] = self::usage(35, 20.0, 1);
        $result = self::predictor()->forecast($t, $v, 24, [80, 95]);
        $this->assertSame('usage', $result['model_name']);
        $this->assertSame(3, $result['model_version']);
        // The model, or a blend with the prior while the learned hand-over is incomplete.
        $this->assertContains($result['regime'], ['model', 'blended']);
        $this->assertCount(24, $result['rows']);
        $first = $result['rows'][0];
        $this->assertSame(end($t) + self::HOUR, $first['timestamp']);
        foreach ($result['rows'] as $row) {
            $this->assertSame($result['regime'], $row['regime']);
            $this->assertLessThanOrEqual($row['forecast'], $row['lower']);
            $this->assertGreaterThanOrEqual($row['forecast'], $row['upper']);
            $this->assertSame([$row['lower'], $row['upper']], $row['intervals']['80']);
            $this->assertLessThanOrEqual($row['lower'], $row['intervals']['95'][0]);
        }
        // Monday 10:00 UTC is busier than 02:00.
        $this->assertGreaterThan($result['rows'][2]['forecast'] * 1.5, $result['rows'][10]['forecast']);
    }

    public function testEveryHistoryLengthSaysWhichRegimeAnswered(): void
    {
        $series = [];
        for ($s = 0; $s < 3; $s++) {
            $series[] = self::usage(28, 10.0 * ($s + 1), 20 + $s);
        }
        // The fixed hand-over rule: blended over the first 14 days.
        $p = UsagePredictor::fitMany($series, self::PARAMS + ['learn_handover' => false]);
        $start = self::START + 35 * 24 * self::HOUR;
        $empty = $p->forecast([], [], 24, [80], $start);
        $this->assertSame('cold_start_prior', $empty['regime']);
        $this->assertSame($start, $empty['rows'][0]['timestamp']);
        [$t, $v] = self::usage(1, 30.0, 2, $start);
        $this->assertSame('blended', $p->forecast($t, $v, 24)['regime']);
        [$t, $v] = self::usage(7, 30.0, 2, $start);
        $this->assertSame('blended', $p->forecast($t, $v, 24)['regime']);
        // The same week passed as the recent window of a tenant with 90 days of data.
        $this->assertSame('model', $p->forecast($t, $v, 24, [80], null, 90.0)['regime']);
        $this->assertSame('model', $p->forecastGrid($t[0], $v, 24, [80], 90.0)['regime']);
        [$t, $v] = self::usage(30, 30.0, 2, $start);
        $this->assertSame('model', $p->forecast($t, $v, 24)['regime']);
        $learned = self::predictor()->info()['handover_schedule'];
        $this->assertNotEmpty($learned);
        $this->assertGreaterThanOrEqual($learned[0]['weight'], end($learned)['weight']);
    }

    public function testIsoTimestampsWithOffsetsUnsortedAndMissingValues(): void
    {
        [$t, $v] = self::usage(21, 10.0, 3);
        $iso = array_map(static fn (int $s): string => gmdate('Y-m-d\TH:i:s', $s + 7200) . '+02:00', $t);
        $v[50] = null;
        $order = range(0, count($t) - 1);
        shuffle($order);
        $it = array_map(static fn (int $i) => $iso[$i], $order);
        $iv = array_map(static fn (int $i) => $v[$i], $order);
        $a = self::predictor()->forecast($it, $iv, 5);
        $b = self::predictor()->forecast($t, $v, 5);
        $this->assertSame(array_column($b['rows'], 'forecast'), array_column($a['rows'], 'forecast'));
    }

    public function testForecastGridEqualsForecastFromTimestamps(): void
    {
        [$t, $v] = self::usage(20, 15.0, 11);
        $v[7] = null;
        $grid = self::predictor()->forecastGrid($t[0], $v, 6, [80, 95]);
        $this->assertEquals(self::predictor()->forecast($t, $v, 6, [80, 95]), $grid);
        $iso = self::predictor()->forecastGrid(gmdate('Y-m-d\\TH:i:s\\Z', $t[0]), $v, 6, [80, 95]);
        $this->assertEquals($grid, $iso);
        $cold = self::predictor()->forecastGrid($t[0], [], 3, [80]);
        $this->assertSame('cold_start_prior', $cold['regime']);
        $this->assertSame($t[0], $cold['rows'][0]['timestamp']);
    }

    public function testTimestampsOnTheGridTakeTheGridPathWithTheSameAnswer(): void
    {
        [$t, $v] = self::usage(20, 15.0, 13);
        $p = self::predictor();
        // In order and one period apart: answered by the grid path.
        $onGrid = $p->forecast($t, $v, 24, [80, 95], null, 40.0);
        // The same points with one timestamp as ISO 8601 go through the native sort and merge.
        $iso = $t;
        $iso[5] = gmdate('Y-m-d\TH:i:s\Z', $t[5]);
        $this->assertEquals($onGrid, $p->forecast($iso, $v, 24, [80, 95], null, 40.0));
        $this->assertEquals($onGrid, $p->forecastGrid($t[0], $v, 24, [80, 95], 40.0));
        // A missing period (no timestamp) is a gap, not the grid: the same as a null there.
        $gapT = $t;
        $gapV = $v;
        unset($gapT[30], $gapV[30]);
        $withNull = $v;
        $withNull[30] = null;
        $this->assertEquals(
            $p->forecastGrid($t[0], $withNull, 3),
            $p->forecast(array_values($gapT), array_values($gapV), 3)
        );
        // A list with keys out of order is not taken for the grid.
        $reversed = $p->forecast(array_reverse($t, true), array_reverse($v, true), 24, [80, 95], null, 40.0);
        $this->assertEquals($onGrid, $reversed);
    }

    public function testLevelsChangingBetweenRequestsGiveTheirOwnIntervals(): void
    {
        [$t, $v] = self::usage(20, 15.0, 12);
        $p = self::predictor();
        $both = $p->forecastGrid($t[0], $v, 3, [80, 95]);
        // The same levels as ints, as floats, reordered, one of them, none, then both again.
        // (PHP turns the keys '80' and '95' into integers.)
        $this->assertSame([80, 95], array_keys($both['rows'][2]['intervals']));
        $this->assertSame($both, $p->forecastGrid($t[0], $v, 3, [80, 95]));
        $this->assertSame([80.0, 95.0], $p->forecastGrid($t[0], $v, 3, [80.0, 95.0])['levels']);
        $swapped = $p->forecastGrid($t[0], $v, 3, [95, 80]);
        $this->assertSame([95, 80], array_keys($swapped['rows'][2]['intervals']));
        $this->assertSame($both['rows'][2]['intervals']['95'], $swapped['rows'][2]['intervals']['95']);
        $this->assertSame($both['rows'][2]['intervals']['95'][0], $swapped['rows'][2]['lower']);
        $one = $p->forecastGrid($t[0], $v, 3, [97.5]);
        $this->assertSame(['97.5'], array_keys($one['rows'][0]['intervals']));
        $this->assertLessThan($both['rows'][0]['intervals']['95'][0], $one['rows'][0]['lower']);
        $none = $p->forecastGrid($t[0], $v, 3, []);
        $this->assertSame([], $none['rows'][0]['intervals']);
        $this->assertNull($none['rows'][0]['lower']);
        $this->assertSame($both, $p->forecastGrid($t[0], $v, 3, [80, 95]));
    }

    public function testFeatureDriftComparesRecentUsageWithTheTrainingFeatures(): void
    {
        $p = self::predictor();
        [$t, $v] = self::usage(21, 300.0, 31);
        $this->assertFalse($p->featureDrift($t, $v)['dataset_drift']);
        $flat = array_map(static fn (int $i): float => 20.0 + ($i % 5) * 0.1, array_keys($v));
        $report = $p->featureDrift($t, $flat, ['drift_share' => 0.3]);
        $this->assertTrue($report['dataset_drift']);
        $this->assertSame(0.3, $report['drift_share']);
        $dataFeatures = array_values(array_filter(
            $p->info()['features'],
            static fn (string $n): bool => !str_starts_with($n, 'cal_')
        ));
        $this->assertSame($dataFeatures, array_column($report['features'], 'name'));
        try {
            $p->featureDrift([], []);
            $this->fail('an empty history');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('empty', $e->getMessage());
        }
    }

    public function testFallbackIsTheRuleAndSaysSo(): void
    {
        [$t, $v] = self::usage(14, 10.0, 4);
        $result = UsagePredictor::fallback($t, $v, 24, [80]);
        $this->assertSame('fallback', $result['regime']);
        $this->assertSame('fallback', $result['rows'][0]['regime']);
        $this->assertGreaterThan($result['rows'][3]['forecast'], $result['rows'][12]['forecast']);
        $berlin = UsagePredictor::fallback($t, $v, 24, [80], 'Europe/Berlin');
        $this->assertNotSame(array_column($result['rows'], 'forecast'), array_column($berlin['rows'], 'forecast'));
    }

    public function testBacktestReportsTheModelBesideTheBaselines(): void
    {
        $report = UsagePredictor::backtest(
            [self::usage(30, 10.0, 5)],
            ['horizon' => 24, 'windows' => 2, 'levels' => [80]],
            self::PARAMS
        );
        $names = array_column($report['methods'], 'name');
        $this->assertSame('model', $names[0]);
        $this->assertContains('seasonal_naive_24', $names);
        $this->assertContains('fallback_rule', $names);
        $this->assertGreaterThan(0, $report['methods'][0]['metrics']['mae']);
        $this->assertCount(2, $report['windows']);
    }

    public function testBytesFileAndSerializeRoundTrips(): void
    {
        $p = self::predictor();
        [$t, $v] = self::usage(10, 10.0, 6);
        $expected = $p->forecast($t, $v, 12);
        $this->assertEquals($expected, UsagePredictor::fromBytes($p->toBytes())->forecast($t, $v, 12));
        $path = $this->tempDir() . '/usage.tml';
        $p->save($path);
        $this->assertEquals($expected, UsagePredictor::load($path)->forecast($t, $v, 12));
        $copy = unserialize(serialize($p));
        $this->assertEquals($expected, $copy->forecast($t, $v, 12));
    }

    public function testRefitKeepsTheChoicesAndRetrainsOnMoreData(): void
    {
        $p = self::predictor();
        $series = [];
        for ($s = 0; $s < 4; $s++) {
            $series["tenant-{$s}"] = self::usage(35, 10.0 * ($s + 1), 10 + $s);
        }
        [$t, $v] = self::usage(10, 20.0, 12);
        // The same data: the same model, so the same forecast.
        $same = $p->refitMany($series);
        $this->assertEquals($p->forecast($t, $v, 6), $same->forecast($t, $v, 6));
        // Two more weeks of each tenant: a new model, the choices kept.
        $grown = [];
        for ($s = 0; $s < 4; $s++) {
            $grown[] = self::usage(49, 10.0 * ($s + 1), 10 + $s);
        }
        $retrained = $p->refitMany($grown);
        $before = $p->info();
        $after = $retrained->info();
        $this->assertSame($before['transform'], $after['transform']);
        $this->assertSame($before['periods'], $after['periods']);
        $this->assertGreaterThan($before['summary']['rows'], $after['summary']['rows']);
        $this->assertNotEquals($p->forecast($t, $v, 6), $retrained->forecast($t, $v, 6));
        $this->assertSame('usage', $retrained->forecast($t, $v, 1)['model_name']);
        // One series works too, and the original predictor is untouched.
        [$t1, $v1] = self::usage(21, 30.0, 13);
        $this->assertCount(6, $p->refit($t1, $v1)->forecast($t1, $v1, 6)['rows']);
        $this->assertEquals($p->forecast($t, $v, 6), $same->forecast($t, $v, 6));
    }

    public function testDirectStepsAreAParameterAndSurviveBytes(): void
    {
        [$t, $v] = self::usage(21, 10.0, 21);
        // The model alone: on this clean weekly pattern a seasonal-naive combination can
        // win calibration and would hide both models.
        $params = self::PARAMS + ['combine_baselines' => false];
        $direct = UsagePredictor::fit($t, $v, $params + ['direct_steps' => 4]);
        $recursive = UsagePredictor::fit($t, $v, $params);
        $d = array_column($direct->forecast($t, $v, 8)['rows'], 'forecast');
        $r = array_column($recursive->forecast($t, $v, 8)['rows'], 'forecast');
        $this->assertCount(8, $d);
        $this->assertNotSame(array_slice($r, 1, 3), array_slice($d, 1, 3));
        $this->assertSame($d, array_column(UsagePredictor::fromBytes($direct->toBytes())->forecast($t, $v, 8)['rows'], 'forecast'));
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('direct_steps');
        UsagePredictor::fit($t, $v, self::PARAMS + ['direct_steps' => 1000]);
    }

    public function testMetadataChangesTheNameAndVersionForecastsCarry(): void
    {
        $p = UsagePredictor::fromBytes(self::predictor()->toBytes());
        $p->setMetadata(['name' => 'usage-eu', 'version' => 9]);
        [$t, $v] = self::usage(10, 10.0, 7);
        $result = $p->forecast($t, $v, 2);
        $this->assertSame('usage-eu', $result['model_name']);
        $this->assertSame(9, $result['model_version']);
        $info = $p->info();
        $this->assertContains(24, $info['periods']);
        $this->assertGreaterThanOrEqual(30, count($info['features']));
    }

    public function testDamagedBytesAreABadModelFile(): void
    {
        $bytes = self::predictor()->toBytes();
        $this->expectException(BadModelFileException::class);
        UsagePredictor::fromBytes(substr($bytes, 0, intdiv(strlen($bytes), 2)));
    }

    public function testForeignBytesAreABadModelFile(): void
    {
        $this->expectException(BadModelFileException::class);
        UsagePredictor::fromBytes('not a model file at all');
    }

    /** @return iterable<string, array{0: callable, 1: string}> */
    public static function badInput(): iterable
    {
        [$t, $v] = self::usage(3, 10.0, 8);
        yield 'horizon 0' => [static fn (UsagePredictor $p) => $p->forecast($t, $v, 0), 'horizon'];
        yield 'absurd horizon' => [static fn (UsagePredictor $p) => $p->forecast($t, $v, 50_000_000), 'horizon'];
        yield 'level 100' => [static fn (UsagePredictor $p) => $p->forecast($t, $v, 3, [100]), 'levels'];
        yield 'mismatched arrays' => [static fn (UsagePredictor $p) => $p->forecast($t, [1.0], 3), 'timestamps'];
        yield 'string value' => [static fn (UsagePredictor $p) => $p->forecast([1], ['x'], 3), 'number'];
        yield 'infinite value' => [static fn (UsagePredictor $p) => $p->forecast([self::START], [INF], 3), 'finite'];
        yield 'no offset' => [static fn (UsagePredictor $p) => $p->forecast(['2024-01-01T00:00:00'], [1.0], 3), 'offset'];
        yield 'start past 9999' => [static fn (UsagePredictor $p) => $p->forecastGrid(PHP_INT_MAX - 10, [], 3), '9999'];
        yield 'NaN tenant days' => [static fn (UsagePredictor $p) => $p->forecast($t, $v, 3, [80], null, NAN), 'days of data'];
        yield 'negative tenant days' => [static fn (UsagePredictor $p) => $p->forecastGrid(self::START, $v, 3, [80], -1.0), 'days of data'];
        yield 'empty without start' => [static fn (UsagePredictor $p) => $p->forecast([], [], 3), 'start'];
        yield 'off the grid' => [static fn (UsagePredictor $p) => $p->forecast([self::START, self::START + 1800], [1.0, 2.0], 3), 'grid'];
        yield 'fallback of nothing' => [static fn () => UsagePredictor::fallback([self::START], [null], 3, [80], null, 3600), 'missing'];
        yield 'fit on nothing' => [static fn () => UsagePredictor::fitMany([]), 'frequency'];
        yield 'fit on nothing present' => [
            static fn () => UsagePredictor::fit([self::START, self::START + 3600, self::START + 7200], [null, null, NAN], ['synthetic_tenants' => 0]),
            'present values',
        ];
        yield 'refit on nothing' => [static fn (UsagePredictor $p) => $p->refitMany([]), 'nothing to refit'];
        yield 'refit on daily data' => [
            static fn (UsagePredictor $p) => $p->refit(
                array_map(static fn (int $d): int => self::START + $d * 86400, range(0, 29)),
                array_fill(0, 30, 5.0)
            ),
            'frequency',
        ];
        yield 'refit with a string value' => [static fn (UsagePredictor $p) => $p->refit([self::START], ['x']), 'number'];
        yield 'fit on one point' => [static fn () => UsagePredictor::fit([self::START], [1.0], ['synthetic_tenants' => 0]), 'frequency'];
    }

    /** @dataProvider badInput */
    public function testBadInputIsAClearError(callable $call, string $needle): void
    {
        try {
            $call(self::predictor());
            $this->fail('expected an InvalidArgumentException');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsStringIgnoringCase($needle, $e->getMessage());
        }
    }

    public function testUnknownParameterIsAParseError(): void
    {
        [$t, $v] = self::usage(3, 10.0, 9);
        $this->expectException(ParseException::class);
        UsagePredictor::fit($t, $v, ['horizon' => 3]);
    }

    public function testFitOnSyntheticTenantsAloneServesANewPlatform(): void
    {
        $p = UsagePredictor::fitMany([], self::PARAMS + ['frequency' => 3600, 'synthetic_tenants' => 4]);
        $result = $p->forecast([], [], 24, [80], '2024-06-03T00:00:00Z');
        $this->assertSame('cold_start_prior', $result['regime']);
        $this->assertCount(24, $result['rows']);
    }
}
