<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;

/**
 * Usage forecasting: a global tree-ensemble forecaster fitted on one tenant's
 * series or on many, with prediction intervals, a cold-start prior for new
 * tenants and a rule-based fallback.
 *
 *     $predictor = UsagePredictor::fitMany([
 *         'tenant-1' => [$timestamps1, $values1],
 *         'tenant-2' => [$timestamps2, $values2],
 *     ], ['time_zone' => 'Europe/Berlin']);
 *     $result = $predictor->forecast($timestamps, $values, 24, [80, 95]);
 *     foreach ($result['rows'] as $row) {
 *         // $row: timestamp, forecast, lower, upper (first level), regime, intervals
 *     }
 *     Storage::put('models/usage.tml', $predictor->toBytes());
 *
 * Timestamps are unix seconds (int) or ISO 8601 strings with an offset
 * ("2024-03-31T02:00:00+02:00", "...Z"); a string without offset is refused,
 * since it is ambiguous across daylight-saving changes. Values are int|float,
 * null (or NAN) for a missing period. Points may come in any order; duplicate
 * timestamps are summed (params 'duplicates' => 'mean'|'last'|'reject').
 *
 * Every forecast says which regime answered: 'model', 'cold_start_prior' (a
 * tenant with no data), 'blended' (the hand-over from prior to model over the
 * first `handover_days` days) or 'fallback' (the rule: average x hour-of-day x
 * day-of-week multipliers), with the model name and version.
 */
final class UsagePredictor
{
    use NativeFile;

    /** TmlRegime codes. */
    private const REGIMES = [0 => 'model', 1 => 'cold_start_prior', 2 => 'blended', 3 => 'fallback'];

    /** The library's longest horizon (MAX_HORIZON), checked before output buffers are allocated. */
    public const MAX_HORIZON = 100_000;

    /** Parameter keys that hold JSON objects (an empty PHP array must be sent as {}). */
    private const OBJECT_KEYS = ['model', 'features', 'anomaly', 'training_metrics', 'extra'];

    private ?CData $handle;
    /** TmlRegime and double out-slots, allocated once per predictor. */
    private CData $regime;
    private CData $weight;
    /** Pointers to them, made once: every forecast passes them. */
    private CData $regimeOut;
    private CData $weightOut;
    /** @var array<string, CData> packed interval levels by their bytes (a few distinct lists) */
    private array $levelBuffers = [];
    /** @var array{0: array, 1: array{0: list<float>, 1: int, 2: ?CData, 3: list<string>}}|null */
    private ?array $lastLevels = null;
    /** Seconds per period, read from the native predictor once. */
    private ?int $frequency = null;
    /** @var array{0: string, 1: int}|null name and version, cached from info() */
    private ?array $nameVersion = null;
    /** @var array<string, array<string, CData|null>> output buffers by shape (horizon:levels) */
    private array $buffers = [];

    private function __construct(private FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
        $this->regime = $ffi->new('TmlRegime');
        $this->weight = $ffi->new('double');
        $this->regimeOut = FFI::addr($this->regime);
        $this->weightOut = FFI::addr($this->weight);
    }

    /**
     * Fit on one series.
     *
     * @param list<int|string> $timestamps unix seconds or ISO 8601 with offset
     * @param list<int|float|null> $values one per timestamp; null = missing
     * @param array<string, mixed> $params the library's ForecastParams: name, version,
     *        frequency (seconds), duplicates, time_zone (IANA), holidays (["YYYY-MM-DD"]),
     *        seasonal_periods, model {gbdt, forest, ...}, transform ("level" |
     *        "seasonal_difference" | "difference" | null = chosen by backtest), levels, calibration_horizon,
     *        calibration_windows, anomaly, learn_handover, handover_days, synthetic_tenants, seed
     * @throws InvalidArgumentException for malformed input or data the library refuses
     * @throws Exception\ParseException for unknown or mistyped parameters
     */
    public static function fit(array $timestamps, array $values, array $params = []): self
    {
        return self::fitMany([[$timestamps, $values]], $params);
    }

    /**
     * Fit one global model on many series (a new tenant borrows strength from
     * all others). Each series is [timestamps, values] or
     * ['timestamps' => ..., 'values' => ...]; keys (tenant ids) are ignored.
     * An empty list fits on synthetic tenants alone and needs params
     * 'frequency' and 'synthetic_tenants'.
     *
     * @param array<array-key, array{0: list<int|string>, 1: list<int|float|null>}|array{timestamps: list<int|string>, values: list<int|float|null>}> $series
     * @param array<string, mixed> $params as fit()
     */
    public static function fitMany(array $series, array $params = []): self
    {
        $ffi = Native::ffi();
        $encoded = self::encode($params);
        return self::fitPacked(
            $ffi,
            $series,
            fn (?CData $t, ?CData $v, int $total, ?CData $lens, int $n, CData $out): int =>
                $ffi->tml_forecaster_fit($t, $v, $total, $lens, $n, $encoded, $out)
        );
    }

    /**
     * Fit the final model again on one series (e.g. the same tenant with more
     * data), keeping what fit() chose: parameters, features, seasonal periods,
     * target transform, intervals, baseline combination and hand-over. Anomaly
     * cleaning, the cold-start prior and the model are redone. The periodic
     * retrain: about a third of the time of fit() on a year of hourly data.
     * Fit again when drift says the series have changed. This predictor stays
     * usable; bump the version of the new one with setMetadata().
     *
     * @param list<int|string> $timestamps
     * @param list<int|float|null> $values
     * @throws InvalidArgumentException for no data, another frequency, or data the library refuses
     */
    public function refit(array $timestamps, array $values): self
    {
        return $this->refitMany([[$timestamps, $values]]);
    }

    /**
     * refit() on many series, as fitMany().
     *
     * @param array<array-key, array{0: list<int|string>, 1: list<int|float|null>}|array{timestamps: list<int|string>, values: list<int|float|null>}> $series
     */
    public function refitMany(array $series): self
    {
        $handle = $this->live();
        return self::fitPacked(
            $this->ffi,
            $series,
            fn (?CData $t, ?CData $v, int $total, ?CData $lens, int $n, CData $out): int =>
                $this->ffi->tml_forecaster_refit($handle, $t, $v, $total, $lens, $n, $out)
        );
    }

    /**
     * Packs many series and runs a native fit into a new predictor.
     *
     * @param callable(?CData, ?CData, int, ?CData, int, CData): int $call
     */
    private static function fitPacked(FFI $ffi, array $series, callable $call): self
    {
        [$t, $v, $lengths] = self::packSeries($series);
        $n = count($lengths);
        $total = array_sum($lengths);
        $lens = $ffi->new('size_t[' . max(1, $n) . ']');
        foreach ($lengths as $i => $len) {
            $lens[$i] = $len;
        }
        $out = $ffi->new('TmlForecaster*');
        $status = $call(
            self::int64Buffer($ffi, $t),
            self::doubleBuffer($ffi, $v),
            $total,
            $n === 0 ? null : $lens,
            $n,
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * Forecast $horizon periods after a tenant's history.
     *
     * With an empty history (a tenant with no data yet) the forecast comes from
     * the cold-start prior and starts at $start (unix seconds or ISO 8601;
     * required then, ignored otherwise).
     *
     * $tenantDays is how many days of data the tenant has in all, when only its
     * recent window is passed (enough for the lags, and faster): the larger of
     * it and the window's own length picks the regime, so a mature tenant is
     * answered by the model even from two weeks of history. 0 = unknown.
     *
     * @param list<int|string> $timestamps
     * @param list<int|float|null> $values
     * @param list<int|float> $levels interval levels in percent, e.g. [80, 95]
     * @return array{model_name: string, model_version: int, regime: string, model_weight: float,
     *         levels: list<float>, rows: list<array{timestamp: int, forecast: float, lower: float|null,
     *         upper: float|null, regime: string, intervals: array<string, array{0: float, 1: float}>}>}
     */
    public function forecast(
        array $timestamps,
        array $values,
        int $horizon,
        array $levels = [80, 95],
        int|string|null $start = null,
        float $tenantDays = 0.0,
    ): array {
        if ($this->onGrid($timestamps, $values)) {
            // Unix seconds exactly one period apart: the grid path, with nothing to sort or merge.
            return $this->forecastGrid($timestamps[0], $values, $horizon, $levels, $tenantDays);
        }
        $handle = $this->live();
        [$t, $v, $n] = self::packPoints($timestamps, $values, 'history');
        $first = 0;
        if ($n === 0) {
            if ($start === null) {
                throw self::invalid('a forecast from an empty history needs $start (the first forecast period)');
            }
            $first = self::timestamp($start, 'start');
        }
        self::checkHorizon($horizon);
        $tBuffer = self::int64Buffer($this->ffi, $t);
        $vBuffer = self::doubleBuffer($this->ffi, $v);
        return $this->run($horizon, $levels, fn (?CData $levelBuffer, int $nLevels, array $out): int =>
            $this->ffi->tml_forecaster_forecast(
                $handle,
                $tBuffer,
                $vBuffer,
                $n,
                $first,
                $horizon,
                $levelBuffer,
                $nLevels,
                $tenantDays,
                $out['timestamps'],
                $out['forecast'],
                $out['lower'],
                $out['upper'],
                $this->regimeOut,
                $this->weightOut
            ));
    }

    /**
     * forecast() for a history already on the predictor's grid: $values[$i] is
     * the period at $start + $i * frequency (null or NAN = missing). No
     * timestamps are packed or sorted: the per-request hot path when usage is
     * stored per period. An empty $values is a tenant with no data, forecast
     * from $start. $tenantDays as in forecast().
     *
     * @param list<int|float|null> $values
     * @param list<int|float> $levels
     * @return array same shape as forecast()
     */
    public function forecastGrid(
        int|string $start,
        array $values,
        int $horizon,
        array $levels = [80, 95],
        float $tenantDays = 0.0,
    ): array {
        $handle = $this->live();
        $first = self::timestamp($start, 'start');
        self::checkHorizon($horizon);
        $n = count($values);
        $vBuffer = self::doubleBuffer($this->ffi, self::packValues($values, 'history'));
        return $this->run($horizon, $levels, fn (?CData $levelBuffer, int $nLevels, array $out): int =>
            $this->ffi->tml_forecaster_forecast_grid(
                $handle,
                $first,
                $vBuffer,
                $n,
                $horizon,
                $levelBuffer,
                $nLevels,
                $tenantDays,
                $out['timestamps'],
                $out['forecast'],
                $out['lower'],
                $out['upper'],
                $this->regimeOut,
                $this->weightOut
            ));
    }

    /**
     * The levels as floats, their count, their native copy and their keys in the result.
     * The last levels asked for are kept: a request repeating them costs one comparison.
     *
     * @param list<int|float> $levels
     * @return array{0: list<float>, 1: int, 2: ?CData, 3: list<string>}
     */
    private function levelsFor(array $levels): array
    {
        if ($this->lastLevels === null || $this->lastLevels[0] !== $levels) {
            $floats = self::levels($levels);
            $native = $floats === [] ? null : $this->levelBuffer(pack('d*', ...$floats));
            $this->lastLevels = [$levels, [$floats, count($floats), $native, self::levelKeys($floats)]];
        }
        return $this->lastLevels[1];
    }

    /**
     * Whether the history is unix seconds in order, one period apart, with a value each: the
     * same history on the grid. range() and the strict comparison run in C, cheaper than
     * packing the timestamps and laying them on the grid natively.
     */
    private function onGrid(array $timestamps, array $values): bool
    {
        $n = count($timestamps);
        $first = $timestamps[0] ?? null;
        if ($n === 0 || !is_int($first) || count($values) !== $n || !array_is_list($timestamps)) {
            return false;
        }
        $this->frequency ??= (int) $this->info()['frequency'];
        $last = $first + ($n - 1) * $this->frequency;
        return is_int($last) && $timestamps === range($first, $last, $this->frequency);
    }

    /** The native copy of packed levels, kept for the next request with the same levels. */
    private function levelBuffer(string $packed): CData
    {
        if (!isset($this->levelBuffers[$packed])) {
            if (count($this->levelBuffers) >= 16) {
                $this->levelBuffers = [];
            }
            $this->levelBuffers[$packed] = self::doubleBuffer($this->ffi, $packed);
        }
        return $this->levelBuffers[$packed];
    }

    /**
     * Runs one native forecast call into the reused output buffers and builds the result.
     *
     * @param list<int|float> $levels
     * @param callable(?CData, int, array<string, CData|null>): int $call the native call
     */
    private function run(int $horizon, array $levels, callable $call): array
    {
        [$levels, $nLevels, $levelBuffer, $keys] = $this->levelsFor($levels);
        $out = $this->outputs($horizon, $nLevels);
        $status = $call($levelBuffer, $nLevels, $out);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        [$name, $version] = $this->nameAndVersion();
        return self::result(
            $out,
            $horizon,
            $levels,
            $keys,
            self::REGIMES[$this->regime->cdata] ?? 'unknown',
            (float) $this->weight->cdata,
            $name,
            $version
        );
    }

    /**
     * The platform's rule without any model: the historical average times the
     * local hour-of-day and day-of-week multipliers, regime 'fallback'.
     *
     * @param list<int|string> $timestamps
     * @param list<int|float|null> $values at least one present value
     * @param list<int|float> $levels
     * @param int $frequency seconds per period; 0 infers it
     * @return array same shape as forecast()
     */
    public static function fallback(
        array $timestamps,
        array $values,
        int $horizon,
        array $levels = [80, 95],
        ?string $timeZone = null,
        int $frequency = 0,
    ): array {
        [$t, $v, $n] = self::packPoints($timestamps, $values, 'history');
        self::checkHorizon($horizon);
        $levels = self::levels($levels);
        $nLevels = count($levels);
        $ffi = Native::ffi();
        $out = self::allocate($ffi, $horizon, $nLevels);
        $status = $ffi->tml_forecast_fallback(
            self::int64Buffer($ffi, $t),
            self::doubleBuffer($ffi, $v),
            $n,
            $frequency,
            $timeZone,
            $horizon,
            $nLevels === 0 ? null : self::doubleBuffer($ffi, pack('d*', ...$levels)),
            $nLevels,
            $out['timestamps'],
            $out['forecast'],
            $out['lower'],
            $out['upper']
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return self::result($out, $horizon, $levels, self::levelKeys($levels), 'fallback', 0.0, 'fallback', 0);
    }

    /**
     * Feature drift of a tenant's recent usage against the features this
     * predictor was trained on (stored in its file): the same features on the
     * same per-tenant scale, one KS test (by default) per feature, and a
     * dataset verdict. Timestamps and values as forecast(); $config holds
     * DriftConfig keys (e.g. 'numeric_test' => 'psi', 'drift_share' => 0.3).
     *
     * @param list<int|string> $timestamps
     * @param list<int|float|null> $values
     * @param array<string, mixed> $config
     * @return array<string, mixed> the DriftReport (features, share_drifted, dataset_drift, ...)
     */
    public function featureDrift(array $timestamps, array $values, array $config = []): array
    {
        $handle = $this->live();
        [$t, $v, $n] = self::packPoints($timestamps, $values, 'history');
        if ($n === 0) {
            throw self::invalid('feature drift of an empty history');
        }
        if (($config['feature_tests'] ?? null) === []) {
            $config['feature_tests'] = new \stdClass();
        }
        $out = $this->ffi->new('char*');
        $status = $this->ffi->tml_forecaster_feature_drift_json(
            $handle,
            self::int64Buffer($this->ffi, $t),
            self::doubleBuffer($this->ffi, $v),
            $n,
            $config === [] ? null : Native::encodeJson($config),
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $out));
    }

    /**
     * Rolling-origin backtest of the forecaster against the fallback rule and
     * the baselines (naive, seasonal naive per period, seasonal average).
     *
     * @param array $series as fitMany()
     * @param array{horizon?: int, windows?: int, step?: int|null, refit?: bool, levels?: list<int|float>} $options
     * @param array<string, mixed> $params as fit()
     * @return array{methods: list<array{name: string, metrics: array, coverage: list<array{0: float, 1: float}>}>,
     *         windows: list<array>, transform: string, periods: list<int>, options: array}
     */
    public static function backtest(array $series, array $options = [], array $params = []): array
    {
        [$t, $v, $lengths] = self::packSeries($series);
        $ffi = Native::ffi();
        $n = count($lengths);
        $lens = $ffi->new('size_t[' . max(1, $n) . ']');
        foreach ($lengths as $i => $len) {
            $lens[$i] = $len;
        }
        $json = $ffi->new('char*');
        $status = $ffi->tml_forecast_backtest_json(
            self::int64Buffer($ffi, $t),
            self::doubleBuffer($ffi, $v),
            array_sum($lengths),
            $n === 0 ? null : $lens,
            $n,
            self::encode($params),
            $options === [] ? null : Native::encodeJson($options),
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return Native::decodeJson(Native::takeString($ffi, $json));
    }

    /**
     * Name, version, frequency, seasonal periods, transform, time zone, feature names,
     * fit summary (series, rows, anomalies cleaned, backtest scores) and the prior.
     */
    public function info(): array
    {
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_forecaster_info_json($this->live(), FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * Change metadata saved with the predictor (name, version, created_at,
     * training_metrics, extra); forecasts carry the new name and version.
     *
     * @param array<string, mixed> $meta
     */
    public function setMetadata(array $meta): void
    {
        $status = $this->ffi->tml_forecaster_set_metadata_json($this->live(), self::encode($meta));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        $this->nameVersion = null;
    }

    /** @return array{0: string, 1: int} */
    private function nameAndVersion(): array
    {
        if ($this->nameVersion === null) {
            $info = $this->info();
            $this->nameVersion = [(string) $info['name'], (int) $info['version']];
        }
        return $this->nameVersion;
    }

    /** Output buffers reused across calls of the same shape (the one-step hot path). */
    private function outputs(int $horizon, int $nLevels): array
    {
        $key = "{$horizon}:{$nLevels}";
        if (!isset($this->buffers[$key])) {
            if (count($this->buffers) >= 8) {
                $this->buffers = [];
            }
            $this->buffers[$key] = self::allocate($this->ffi, $horizon, $nLevels);
        }
        return $this->buffers[$key];
    }

    /** @return array<string, CData|null> */
    private static function allocate(FFI $ffi, int $horizon, int $nLevels): array
    {
        $bounds = max(1, $horizon * $nLevels);
        return [
            'timestamps' => $ffi->new("int64_t[{$horizon}]"),
            'forecast' => $ffi->new("double[{$horizon}]"),
            'lower' => $nLevels === 0 ? null : $ffi->new("double[{$bounds}]"),
            'upper' => $nLevels === 0 ? null : $ffi->new("double[{$bounds}]"),
        ];
    }

    /**
     * @param array<string, CData|null> $out
     * @param list<float> $levels
     * @param list<string> $keys the levels' keys in a row's intervals
     */
    private static function result(
        array $out,
        int $horizon,
        array $levels,
        array $keys,
        string $regime,
        float $weight,
        string $name,
        int $version,
    ): array {
        // Element reads: cheaper than copying the buffers out and unpacking them, at any horizon.
        [$ts, $fc, $lo, $up] = [$out['timestamps'], $out['forecast'], $out['lower'], $out['upper']];
        $nLevels = count($levels);
        $rows = [];
        for ($h = 0; $h < $horizon; $h++) {
            $intervals = [];
            foreach ($keys as $j => $key) {
                $intervals[$key] = [$lo[$h * $nLevels + $j], $up[$h * $nLevels + $j]];
            }
            $rows[] = [
                'timestamp' => $ts[$h],
                'forecast' => $fc[$h],
                'lower' => $nLevels === 0 ? null : $lo[$h * $nLevels],
                'upper' => $nLevels === 0 ? null : $up[$h * $nLevels],
                'regime' => $regime,
                'intervals' => $intervals,
            ];
        }
        return [
            'model_name' => $name,
            'model_version' => $version,
            'regime' => $regime,
            'model_weight' => $weight,
            'levels' => $levels,
            'rows' => $rows,
        ];
    }

    private static function checkHorizon(int $horizon): void
    {
        if ($horizon < 1 || $horizon > self::MAX_HORIZON) {
            throw self::invalid(sprintf('horizon must be in 1..=%d periods, got %d', self::MAX_HORIZON, $horizon));
        }
    }

    /**
     * The keys of the levels in a row's intervals ('80', '97.5').
     *
     * @param list<float> $levels
     * @return list<string>
     */
    private static function levelKeys(array $levels): array
    {
        return array_map(fn (float $l): string => rtrim(rtrim(sprintf('%.6F', $l), '0'), '.'), $levels);
    }

    /**
     * @param list<int|float> $levels
     * @return list<float>
     */
    private static function levels(array $levels): array
    {
        $out = [];
        foreach (array_values($levels) as $i => $level) {
            if (!is_int($level) && !is_float($level)) {
                throw self::invalid(sprintf('levels[%d] must be a number, got %s', $i, get_debug_type($level)));
            }
            $out[] = (float) $level;
        }
        return $out;
    }

    /**
     * Packs many series back to back.
     *
     * @return array{0: string, 1: string, 2: list<int>} int64 timestamps, doubles, lengths
     */
    private static function packSeries(array $series): array
    {
        $t = '';
        $v = '';
        $lengths = [];
        $i = 0;
        foreach ($series as $key => $one) {
            if (!is_array($one)) {
                throw self::invalid(sprintf('series %s must be [timestamps, values]', var_export($key, true)));
            }
            $ts = $one['timestamps'] ?? $one[0] ?? null;
            $vs = $one['values'] ?? $one[1] ?? null;
            if (!is_array($ts) || !is_array($vs)) {
                throw self::invalid(sprintf(
                    'series %s must be [timestamps, values] or [\'timestamps\' => ..., \'values\' => ...]',
                    var_export($key, true)
                ));
            }
            [$pt, $pv, $n] = self::packPoints($ts, $vs, sprintf('series %s', var_export($key, true)));
            if ($n === 0) {
                throw self::invalid(sprintf('series %s is empty', var_export($key, true)));
            }
            $t .= $pt;
            $v .= $pv;
            $lengths[] = $n;
            $i++;
        }
        return [$t, $v, $lengths];
    }

    /** @return array{0: string, 1: string, 2: int} */
    private static function packPoints(array $timestamps, array $values, string $what): array
    {
        $n = count($timestamps);
        if (count($values) !== $n) {
            throw self::invalid(sprintf('%s has %d timestamps but %d values', $what, $n, count($values)));
        }
        return [self::packTimestamps($timestamps, $what), self::packValues($values, $what), $n];
    }

    /** int64 timestamps: one typed variadic call when all are ints, else element by element. */
    private static function packTimestamps(array $timestamps, string $what): string
    {
        try {
            $list = array_is_list($timestamps) ? $timestamps : array_values($timestamps);
            return self::packInts(...$list);
        } catch (\TypeError) {
            $ts = [];
            foreach (array_values($timestamps) as $i => $t) {
                $ts[] = self::timestamp($t, "{$what} timestamps[{$i}]");
            }
            return pack('q*', ...$ts);
        }
    }

    /** doubles, null = NAN: one typed variadic call when all are numbers, else element by element. */
    private static function packValues(array $values, string $what): string
    {
        try {
            return self::packFloats(...(array_is_list($values) ? $values : array_values($values)));
        } catch (\TypeError) {
            $vs = [];
            foreach (array_values($values) as $i => $x) {
                if ($x === null) {
                    $vs[] = NAN;
                } elseif (is_int($x) || is_float($x)) {
                    $vs[] = (float) $x;
                } else {
                    throw self::invalid(sprintf(
                        '%s values[%d] must be a number or null, got %s',
                        $what,
                        $i,
                        get_debug_type($x)
                    ));
                }
            }
            return pack('d*', ...$vs);
        }
    }

    /** The engine checks the types (strict_types), so this is the fast path. */
    private static function packInts(int ...$values): string
    {
        return pack('q*', ...$values);
    }

    private static function packFloats(float ...$values): string
    {
        return pack('d*', ...$values);
    }

    private static function timestamp(mixed $t, string $what): int
    {
        if (is_int($t)) {
            return $t;
        }
        if (!is_string($t)) {
            throw self::invalid(sprintf('%s must be unix seconds or an ISO 8601 string, got %s', $what, get_debug_type($t)));
        }
        if (!preg_match('/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i', $t)) {
            throw self::invalid(sprintf(
                "%s '%s' is not ISO 8601 with an offset (e.g. 2024-03-31T02:00:00+02:00 or ...Z)",
                $what,
                $t
            ));
        }
        try {
            return (new \DateTimeImmutable($t))->getTimestamp();
        } catch (\Exception $e) {
            throw self::invalid(sprintf("%s '%s' is not a valid date: %s", $what, $t, $e->getMessage()));
        }
    }

    private static function int64Buffer(FFI $ffi, string $packed): ?CData
    {
        $len = strlen($packed);
        if ($len === 0) {
            return null;
        }
        $buffer = $ffi->new('int64_t[' . intdiv($len, 8) . ']');
        FFI::memcpy($buffer, $packed, $len);
        return $buffer;
    }

    private static function doubleBuffer(FFI $ffi, string $packed): ?CData
    {
        $len = strlen($packed);
        if ($len === 0) {
            return null;
        }
        $buffer = $ffi->new('double[' . intdiv($len, 8) . ']');
        FFI::memcpy($buffer, $packed, $len);
        return $buffer;
    }

    /** JSON object for the library, or null for defaults. */
    private static function encode(array $value): ?string
    {
        foreach (self::OBJECT_KEYS as $key) {
            if (($value[$key] ?? null) === []) {
                $value[$key] = new \stdClass();
            }
        }
        return Native::encodeJson($value);
    }

    private static function invalid(string $message): InvalidArgumentException
    {
        return new InvalidArgumentException("invalid argument: {$message}", Native::STATUS_INVALID_ARGUMENT);
    }

    /** @return array{0: string, 1: string} the C handle type and the function prefix (NativeFile) */
    private static function native(): array
    {
        return ['TmlForecaster', 'tml_forecaster'];
    }
}
