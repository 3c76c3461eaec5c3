<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\ChurnPredictor;
use TenantMl\DriftDetector;
use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\Model;

final class DriftDetectorTest extends TestCase
{
    public function testKsMatchesScipy(): void
    {
        // scipy.stats.ks_2samp([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) = (1.0, 0.007936507936507936)
        $report = DriftDetector::compare(['latency' => [1, 2, 3, 4, 5]], ['latency' => [6, 7, 8, 9, 10]]);
        $f = $report['features'][0];
        $this->assertSame('latency', $f['name']);
        $this->assertSame('ks', $f['test']);
        $this->assertSame(1.0, (float) $f['statistic']);
        $this->assertEqualsWithDelta(0.007936507936507936, $f['p_value'], 1e-15);
        $this->assertTrue($f['drifted']);
        $this->assertTrue($report['dataset_drift']);
    }

    public function testChiSquaredMatchesScipyAndColumnOrderFollowsTheReference(): void
    {
        // scipy.stats.chi2_contingency([[10, 20, 30], [30, 20, 10]]) = (20.0, 4.539992976248486e-05)
        $ref = array_merge(array_fill(0, 10, 0), array_fill(0, 20, 1), array_fill(0, 30, 2));
        $cur = array_merge(array_fill(0, 30, 0), array_fill(0, 20, 1), array_fill(0, 10, 2));
        $stable = range(1, 60);
        $report = DriftDetector::compare(
            ['stable' => $stable, 'plan' => $ref],
            ['plan' => $cur, 'stable' => $stable],
            ['categorical' => ['plan']]
        );
        [$s, $p] = $report['features'];
        $this->assertSame(['stable', 'plan'], [$s['name'], $p['name']]);
        $this->assertFalse($s['drifted']);
        $this->assertSame(['categorical', 'chi2'], [$p['kind'], $p['test']]);
        $this->assertEqualsWithDelta(20.0, $p['statistic'], 1e-12);
        $this->assertEqualsWithDelta(4.539992976248486e-05, $p['p_value'], 1e-15);
        $this->assertSame(0.5, (float) $report['share_drifted']);
    }

    public function testMissingValuesAreDroppedAndCounted(): void
    {
        $report = DriftDetector::compare(['x' => [1, 2, null, 4, NAN]], ['x' => [1, 2, 3, null]]);
        $f = $report['features'][0];
        $this->assertSame(
            [3, 3, 2, 1],
            [$f['n_reference'], $f['n_current'], $f['missing_reference'], $f['missing_current']]
        );
    }

    public function testConfigOptions(): void
    {
        $ref = ['a' => range(0, 99), 'b' => range(0, 99)];
        $cur = ['a' => range(5, 104), 'b' => range(60, 159)];
        $report = DriftDetector::compare($ref, $cur, [
            'numeric_test' => 'psi',
            'feature_tests' => ['b' => 'wasserstein'],
            'drift_share' => 1.0,
        ]);
        $this->assertSame(['psi', 'wasserstein'], array_column($report['features'], 'test'));
        $this->assertSame([false, true], array_column($report['features'], 'drifted'));
        $this->assertFalse($report['dataset_drift']);
        $this->assertSame('ks', DriftDetector::compare($ref, $cur, ['feature_tests' => []])['features'][0]['test']);
    }

    public function testStoredReferenceRoundTrip(): void
    {
        $train = ['usage' => [], 'region' => []];
        for ($i = 0; $i < 3000; $i++) {
            $train['usage'][] = ($i * 37) % 1000 / 10.0;
            $train['region'][] = $i % 4;
        }
        $detector = DriftDetector::buildReference($train, ['region'], 200);
        $this->assertSame(['usage' => 'numeric', 'region' => 'categorical'], $detector->featureKinds());
        $this->assertFalse($detector->hasPredictions());
        $stored = $detector->toJson();
        $again = DriftDetector::fromReference($stored);
        $this->assertSame(['usage', 'region'], $again->featureNames());

        $shifted = ['region' => $train['region'], 'usage' => array_map(fn ($v) => $v + 30, $train['usage'])];
        $report = $again->report($shifted);
        $this->assertSame([true, false], array_column($report['features'], 'drifted'));
        $this->assertSame(200, $report['features'][0]['n_reference']);
        $this->assertSame(3000, $report['features'][1]['n_reference']);
        $this->assertFalse($again->report($train)['features'][0]['drifted']);
    }

    public function testModelReferenceAndPredictionDrift(): void
    {
        $rows = [];
        $targets = [];
        for ($i = 0; $i < 200; $i++) {
            $rows[] = [$i % 50, ($i * 3) % 40];
            $targets[] = $i % 50 + 0.5 * (($i * 3) % 40);
        }
        $model = Model::fit($rows, $targets, ['gbdt' => ['rounds' => 5]]);
        // Fitting stored the training features and the model's own predictions.
        $fitted = DriftDetector::fromModel($model);
        $this->assertTrue($fitted->hasPredictions());
        $this->assertCount(2, $fitted->featureNames());
        $names = $fitted->featureNames();
        $same = $fitted->report([$names[0] => array_column($rows, 0), $names[1] => array_column($rows, 1)]);
        $this->assertFalse($same['dataset_drift']);
        try {
            DriftDetector::fromModel(ChurnPredictor::rulesOnly());
            $this->fail('a rules-only model has no training data, so no reference');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('stores no drift reference', $e->getMessage());
        }
        $features = DriftDetector::buildReference([
            'a' => array_column($rows, 0),
            'b' => array_column($rows, 1),
        ]);
        $model->setMetadata(['extra' => ['drift_reference' => [
            'features' => json_decode($features->toJson(), true),
            'predictions' => ['kind' => 'numeric', 'values' => range(0, 9), 'count' => 10, 'missing' => 0],
        ]]]);
        $detector = DriftDetector::fromModel($model);
        $this->assertTrue($detector->hasPredictions());
        $this->assertSame(['a', 'b'], $detector->featureNames());
        $this->assertEquals($detector->toJson(), DriftDetector::fromModelBytes($model->toBytes())->toJson());

        $verdict = $detector->predictionDrift([0, 2, 4, 6, 8]);
        $this->assertSame(['prediction', false], [$verdict['name'], $verdict['drifted']]);
        $this->assertTrue($detector->predictionDrift([20, 21, 22, 23, 24])['drifted']);
        $report = $detector->report(['a' => array_map(fn ($r) => $r[0] + 40, $rows), 'b' => array_column($rows, 1)]);
        $this->assertSame([true, false], array_column($report['features'], 'drifted'));
        // Reloaded from its stored JSON, the detector answers the same.
        $this->assertEquals($report, DriftDetector::fromReference($detector->toJson())->report(
            ['b' => array_column($rows, 1), 'a' => array_map(fn ($r) => $r[0] + 40, $rows)]
        ));
    }

    /** @return iterable<string, array{callable(): mixed, class-string, string}> */
    public static function badInput(): iterable
    {
        $ok = ['x' => [1, 2, 3]];
        yield 'empty reference' => [
            fn () => DriftDetector::compare([], $ok),
            InvalidArgumentException::class,
            'no feature columns',
        ];
        yield 'no rows' => [
            fn () => DriftDetector::compare(['x' => []], $ok),
            InvalidArgumentException::class,
            'no rows',
        ];
        yield 'list of rows' => [
            fn () => DriftDetector::compare([[1, 2], [3, 4]], $ok),
            InvalidArgumentException::class,
            'keyed by feature name',
        ];
        yield 'ragged columns' => [
            fn () => DriftDetector::compare(['x' => [1, 2], 'y' => [1]], $ok),
            InvalidArgumentException::class,
            "'y' has 1 values",
        ];
        yield 'string value' => [
            fn () => DriftDetector::compare(['x' => [1, 'US', 3]], $ok),
            InvalidArgumentException::class,
            "'x' row 1 must be a number",
        ];
        yield 'missing feature' => [
            fn () => DriftDetector::compare(['x' => [1], 'y' => [2]], $ok),
            InvalidArgumentException::class,
            "lacks feature 'y'",
        ];
        yield 'extra feature' => [
            fn () => DriftDetector::compare($ok, ['x' => [1], 'z' => [2]]),
            InvalidArgumentException::class,
            'not features of the reference: z',
        ];
        yield 'NaN-only column' => [
            fn () => DriftDetector::compare($ok, ['x' => [NAN, null]]),
            InvalidArgumentException::class,
            "'x': the current sample has no finite values",
        ];
        yield 'unknown categorical' => [
            fn () => DriftDetector::compare($ok, $ok, ['categorical' => ['nope']]),
            InvalidArgumentException::class,
            "'nope' is not a column",
        ];
        yield 'unknown config key' => [
            fn () => DriftDetector::compare($ok, $ok, ['alpha' => 0.01]),
            ParseException::class,
            'alpha',
        ];
        yield 'config out of range' => [
            fn () => DriftDetector::compare($ok, $ok, ['p_value_threshold' => 1.5]),
            InvalidArgumentException::class,
            'p_value_threshold',
        ];
        yield 'chi2 on numeric' => [
            fn () => DriftDetector::compare($ok, $ok, ['numeric_test' => 'chi2']),
            InvalidArgumentException::class,
            'chi2',
        ];
        yield 'bound below 2' => [
            fn () => DriftDetector::buildReference($ok, [], 1),
            InvalidArgumentException::class,
            'at least 2',
        ];
        yield 'negative bound' => [
            fn () => DriftDetector::buildReference($ok, [], -1),
            InvalidArgumentException::class,
            '>= 0',
        ];
        yield 'malformed reference' => [
            fn () => DriftDetector::fromReference('{"max_per_feature": 10, "features": ['),
            ParseException::class,
            'drift reference',
        ];
        yield 'empty reference json' => [
            fn () => DriftDetector::fromReference(''),
            ParseException::class,
            'parse error',
        ];
        yield 'garbage model bytes' => [
            fn () => DriftDetector::fromModelBytes('not a model'),
            BadModelFileException::class,
            'bad model file',
        ];
        yield 'empty model bytes' => [
            fn () => DriftDetector::fromModelBytes(''),
            BadModelFileException::class,
            'bad model file',
        ];
        yield 'not a model' => [
            fn () => DriftDetector::fromModel(new \stdClass()),
            InvalidArgumentException::class,
            'toBytes',
        ];
        yield 'no predictions' => [
            fn () => DriftDetector::buildReference($ok)->predictionDrift([1.0]),
            InvalidArgumentException::class,
            'no reference predictions',
        ];
        yield 'empty predictions' => [
            fn () => DriftDetector::buildReference($ok)->report(['x' => []]),
            InvalidArgumentException::class,
            'no rows',
        ];
    }

    /**
     * @dataProvider badInput
     * @param callable(): mixed $call
     * @param class-string<\Throwable> $class
     */
    public function testBadInputIsAClearError(callable $call, string $class, string $message): void
    {
        $this->expectException($class);
        $this->expectExceptionMessage($message);
        $call();
    }

    public function testDamagedStoredReferenceIsRefused(): void
    {
        $json = DriftDetector::buildReference(['x' => range(1, 50)], [], 10)->toJson();
        $unsorted = preg_replace('/"values":\[1\.0,/', '"values":[99.0,', $json);
        $this->assertNotSame($json, $unsorted);
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('sorted');
        DriftDetector::fromReference((string) $unsorted);
    }
}
