<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\IoException;
use TenantMl\Exception\ParseException;
use TenantMl\Model;

/**
 * TenantMl\Model through FFI: fitting, predicting, explaining, bytes and files,
 * and bad input with the exact exception class, code and message.
 */
final class ModelTest extends TestCase
{
    private const NAMES = ['load', 'hour', 'noise'];

    /**
     * Seeded rows of three features in [0, 10) and the regression target
     * 2 * load + hour (noise does not matter).
     *
     * @return array{list<list<float>>, list<float>}
     */
    private static function regressionData(int $n = 300, int $seed = 1): array
    {
        mt_srand($seed);
        $rows = [];
        $targets = [];
        for ($i = 0; $i < $n; $i++) {
            $row = [mt_rand(0, 999) / 100, mt_rand(0, 999) / 100, mt_rand(0, 999) / 100];
            $rows[] = $row;
            $targets[] = 2.0 * $row[0] + $row[1];
        }
        return [$rows, $targets];
    }

    /**
     * The same rows with the binary target load + hour > 10.
     *
     * @return array{list<list<float>>, list<int>}
     */
    private static function binaryData(int $n = 300, int $seed = 1): array
    {
        [$rows] = self::regressionData($n, $seed);
        return [$rows, array_map(static fn (array $r): int => $r[0] + $r[1] > 10.0 ? 1 : 0, $rows)];
    }

    private static function regressionModel(array $params = []): Model
    {
        [$rows, $targets] = self::regressionData();
        return Model::fit($rows, $targets, $params + [
            'gbdt' => ['rounds' => 40, 'min_samples_leaf' => 5],
            'feature_names' => self::NAMES,
            'seed' => 7,
        ]);
    }

    /** Mean absolute error on fresh rows. */
    private static function meanAbsoluteError(Model $model): float
    {
        [$rows, $targets] = self::regressionData(200, 2);
        $error = 0.0;
        foreach ($model->predict($rows) as $i => $p) {
            $error += abs($p - $targets[$i]);
        }
        return $error / count($rows);
    }

    public function testRegressionGbdtLearnsTheSignal(): void
    {
        $model = self::regressionModel();

        // Targets span 0..30; predicting the mean would be off by about 5.
        $this->assertLessThan(1.5, self::meanAbsoluteError($model));
        $this->assertSame(3, $model->nFeatures());
        $this->assertSame('regression', $model->info()['task']);
        $this->assertSame('gbdt', $model->info()['kind']);
    }

    public function testBinaryGivesProbabilitiesThatSeparateTheClasses(): void
    {
        [$rows, $labels] = self::binaryData();
        $model = Model::fit($rows, $labels, ['task' => 'binary', 'gbdt' => ['rounds' => 40], 'seed' => 3]);
        [$testRows, $testLabels] = self::binaryData(200, 2);

        $p = $model->predict($testRows);
        $this->assertGreaterThanOrEqual(0.0, min($p));
        $this->assertLessThanOrEqual(1.0, max($p));
        $correct = 0;
        foreach ($p as $i => $prob) {
            $correct += (int) (($prob > 0.5) === ($testLabels[$i] === 1));
        }
        $this->assertGreaterThan(0.9, $correct / count($p));
        $this->assertSame('binary', $model->info()['task']);
    }

    public function testCalibratedBinaryBlendSaysSoInItsInfo(): void
    {
        [$rows, $labels] = self::binaryData();
        $model = Model::fit($rows, $labels, [
            'task' => 'binary',
            'model' => 'blend',
            'calibration' => 'platt',
            'gbdt' => ['rounds' => 20],
            'forest' => ['trees' => 10],
        ]);

        $info = $model->info();
        $this->assertTrue($info['calibrated']);
        $this->assertSame('blend', $info['kind']);
        $probability = $model->predictRow([9.0, 9.0, 5.0]);
        $this->assertGreaterThan(0.5, $probability);
        $this->assertLessThanOrEqual(1.0, $probability);
    }

    public function testForestLearnsTheSignal(): void
    {
        $model = self::regressionModel(['model' => 'forest', 'forest' => ['trees' => 20]]);

        $this->assertSame('forest', $model->info()['kind']);
        $this->assertSame(0.0, (float) $model->info()['gbdt_weight']);
        $this->assertLessThan(2.0, self::meanAbsoluteError($model));
    }

    public function testBlendLearnsItsWeightOnHeldOutRows(): void
    {
        $model = self::regressionModel(['model' => 'blend', 'forest' => ['trees' => 20]]);

        $info = $model->info();
        $this->assertSame('blend', $info['kind']);
        $this->assertGreaterThanOrEqual(0.0, $info['gbdt_weight']);
        $this->assertLessThanOrEqual(1.0, $info['gbdt_weight']);
        $this->assertArrayHasKey('valid_mae', $info['metadata']['training_metrics']);
        $this->assertLessThan(2.0, self::meanAbsoluteError($model));
    }

    public function testBatchPredictEqualsPredictRowForEveryRow(): void
    {
        $model = self::regressionModel(['model' => 'blend', 'forest' => ['trees' => 10]]);
        [$rows] = self::regressionData(100, 3);
        $rows[5][1] = null;
        $rows[6] = [4, 2, 0];

        $batch = $model->predict($rows);

        $this->assertCount(100, $batch);
        foreach ($rows as $i => $row) {
            $this->assertSame($batch[$i], $model->predictRow($row), "row {$i}");
        }
    }

    public function testPredictOfNoRowsIsEmpty(): void
    {
        $this->assertSame([], self::regressionModel()->predict([]));
    }

    public function testNullIsAMissingValue(): void
    {
        $model = self::regressionModel();

        $this->assertSame($model->predictRow([5.0, NAN, 1.0]), $model->predictRow([5.0, null, 1.0]));
        $this->assertSame($model->predict([[5.0, NAN, 1.0]]), $model->predict([[5.0, null, 1.0]]));
    }

    public function testIntegersArePredictedAsFloats(): void
    {
        $model = self::regressionModel();

        $this->assertSame($model->predictRow([5.0, 2.0, 1.0]), $model->predictRow([5, 2, 1]));
    }

    public function testPredictAssocMapsNamesAndTreatsAbsentOnesAsMissing(): void
    {
        $model = self::regressionModel();

        $this->assertSame(
            $model->predictRow([5.0, 2.0, 1.0]),
            $model->predictAssoc(['noise' => 1.0, 'load' => 5.0, 'hour' => 2.0])
        );
        $this->assertSame($model->predictRow([5.0, NAN, NAN]), $model->predictAssoc(['load' => 5.0]));
    }

    public function testPredictAssocRejectsAnUnknownName(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage(
            "invalid argument: unknown feature 'hours'; the model's features are load, hour, noise"
        );
        self::regressionModel()->predictAssoc(['load' => 5.0, 'hours' => 2.0]);
    }

    public function testExplainContributionsAddUpToThePrediction(): void
    {
        $model = self::regressionModel();
        $row = [8.0, 3.0, 5.0];

        $e = $model->explain($row);

        $this->assertSame($model->predictRow($row), $e['prediction']);
        $this->assertCount(3, $e['contributions']);
        $this->assertEqualsWithDelta($e['prediction'], $e['expected_value'] + array_sum($e['contributions']), 1e-9);
    }

    public function testExplainReasonsCarryFeatureNames(): void
    {
        $model = self::regressionModel();

        $e = $model->explain([9.5, 9.5, 5.0], 2);

        $this->assertCount(2, $e['reasons']);
        // High load and hour push the prediction up, load (weight 2) the most.
        $this->assertSame(['load', 'hour'], array_column($e['reasons'], 'name'));
        $this->assertSame([0, 1], array_column($e['reasons'], 'feature'));
        $this->assertEquals(9.5, $e['reasons'][0]['value']);
        $this->assertSame($e['contributions'][0], $e['reasons'][0]['contribution']);
        $this->assertGreaterThan(0.0, $e['reasons'][1]['contribution']);
    }

    public function testExplainDecreasingGivesReasonsPushingDown(): void
    {
        $e = self::regressionModel()->explain([0.5, 0.5, 5.0], 3, 'decreasing');

        $this->assertNotEmpty($e['reasons']);
        $this->assertSame('load', $e['reasons'][0]['name']);
        foreach ($e['reasons'] as $reason) {
            $this->assertLessThan(0.0, $reason['contribution']);
        }
    }

    public function testExplainAcceptsARowKeyedByName(): void
    {
        $model = self::regressionModel();

        $this->assertSame(
            $model->explain([8.0, 3.0, NAN], 3, 'both'),
            $model->explain(['hour' => 3.0, 'load' => 8.0], 3, 'both')
        );
    }

    public function testExplainRejectsAnUnknownDirection(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(1);
        $this->expectExceptionMessage(
            "invalid argument: direction must be 'increasing', 'decreasing' or 'both', got 'up'"
        );
        self::regressionModel()->explain([1.0, 2.0, 3.0], 3, 'up');
    }

    public function testImportanceIsKeyedByFeatureName(): void
    {
        $importance = self::regressionModel()->importance();

        $this->assertSame(self::NAMES, array_keys($importance));
        $this->assertEqualsWithDelta(1.0, array_sum($importance), 1e-9);
        $this->assertSame('load', array_search(max($importance), $importance, true));
        $this->assertLessThan(0.05, $importance['noise']);
    }

    public function testFeatureNamesDefaultToColumnNumbers(): void
    {
        [$rows, $targets] = self::regressionData();
        $model = Model::fit($rows, $targets, ['gbdt' => ['rounds' => 5]]);

        $this->assertSame(['f0', 'f1', 'f2'], $model->featureNames());
    }

    public function testEmptyNestedParametersAreObjects(): void
    {
        [$rows, $targets] = self::regressionData(50);
        $model = Model::fit($rows, $targets, ['gbdt' => [], 'forest' => []]);

        $this->assertSame('gbdt', $model->info()['kind']);
    }

    public function testValidationSetDrivesEarlyStopping(): void
    {
        [$rows, $targets] = self::regressionData();
        [$validRows, $validTargets] = self::regressionData(100, 4);
        $params = ['gbdt' => ['rounds' => 300, 'learning_rate' => 0.5]];
        $weights = array_fill(0, count($rows), 1.0);

        $full = Model::fit($rows, $targets, $params, $weights, $validRows, $validTargets);
        $params['gbdt']['early_stopping_rounds'] = 3;
        $stopped = Model::fit($rows, $targets, $params, $weights, $validRows, $validTargets);

        $this->assertLessThan(2.0, self::meanAbsoluteError($stopped));
        $this->assertLessThan(
            strlen($full->toBytes()) / 2,
            strlen($stopped->toBytes()),
            'early stopping kept fewer than half of the 300 rounds'
        );
    }

    public function testBytesRoundTripGivesIdenticalPredictions(): void
    {
        $model = self::regressionModel(['model' => 'blend', 'forest' => ['trees' => 10]]);
        [$rows] = self::regressionData(50, 5);

        $copy = Model::fromBytes($model->toBytes());

        $this->assertSame($model->predict($rows), $copy->predict($rows));
        $this->assertSame($model->info(), $copy->info());
        $this->assertSame($model->toBytes(), $copy->toBytes());
    }

    public function testSaveAndLoad(): void
    {
        $model = self::regressionModel();
        $path = $this->tempDir() . '/usage.tml';

        $model->save($path);
        $loaded = Model::load($path);

        $this->assertSame($model->toBytes(), file_get_contents($path));
        $this->assertSame($model->predictRow([1.0, 2.0, 3.0]), $loaded->predictRow([1.0, 2.0, 3.0]));
        $this->assertSame(self::NAMES, $loaded->featureNames());
    }

    public function testMetadataTravelsWithTheBytes(): void
    {
        $model = self::regressionModel();
        $model->setMetadata([
            'name' => 'usage-forecast',
            'version' => 3,
            'created_at' => '2026-11-27T10:00:00Z',
            'training_metrics' => ['mae' => 0.25],
            'extra' => ['tenant' => 'acme', 'features' => ['a', 'b']],
        ]);
        $model->setMetadata(['version' => 4]);

        $meta = Model::fromBytes($model->toBytes())->info()['metadata'];

        $this->assertSame('usage-forecast', $meta['name']);
        $this->assertSame(4, $meta['version']);
        $this->assertSame('2026-11-27T10:00:00Z', $meta['created_at']);
        $this->assertSame(0.25, $meta['training_metrics']['mae']);
        // Kept as a JSON object with sorted keys, beside the drift reference stored at fit.
        $this->assertArrayHasKey('drift_reference', $meta['extra']);
        unset($meta['extra']['drift_reference']);
        $this->assertSame(['features' => ['a', 'b'], 'tenant' => 'acme'], $meta['extra']);
    }

    public function testUnknownMetadataKeyIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('parse error: model metadata: unknown field `owner`, expected one of');
        self::regressionModel()->setMetadata(['owner' => 'ops']);
    }

    public function testSerializeCarriesTheModel(): void
    {
        $model = self::regressionModel();

        $copy = unserialize(serialize($model));

        $this->assertInstanceOf(Model::class, $copy);
        $this->assertSame($model->predictRow([1.0, 2.0, 3.0]), $copy->predictRow([1.0, 2.0, 3.0]));
    }

    public function testCloneIsRefusedBecauseTheHandleIsOwned(): void
    {
        $model = self::regressionModel();

        $this->expectException(\Error::class);
        $this->expectExceptionMessage('Call to private TenantMl\Model::__clone()');
        $copy = clone $model;
    }

    // ---- bad input ------------------------------------------------------------------

    public function testEmptyRowsAreRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(1);
        $this->expectExceptionMessage('invalid argument: rows is empty: at least one row is needed');
        Model::fit([], []);
    }

    public function testRowsWithoutFeaturesAreRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rows[0] is empty: rows need at least one feature');
        Model::fit([[], []], [1.0, 2.0]);
    }

    public function testRaggedRowsAreRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rows[2] has 2 values but rows[0] has 3');
        Model::fit([[1, 2, 3], [4, 5, 6], [7, 8]], [1, 2, 3]);
    }

    public function testNonNumericValueIsRejectedWithItsPosition(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rows[1][2] is not a number (string)');
        Model::fit([[1, 2, 3], [4, 5, '6']], [1, 2]);
    }

    public function testRowKeyedByNameIsRejectedByFit(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rows[0] must be a list of numbers, got an array with keys');
        Model::fit([['load' => 1.0]], [1.0]);
    }

    public function testTargetCountMustMatchRows(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: training data has 3 rows but 2 targets');
        Model::fit([[1], [2], [3]], [1, 2]);
    }

    public function testNullTargetIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: targets[1] is not a number (null)');
        Model::fit([[1], [2]], [1, null]);
    }

    public function testNanTargetIsRefusedByTheLibraryWithItsIndex(): void
    {
        [$rows, $targets] = self::regressionData(50);
        $targets[17] = NAN;

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(1);
        $this->expectExceptionMessage('invalid argument: target 17 must be a finite number for squared_error, got NaN');
        Model::fit($rows, $targets, ['gbdt' => ['rounds' => 5]]);
    }

    public function testInfiniteTargetIsRefusedByTheLibraryWithItsIndex(): void
    {
        [$rows, $targets] = self::regressionData(50);
        $targets[3] = -INF;

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: target 3 must be a finite number for squared_error, got -inf');
        Model::fit($rows, $targets, ['gbdt' => ['rounds' => 5]]);
    }

    public function testBinaryTargetOtherThanZeroOrOneIsRefused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: target 1 must be 0 or 1 for log_loss, got 2');
        Model::fit([[1], [2], [3]], [0, 2, 1], ['task' => 'binary']);
    }

    public function testWeightCountMustMatchRows(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: 1 weights for 2 rows');
        Model::fit([[1], [2]], [1, 2], [], [1.0]);
    }

    public function testNegativeWeightIsRefusedByTheLibrary(): void
    {
        [$rows, $targets] = self::regressionData(50);

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: weight 0 must be a finite number >= 0, got -1');
        Model::fit($rows, $targets, [], array_fill(0, 50, -1.0));
    }

    public function testValidationRowsNeedTheirTargets(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: validRows and validTargets must be given together');
        Model::fit([[1], [2]], [1, 2], [], null, [[1]]);
    }

    public function testValidationRowsMustHaveTheTrainingWidth(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: validRows[0] has 2 values but the training rows have 1');
        Model::fit([[1], [2]], [1, 2], [], null, [[1, 2]], [1]);
    }

    public function testZeroRoundsIsInvalid(): void
    {
        [$rows, $targets] = self::regressionData(50);

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rounds must be at least 1, got 0');
        Model::fit($rows, $targets, ['gbdt' => ['rounds' => 0]]);
    }

    public function testCalibratingARegressionIsInvalid(): void
    {
        [$rows, $targets] = self::regressionData(50);

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage(
            'invalid argument: calibration applies to binary models only (task is regression)'
        );
        Model::fit($rows, $targets, ['calibration' => 'platt']);
    }

    public function testFeatureNamesMustMatchTheColumns(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: 2 feature names for 3 features');
        Model::fit([[1, 2, 3]], [1], ['feature_names' => ['load', 'hour']]);
    }

    public function testUnknownTaskIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionCode(3);
        $this->expectExceptionMessage(
            'parse error: model parameters: unknown variant `multiclass`, expected `regression` or `binary`'
        );
        Model::fit([[1], [2]], [1, 2], ['task' => 'multiclass']);
    }

    public function testUnknownParameterIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage(
            'parse error: model parameters: unknown field `learning_rate`, expected one of `task`'
        );
        Model::fit([[1], [2]], [1, 2], ['learning_rate' => 0.1]);
    }

    public function testUnknownNestedParameterIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage(
            'parse error: model parameters: unknown field `rouns`, expected one of `objective`'
        );
        Model::fit([[1], [2]], [1, 2], ['gbdt' => ['rouns' => 3]]);
    }

    public function testParameterThatCannotBeJsonIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('parse error: cannot encode as JSON: Inf and NaN cannot be JSON encoded');
        Model::fit([[1], [2]], [1, 2], ['gbdt' => ['learning_rate' => NAN]]);
    }

    public function testGarbageBytesAreABadModelFile(): void
    {
        $this->expectException(BadModelFileException::class);
        $this->expectExceptionCode(100);
        $this->expectExceptionMessage('bad model file: not a tenantml model file (the magic bytes are wrong)');
        Model::fromBytes(str_repeat('not a model ', 20));
    }

    public function testTruncatedBytesAreABadModelFile(): void
    {
        $bytes = self::regressionModel()->toBytes();

        $this->expectException(BadModelFileException::class);
        $this->expectExceptionMessage(sprintf(
            'bad model file: truncated: the header announces %d bytes but there are 100',
            strlen($bytes)
        ));
        Model::fromBytes(substr($bytes, 0, 100));
    }

    public function testCorruptedBytesAreABadModelFile(): void
    {
        $bytes = self::regressionModel()->toBytes();
        $middle = intdiv(strlen($bytes), 2);
        $bytes[$middle] = chr(ord($bytes[$middle]) ^ 1);

        $this->expectException(BadModelFileException::class);
        $this->expectExceptionMessageMatches(
            '/^bad model file: corrupted: checksum 0x[0-9a-f]{8} does not match the stored 0x[0-9a-f]{8}$/'
        );
        Model::fromBytes($bytes);
    }

    public function testEmptyBytesAreABadModelFile(): void
    {
        $this->expectException(BadModelFileException::class);
        $this->expectExceptionMessage('bad model file: the input is empty: not a tenantml model file');
        Model::fromBytes('');
    }

    public function testLoadingAMissingFileIsAnIoError(): void
    {
        $path = $this->tempDir() . '/missing.tml';

        $this->expectException(IoException::class);
        $this->expectExceptionCode(4);
        $this->expectExceptionMessage("I/O error: opening {$path}: No such file or directory (os error 2)");
        Model::load($path);
    }

    public function testLoadingAForeignFileIsABadModelFile(): void
    {
        $path = $this->tempDir() . '/notes.txt';
        file_put_contents($path, str_repeat("meeting notes, not a model\n", 10));

        $this->expectException(BadModelFileException::class);
        $this->expectExceptionMessage('not a tenantml model file');
        Model::load($path);
    }

    public function testSavingIntoAMissingDirectoryIsAnIoError(): void
    {
        $dir = $this->tempDir() . '/missing';

        $this->expectException(IoException::class);
        $this->expectExceptionMessage("I/O error: creating {$dir}/.usage.tml.tmp-");
        self::regressionModel()->save("{$dir}/usage.tml");
    }

    public function testPathWithANulByteIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: path contains a NUL byte');
        Model::load("/tmp/a\0b.tml");
    }

    public function testPredictRowOfTheWrongLengthIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(1);
        $this->expectExceptionMessage('invalid argument: row has 2 features, the model 3');
        self::regressionModel()->predictRow([1.0, 2.0]);
    }

    public function testPredictRowOfANonNumberIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: row[1] is not a number (bool)');
        self::regressionModel()->predictRow([1.0, true, 3.0]);
    }

    public function testPredictRowKeyedByNameIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage(
            'invalid argument: row must be a list of values in feature order; '
            . 'use predictAssoc() for a row keyed by feature name'
        );
        self::regressionModel()->predictRow(['load' => 1.0, 'hour' => 2.0, 'noise' => 3.0]);
    }

    public function testBatchRowOfTheWrongLengthIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: rows[1] has 4 values but the model has 3 features');
        self::regressionModel()->predict([[1, 2, 3], [1, 2, 3, 4]]);
    }

    public function testExplainRowOfTheWrongLengthIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: row has 1 features, the model 3');
        self::regressionModel()->explain([1.0]);
    }
}
