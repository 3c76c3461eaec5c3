<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;

/**
 * A fitted tree model (gradient boosting, random forest, or a blend of both),
 * for regression or binary classification, with per-prediction reasons.
 *
 *     $model = Model::fit($rows, $targets, [
 *         'task' => 'binary',
 *         'model' => 'blend',
 *         'gbdt' => ['rounds' => 300, 'learning_rate' => 0.05],
 *         'calibration' => 'platt',
 *         'feature_names' => ['amount', 'hour', 'velocity_1h'],
 *     ]);
 *     $p = $model->predictRow([129.0, 3, 7]);          // probability of the positive class
 *     $why = $model->explain([129.0, 3, 7], 3);         // top-3 reasons pushing it up
 *     Storage::put('models/fraud.tml', $model->toBytes());
 *     $same = Model::fromBytes(Storage::get('models/fraud.tml'));
 *
 * Rows are lists of int|float|null values, one per feature, in the order of
 * the training rows; null (or NAN) marks a missing value. Feature names are a
 * model parameter (`$params['feature_names']`); without them the features
 * are called f0, f1, ...
 *
 * The instance owns its native handle and frees it in __destruct. predictRow()
 * is the hot path: it writes into a row buffer allocated once per model and
 * makes one FFI call.
 */
final class Model
{
    use NativeFile;

    /** explain() directions and their tml_model_explain_json codes. */
    private const DIRECTIONS = ['increasing' => 0, 'decreasing' => 1, 'both' => 2];

    /** Parameter keys that hold JSON objects (an empty PHP array must be sent as {}). */
    private const OBJECT_KEYS = ['gbdt', 'forest', 'training_metrics', 'extra'];

    private ?CData $handle;
    private int $nFeatures;
    /** double[nFeatures]: the row predictRow() and explain() hand to the library. */
    private CData $row;
    private int $rowBytes;
    /** double: the value tml_model_predict_row writes, and a pointer to it. */
    private CData $out;
    private CData $outPtr;
    /** @var list<string>|null */
    private ?array $names = null;
    /** @var array<string, int>|null feature name => column */
    private ?array $columns = null;

    private function __construct(private readonly FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
        $this->init();
    }

    /**
     * Fit a model.
     *
     * @param list<list<int|float|null>> $rows training rows, all of the same length (null = missing)
     * @param list<int|float> $targets one per row: the value (regression) or 0/1 (binary)
     * @param array<string, mixed> $params model parameters, as the library's ModelParams:
     *        task ("regression"|"binary"), model ("gbdt"|"forest"|"blend"),
     *        gbdt {rounds, learning_rate, max_leaves, max_depth, min_samples_leaf,
     *        early_stopping_rounds, feature_fraction, bagging_fraction, seed, ...},
     *        forest {trees, max_leaves, min_samples_leaf, features_per_split, bootstrap, ...},
     *        calibration ("none"|"platt"|"isotonic"), holdout_fraction (0, 0.5],
     *        feature_names (list of unique non-empty strings, one per column), seed.
     *        Unknown keys are a ParseException. [] = library defaults.
     * @param list<int|float>|null $weights one non-negative weight per row, or null for equal weights
     * @param list<list<int|float|null>>|null $validRows validation rows (early stopping, blend
     *        weight, calibration); without them a blend or calibrated model holds out
     *        holdout_fraction of $rows
     * @param list<int|float>|null $validTargets one per validation row
     * @throws InvalidArgumentException for malformed input (checked here before any native call) or
     *         data/parameters the library refuses (e.g. a NaN target, zero rounds)
     * @throws ParseException for unknown or mistyped parameters
     */
    public static function fit(
        array $rows,
        array $targets,
        array $params = [],
        ?array $weights = null,
        ?array $validRows = null,
        ?array $validTargets = null,
    ): self {
        [$x, $nRows, $nFeatures] = self::packMatrix($rows, 'rows', null, '%s[%d] has %d values but rows[0] has %d');
        if (count($targets) !== $nRows) {
            throw self::invalid(sprintf('training data has %d rows but %d targets', $nRows, count($targets)));
        }
        $y = self::packVector($targets, 'targets');
        $w = null;
        if ($weights !== null) {
            if (count($weights) !== $nRows) {
                throw self::invalid(sprintf('%d weights for %d rows', count($weights), $nRows));
            }
            $w = self::packVector($weights, 'weights');
        }
        $vx = null;
        $vy = null;
        $nValid = 0;
        if (($validRows === null) !== ($validTargets === null)) {
            throw self::invalid('validRows and validTargets must be given together');
        }
        if ($validRows !== null && $validTargets !== null) {
            [$vx, $nValid] = self::packMatrix(
                $validRows,
                'validRows',
                $nFeatures,
                '%s[%d] has %d values but the training rows have %d'
            );
            if (count($validTargets) !== $nValid) {
                throw self::invalid(sprintf(
                    'validation data has %d rows but %d targets',
                    $nValid,
                    count($validTargets)
                ));
            }
            $vy = self::packVector($validTargets, 'validTargets');
        }
        $json = self::encode($params);

        $ffi = Native::ffi();
        $out = $ffi->new('TmlModel*');
        $status = $ffi->tml_model_fit(
            self::buffer($ffi, $x),
            $nRows,
            $nFeatures,
            self::buffer($ffi, $y),
            $w === null ? null : self::buffer($ffi, $w),
            $vx === null ? null : self::buffer($ffi, $vx),
            $vy === null ? null : self::buffer($ffi, $vy),
            $nValid,
            $json,
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * One prediction: the value (regression) or the probability of class 1 (binary).
     *
     * @param list<int|float|null> $row nFeatures() values in training order (null = missing);
     *        for a row keyed by feature name use predictAssoc()
     * @throws InvalidArgumentException when the row has the wrong length, is not a list, or holds a non-number
     */
    public function predictRow(array $row): float
    {
        if (count($row) !== $this->nFeatures || !array_is_list($row)) {
            throw $this->badRow($row, 'row');
        }
        try {
            $packed = self::packRow(...$row);
        } catch (\TypeError) {
            $packed = pack('d*', ...self::cleanRow($row, 'row'));
        }
        FFI::memcpy($this->row, $packed, $this->rowBytes);
        $status = $this->ffi->tml_model_predict_row($this->handle, $this->row, $this->nFeatures, $this->outPtr);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return $this->out->cdata;
    }

    /**
     * One prediction from a row keyed by feature name; absent features are missing (NAN).
     *
     * @param array<string, int|float|null> $namedRow
     * @throws InvalidArgumentException for a name the model does not know
     */
    public function predictAssoc(array $namedRow): float
    {
        return $this->predictRow($this->rowFromNames($namedRow));
    }

    /**
     * Predictions for many rows in one native call.
     *
     * @param list<list<int|float|null>> $rows
     * @return list<float> one per row, in order ([] for no rows)
     */
    public function predict(array $rows): array
    {
        if ($rows === []) {
            return [];
        }
        [$x, $nRows] = self::packMatrix(
            $rows,
            'rows',
            $this->nFeatures,
            '%s[%d] has %d values but the model has %d features'
        );
        $values = $this->ffi->new("double[{$nRows}]");
        $status = $this->ffi->tml_model_predict(
            $this->handle,
            self::buffer($this->ffi, $x),
            $nRows,
            $this->nFeatures,
            $values,
            $nRows
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return array_values(unpack('d*', FFI::string($values, $nRows * 8)));
    }

    /**
     * Why the model predicts what it does for one row (TreeSHAP).
     *
     * `expected_value + sum(contributions)` is the explained score: the prediction for
     * regression; for binary gbdt the log-odds of the uncalibrated probability.
     *
     * @param array<int|string, int|float|null> $row a list of nFeatures() values, or a row keyed by feature name
     * @param int $topK how many reasons to return
     * @param string $direction reasons pushing the prediction up ("increasing"), down ("decreasing") or "both"
     * @return array{prediction: float, expected_value: float, contributions: list<float>,
     *         reasons: list<array{feature: int, name: string, value: float|null, contribution: float}>}
     */
    public function explain(array $row, int $topK = 3, string $direction = 'increasing'): array
    {
        $code = self::DIRECTIONS[$direction] ?? throw self::invalid(sprintf(
            "direction must be 'increasing', 'decreasing' or 'both', got '%s'",
            $direction
        ));
        if ($topK < 0) {
            throw self::invalid("topK must be >= 0, got {$topK}");
        }
        if (!array_is_list($row)) {
            $row = $this->rowFromNames($row);
        } elseif (count($row) !== $this->nFeatures) {
            throw $this->badRow($row, 'row');
        }
        FFI::memcpy($this->row, pack('d*', ...self::cleanRow($row, 'row')), $this->rowBytes);
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_model_explain_json(
            $this->handle,
            $this->row,
            $this->nFeatures,
            $topK,
            $code,
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * Description of the model: task, kind, n_features, feature_names, gbdt_weight
     * (blend share of boosting), calibrated, importance_gain, importance_splits and
     * metadata {name, version, created_at, feature_names, training_metrics, extra, ...}.
     *
     * @return array<string, mixed>
     */
    public function info(): array
    {
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_model_info_json($this->handle, FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /** @return list<string> the feature names, in column order */
    public function featureNames(): array
    {
        return $this->names ??= $this->info()['feature_names'];
    }

    /**
     * Normalised gain importance per feature (sums to 1 when the model split at all).
     *
     * @return array<string, float> feature name => importance, in column order
     */
    public function importance(): array
    {
        $info = $this->info();
        return array_combine($info['feature_names'], array_map('floatval', $info['importance_gain']));
    }

    /** Number of values a row must have. */
    public function nFeatures(): int
    {
        return $this->nFeatures;
    }

    /**
     * Set metadata saved with the model; keys not given are kept.
     *
     * @param array{name?: string, version?: int, created_at?: string,
     *        training_metrics?: array<string, float>, extra?: array<string, mixed>} $meta
     * @throws ParseException for unknown keys or values of the wrong type
     */
    public function setMetadata(array $meta): void
    {
        $status = $this->ffi->tml_model_set_metadata_json($this->handle, self::encode($meta));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
    }

    /** Per-handle state: the row buffer and the output slot. Frees the handle if it fails. */
    private function init(): void
    {
        try {
            $n = $this->ffi->new('size_t');
            $status = $this->ffi->tml_model_n_features($this->handle, FFI::addr($n));
            if ($status !== 0) {
                throw Native::exception($status, $this->ffi);
            }
            $this->nFeatures = (int) $n->cdata;
            $this->row = $this->ffi->new('double[' . max(1, $this->nFeatures) . ']');
            $this->rowBytes = 8 * $this->nFeatures;
            $this->out = $this->ffi->new('double');
            $this->outPtr = FFI::addr($this->out);
        } catch (\Throwable $e) {
            $this->__destruct();
            throw $e;
        }
    }

    /**
     * A list row from a row keyed by feature name (absent names are NAN).
     *
     * @param array<int|string, mixed> $namedRow
     * @return list<mixed>
     */
    private function rowFromNames(array $namedRow): array
    {
        if ($this->columns === null) {
            $this->columns = array_flip($this->featureNames());
        }
        $row = array_fill(0, $this->nFeatures, NAN);
        foreach ($namedRow as $name => $value) {
            $column = $this->columns[$name] ?? null;
            if ($column === null) {
                throw self::invalid(sprintf(
                    "unknown feature '%s'; the model's features are %s",
                    $name,
                    implode(', ', $this->featureNames())
                ));
            }
            $row[$column] = $value;
        }
        return $row;
    }

    /** The exception for a row predictRow() cannot take as it is. */
    private function badRow(array $row, string $what): InvalidArgumentException
    {
        if (!array_is_list($row)) {
            return self::invalid("{$what} must be a list of values in feature order; use predictAssoc() "
                . 'for a row keyed by feature name');
        }
        return self::invalid(sprintf('%s has %d features, the model %d', $what, count($row), $this->nFeatures));
    }

    /**
     * Doubles of a row of int|float values; a TypeError (from the engine's own argument
     * check, faster than a loop in PHP) for anything else, e.g. null.
     */
    private static function packRow(float ...$values): string
    {
        return pack('d*', ...$values);
    }

    /**
     * The row with null as NAN; anything but int|float|null is refused.
     *
     * @param list<mixed> $row
     * @return list<int|float>
     */
    private static function cleanRow(array $row, string $what): array
    {
        foreach ($row as $c => $v) {
            if (!is_float($v) && !is_int($v)) {
                if ($v !== null) {
                    throw self::invalid(sprintf('%s[%d] is not a number (%s)', $what, $c, get_debug_type($v)));
                }
                $row[$c] = NAN;
            }
        }
        return $row;
    }

    /**
     * Validate a list of equal-length rows and pack them row-major as doubles.
     *
     * @param int|null $width required row length, or null to take the first row's
     * @param string $widthMessage sprintf format of the wrong-length message (what, index, length, width)
     * @return array{string, int, int} packed doubles, number of rows, row length
     */
    private static function packMatrix(array $rows, string $what, ?int $width, string $widthMessage): array
    {
        if ($rows === []) {
            throw self::invalid("{$what} is empty: at least one row is needed");
        }
        if (!array_is_list($rows)) {
            throw self::invalid("{$what} must be a list of rows");
        }
        $packed = [];
        foreach ($rows as $r => $row) {
            if (!is_array($row) || !array_is_list($row)) {
                throw self::invalid(sprintf(
                    '%s[%d] must be a list of numbers, got %s',
                    $what,
                    $r,
                    is_array($row) ? 'an array with keys' : get_debug_type($row)
                ));
            }
            if ($width === null) {
                $width = count($row);
                if ($width === 0) {
                    throw self::invalid("{$what}[0] is empty: rows need at least one feature");
                }
            } elseif (count($row) !== $width) {
                throw self::invalid(sprintf($widthMessage, $what, $r, count($row), $width));
            }
            try {
                $packed[] = self::packRow(...$row);
            } catch (\TypeError) {
                $packed[] = pack('d*', ...self::cleanRow($row, "{$what}[{$r}]"));
            }
        }
        return [implode('', $packed), count($rows), $width];
    }

    /**
     * Validate and pack a list of numbers (NAN and INF pass: the library judges them).
     *
     * @param list<mixed> $values
     */
    private static function packVector(array $values, string $what): string
    {
        $i = 0;
        foreach ($values as $key => $v) {
            if ($key !== $i) {
                throw self::invalid("{$what} must be a list of numbers");
            }
            if (!is_float($v) && !is_int($v)) {
                throw self::invalid(sprintf('%s[%d] is not a number (%s)', $what, $i, get_debug_type($v)));
            }
            $i++;
        }
        return pack('d*', ...$values);
    }

    /** A native double[] holding the packed doubles. */
    private static function buffer(FFI $ffi, string $packed): CData
    {
        $len = strlen($packed);
        $buffer = $ffi->new('double[' . intdiv($len, 8) . ']');
        FFI::memcpy($buffer, $packed, $len);
        return $buffer;
    }

    /** JSON object for the library: {} for [], and {} for empty nested objects. */
    private static function encode(array $value): string
    {
        foreach (self::OBJECT_KEYS as $key) {
            if (($value[$key] ?? null) === []) {
                $value[$key] = new \stdClass();
            }
        }
        if ($value === []) {
            return '{}';
        }
        return Native::encodeJson($value) ?? '{}';
    }

    private static function invalid(string $message): InvalidArgumentException
    {
        return new InvalidArgumentException("invalid argument: {$message}", Native::STATUS_INVALID_ARGUMENT);
    }

    /** @return array{0: string, 1: string} the C handle type and the function prefix (NativeFile) */
    private static function native(): array
    {
        return ['TmlModel', 'tml_model'];
    }
}
