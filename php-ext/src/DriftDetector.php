<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;

/**
 * Batch drift detection: is the data a model sees now still like the data it
 * was trained on? Per feature a statistical test (KS and chi-squared with
 * p-values, PSI, normalised Wasserstein, Jensen-Shannon), plus a
 * dataset-level verdict (share of drifted features).
 *
 * Data is given as columns keyed by feature name, the shape a query builder's
 * pluck() gives:
 *
 *     $report = DriftDetector::compare(
 *         ['amount' => $lastMonth->pluck('amount')->all(), 'plan' => [...]],
 *         ['amount' => $thisWeek->pluck('amount')->all(), 'plan' => [...]],
 *         ['categorical' => ['plan'], 'p_value_threshold' => 0.01]
 *     );
 *     if ($report['dataset_drift']) { ... }
 *     foreach ($report['features'] as $f) { // name, test, statistic, p_value, threshold, drifted, ...
 *     }
 *
 * Values are int|float; null or NAN is a missing value, dropped and counted
 * per feature (missing_reference / missing_current). Categorical features hold
 * numeric category codes. Every column of one data set has the same length;
 * the reference and current data sets may differ in length.
 *
 * Without keeping the training data, store a bounded reference and compare
 * against it later:
 *
 *     $json = DriftDetector::buildReference($trainingColumns, ['plan'])->toJson();
 *     Storage::put('drift/reference.json', $json);
 *     $report = DriftDetector::fromReference(Storage::get('drift/reference.json'))->report($current);
 *
 * A model file that stores a drift reference (its training features and
 * predictions) gives one with fromModel($model) / fromModelBytes($bytes), and
 * predictionDrift($recentScores) compares its outputs too.
 *
 * The config (compare() options, report()/predictionDrift() $config) is the
 * library's DriftConfig: numeric_test ('ks' | 'psi' | 'wasserstein' |
 * 'jensen_shannon'), categorical_test ('chi2' | 'psi' | 'jensen_shannon'),
 * feature_tests (name => test), p_value_threshold (0.05), bonferroni (false),
 * psi_threshold (0.1), wasserstein_threshold (0.1), jensen_shannon_threshold
 * (0.1), bins (10), drift_share (0.5). Unknown keys are a ParseException.
 */
final class DriftDetector
{
    /** Config keys whose values are JSON objects. */
    private const OBJECT_KEYS = ['feature_tests'];

    /**
     * @param list<string> $names feature order of the reference
     * @param list<string> $kinds 'numeric' | 'categorical' per feature
     */
    private function __construct(
        private FFI $ffi,
        private string $json,
        private array $names,
        private array $kinds,
        private bool $hasPredictions,
    ) {
    }

    /**
     * Compare two data sets feature by feature.
     *
     * @param array<string, list<int|float|null>> $reference columns keyed by feature name
     * @param array<string, list<int|float|null>> $current the same features (any key order)
     * @param array<string, mixed> $options 'categorical' => list of feature names, and any
     *        DriftConfig key
     * @return array<string, mixed> the DriftReport: features, n_drifted, share_drifted,
     *         drift_share, dataset_drift, bonferroni
     * @throws Exception\InvalidArgumentException for empty, ragged or non-numeric columns,
     *         mismatched features, a feature with no finite value, a config out of range
     * @throws Exception\ParseException for unknown config keys
     */
    public static function compare(array $reference, array $current, array $options = []): array
    {
        $ffi = Native::ffi();
        $categorical = $options['categorical'] ?? [];
        unset($options['categorical']);
        $names = array_map('strval', array_keys($reference));
        $nRef = DriftData::rows($reference, 'reference');
        $nCur = DriftData::rows($current, 'current');
        $ref = DriftData::matrix($ffi, $reference, $names, $nRef, 'reference');
        $cur = DriftData::matrix($ffi, $current, $names, $nCur, 'current');
        $schema = self::schema($names, $categorical);
        $config = DriftData::json($options, self::OBJECT_KEYS);
        $json = DriftData::callString($ffi, fn ($out) => $ffi->tml_drift_report_json(
            $ref,
            $nRef,
            $cur,
            $nCur,
            count($names),
            DriftData::COLUMN_MAJOR,
            $schema,
            $config,
            $out
        ));
        return Native::decodeJson($json);
    }

    /**
     * Summarise training data into a bounded reference (at most $maxPerFeature
     * values per numeric feature, evenly spaced order statistics; exact counts
     * per categorical feature), to store with toJson().
     *
     * @param array<string, list<int|float|null>> $columns columns keyed by feature name
     * @param list<string> $categorical names of the categorical features
     * @param int $maxPerFeature 0 = the library default (2000); otherwise >= 2
     */
    public static function buildReference(array $columns, array $categorical = [], int $maxPerFeature = 0): self
    {
        if ($maxPerFeature < 0) {
            throw DriftData::invalid("maxPerFeature must be >= 0, got {$maxPerFeature}");
        }
        $ffi = Native::ffi();
        $names = array_map('strval', array_keys($columns));
        $rows = DriftData::rows($columns, 'reference');
        $data = DriftData::matrix($ffi, $columns, $names, $rows, 'reference');
        $schema = self::schema($names, $categorical);
        $json = DriftData::callString($ffi, fn ($out) => $ffi->tml_drift_reference_build_json(
            $data,
            $rows,
            count($names),
            DriftData::COLUMN_MAJOR,
            $schema,
            $maxPerFeature,
            $out
        ));
        return self::fromReference($json);
    }

    /**
     * A detector over a stored reference: toJson() output of this class, or a
     * model's drift reference.
     *
     * @throws Exception\ParseException for malformed or damaged JSON
     */
    public static function fromReference(string $json): self
    {
        $ffi = Native::ffi();
        $info = Native::decodeJson(DriftData::callString(
            $ffi,
            fn ($out) => $ffi->tml_drift_reference_info_json(self::cString($json), $out)
        ));
        return new self(
            $ffi,
            $json,
            array_column($info['features'], 'name'),
            array_column($info['features'], 'kind'),
            (bool) $info['predictions'],
        );
    }

    /**
     * The drift reference a model stores (any model class with toBytes(): Model,
     * UsagePredictor, FraudScorer, ChurnPredictor).
     *
     * @throws Exception\InvalidArgumentException when the model stores no drift reference
     */
    public static function fromModel(object $model): self
    {
        if (!method_exists($model, 'toBytes')) {
            throw DriftData::invalid(sprintf('%s has no toBytes(); pass a tenantml model', get_debug_type($model)));
        }
        return self::fromModelBytes($model->toBytes());
    }

    /**
     * The drift reference stored in model file bytes (e.g. from a Laravel disk).
     *
     * @throws Exception\BadModelFileException for empty, truncated, corrupted or foreign bytes
     * @throws Exception\InvalidArgumentException when the model stores no drift reference
     */
    public static function fromModelBytes(string $bytes): self
    {
        $ffi = Native::ffi();
        $data = DriftData::bytes($ffi, $bytes);
        $json = DriftData::callString(
            $ffi,
            fn ($out) => $ffi->tml_drift_model_reference_json($data, strlen($bytes), $out)
        );
        return self::fromReference($json);
    }

    /**
     * Compare current data (columns keyed by the reference's feature names) with the reference.
     *
     * @param array<string, list<int|float|null>> $current
     * @param array<string, mixed> $config DriftConfig keys
     * @return array<string, mixed> the DriftReport
     */
    public function report(array $current, array $config = []): array
    {
        $rows = DriftData::rows($current, 'current');
        $matrix = DriftData::matrix($this->ffi, $current, $this->names, $rows, 'current');
        $json = DriftData::callString($this->ffi, fn ($out) => $this->ffi->tml_drift_reference_report_json(
            $this->json,
            $matrix,
            $rows,
            count($this->names),
            DriftData::COLUMN_MAJOR,
            DriftData::json($config, self::OBJECT_KEYS),
            $out
        ));
        return Native::decodeJson($json);
    }

    /**
     * Compare a model's recent predictions with those stored in its reference.
     *
     * @param list<int|float|null> $recent
     * @param array<string, mixed> $config DriftConfig keys (feature_tests['prediction'] overrides the test)
     * @return array<string, mixed> one feature verdict named 'prediction'
     * @throws Exception\InvalidArgumentException when the reference holds no predictions
     */
    public function predictionDrift(array $recent, array $config = []): array
    {
        $values = DriftData::vector($this->ffi, $recent, 'recent', true);
        $json = DriftData::callString($this->ffi, fn ($out) => $this->ffi->tml_drift_prediction_drift_json(
            $this->json,
            $values,
            count($recent),
            DriftData::json($config, self::OBJECT_KEYS),
            $out
        ));
        return Native::decodeJson($json);
    }

    /** The reference as JSON, for fromReference(). */
    public function toJson(): string
    {
        return $this->json;
    }

    /** @return list<string> feature names, in the reference's order */
    public function featureNames(): array
    {
        return $this->names;
    }

    /** @return array<string, string> feature name => 'numeric' | 'categorical' */
    public function featureKinds(): array
    {
        return array_combine($this->names, $this->kinds);
    }

    /** Whether the reference holds a model's predictions (predictionDrift() needs them). */
    public function hasPredictions(): bool
    {
        return $this->hasPredictions;
    }

    /**
     * @param list<string> $names
     * @param mixed $categorical list of feature names
     */
    private static function schema(array $names, mixed $categorical): string
    {
        if (!is_array($categorical) || !array_is_list($categorical)) {
            throw DriftData::invalid("'categorical' must be a list of feature names");
        }
        $indices = [];
        foreach ($categorical as $name) {
            $i = array_search((string) $name, $names, true);
            if ($i === false) {
                throw DriftData::invalid(sprintf(
                    "categorical feature '%s' is not a column of the data (columns: %s)",
                    $name,
                    implode(', ', $names)
                ));
            }
            $indices[] = $i;
        }
        return (string) DriftData::json(['names' => $names, 'categorical' => $indices]);
    }

    private static function cString(string $s): string
    {
        if (str_contains($s, "\0")) {
            throw DriftData::invalid('the reference JSON contains a NUL byte');
        }
        return $s;
    }
}
