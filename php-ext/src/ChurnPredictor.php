<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;

/**
 * Churn prediction: the probability that a tenant cancels within a horizon
 * (default 30 days), with the reasons behind it, from whatever history the
 * application has; retention triggers with cool-downs; the days-inactive rule
 * as fallback and as a rules-only mode.
 *
 *     $churn = ChurnPredictor::coldStart();             // day 1: synthetic tenants
 *     $score = $churn->predict($tenant, now(), 3);
 *     // $score: probability, regime ('model' | 'cold_start' | 'fallback'),
 *     //         model_name, model_version, horizon_days, inactive_flag, reasons, facts
 *     $outcome = ChurnPredictor::triggers([$score], $cache->get('churn-state'), time());
 *     foreach ($outcome['decisions'] as $d) {
 *         dispatch(new RetentionAction($d['tenant_id'], $d['action'], $d['reason']));
 *     }
 *     $cache->put('churn-state', $outcome['state']);
 *
 * A tenant is an array with any of: 'id', 'events' (list of ['at' => unix
 * seconds, 'amount' => float]), 'daily' (['start' => unix seconds, 'values' =>
 * list of float|null]), 'subscription' (['plan', 'started_at', 'seats',
 * 'monthly_price', 'plan_allowance']), 'failed_payments' (list of unix seconds),
 * 'tickets' (list of ['at' => ..., 'severity' => ...]), 'churned_at' (training
 * labels only). A part left out is unknown; a part given empty means "nothing
 * happened". Unknown keys are a ParseException.
 *
 * Times ($asOf, $now) are unix seconds, a DateTimeInterface, an ISO 8601
 * string with an offset, or a date 'YYYY-MM-DD' (midnight UTC). Only records
 * strictly before $asOf count.
 */
final class ChurnPredictor
{
    use NativeFile;

    /** TmlChurnRegime codes. */
    private const REGIMES = [0 => 'model', 1 => 'cold_start', 3 => 'fallback'];

    /** Keys whose values are JSON objects (an empty PHP array must be sent as {}). */
    private const OBJECT_KEYS = ['model', 'patterns', 'subscription', 'training_metrics', 'extra'];

    private ?CData $handle;
    /** Reused buffers of the flat path: the feature row, probability and regime. */
    private CData $row;
    private CData $probability;
    private CData $regime;
    private int $nFeatures;
    /** @var list<string>|null */
    private static ?array $names = null;

    private function __construct(private FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
        $this->nFeatures = (int) $ffi->tml_churn_n_features();
        $this->row = $ffi->new("double[{$this->nFeatures}]");
        $this->probability = $ffi->new('double');
        $this->regime = $ffi->new('TmlChurnRegime');
    }

    /**
     * Fit on the platform's own labelled tenants.
     *
     * @param list<array<string, mixed>> $tenants histories, churners with 'churned_at'
     * @param array{observation_dates: list<int|string|\DateTimeInterface>, horizon_days: int,
     *        data_end: int|string|\DateTimeInterface} $labelSpec rows are built at each
     *        observation date from records before it, labelled 1 when the tenant churned within
     *        the horizon after it; rows whose horizon runs past data_end are left out
     * @param array<string, mixed> $params ChurnParams: name, version, horizon_days (must be the
     *        spec's), top_reasons, inactivity_threshold_days, seed, model (laid over the churn
     *        defaults key by key, and gbdt/forest key by key, e.g. ['gbdt' => ['rounds' => 100]])
     * @throws Exception\ParseException for unknown keys or mistyped values
     * @throws InvalidArgumentException for data the library refuses (e.g. one class only)
     */
    public static function fit(array $tenants, array $labelSpec, array $params = []): self
    {
        $ffi = Native::ffi();
        if (isset($labelSpec['observation_dates']) && is_array($labelSpec['observation_dates'])) {
            $labelSpec['observation_dates'] = array_map(
                static fn (mixed $t): int => self::time($t, 'observation_dates'),
                array_values($labelSpec['observation_dates'])
            );
        }
        if (isset($labelSpec['data_end'])) {
            $labelSpec['data_end'] = self::time($labelSpec['data_end'], 'data_end');
        }
        $out = $ffi->new('TmlChurnPredictor*');
        $status = $ffi->tml_churn_fit(
            self::tenantsJson($tenants),
            self::json($labelSpec),
            self::params($params),
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * A working model before the platform has any churn labels: fitted on
     * synthetic tenants (silent faders, loud leavers, failed payments, recovering
     * dips). Scores say regime 'cold_start'.
     *
     * @param array<string, mixed> $settings GeneratorSettings (tenants, days, churn_rate,
     *        patterns, usage_scale, ...); missing keys from the training settings
     * @param array<string, mixed> $params ChurnParams as fit(); [] = defaults with the settings' horizon
     */
    public static function coldStart(array $settings = [], int $seed = 42, array $params = []): self
    {
        if ($seed < 0) {
            throw self::invalid("seed must be >= 0, got {$seed}");
        }
        $ffi = Native::ffi();
        $out = $ffi->new('TmlChurnPredictor*');
        $status = $ffi->tml_churn_cold_start(
            $settings === [] ? null : self::json(self::objects($settings)),
            self::params($params),
            $seed,
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * No model: every score comes from the days-inactive rule (regime
     * 'fallback', model_name 'inactivity-rule').
     *
     * @param array<string, mixed> $params ChurnParams; inactivity_threshold_days (default 14),
     *        horizon_days, name and version matter here
     */
    public static function rulesOnly(array $params = []): self
    {
        $ffi = Native::ffi();
        $out = $ffi->new('TmlChurnPredictor*');
        $status = $ffi->tml_churn_rules_only(self::params($params), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * Score one tenant as of $asOf with up to $reasons reasons (0: none, the fastest).
     *
     * @param array<string, mixed> $tenant
     * @return array{tenant_id: string, probability: float, regime: string, model_name: string,
     *         model_version: int, horizon_days: int, as_of: int, inactive_flag: bool,
     *         reasons: list<array{code: string, description: string, weight: float, source: string}>,
     *         facts: array<string, float|null>}
     */
    public function predict(array $tenant, int|string|\DateTimeInterface $asOf, int $reasons = 3): array
    {
        if ($reasons < 0) {
            throw self::invalid("reasons must be >= 0, got {$reasons}");
        }
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_churn_predict_json(
            $this->live(),
            self::json(self::tenant($tenant, 'tenant')),
            self::time($asOf, 'asOf'),
            $reasons,
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * Score many tenants as of one time (in parallel inside the library), each
     * with the predictor's top_reasons reasons; scores in input order.
     *
     * @param list<array<string, mixed>> $tenants
     * @return list<array> scores as predict()
     */
    public function predictMany(array $tenants, int|string|\DateTimeInterface $asOf): array
    {
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_churn_predict_batch_json(
            $this->live(),
            self::tenantsJson($tenants),
            self::time($asOf, 'asOf'),
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * The hot path: probability and regime of a ready feature row (as features()
     * returns it, or a list in featureNames() order; null or NAN = missing),
     * without reasons and without JSON. Equals predict()'s probability for the
     * tenant and time the row was computed for.
     *
     * @param array<string, float|int|null>|list<float|int|null> $features
     * @return array{probability: float, regime: string}
     */
    public function predictFeatures(array $features): array
    {
        $handle = $this->live();
        FFI::memcpy($this->row, $this->packRow($features), 8 * $this->nFeatures);
        $status = $this->ffi->tml_churn_predict_features(
            $handle,
            $this->row,
            $this->nFeatures,
            0,
            FFI::addr($this->probability),
            FFI::addr($this->regime)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return [
            'probability' => (float) $this->probability->cdata,
            'regime' => self::REGIMES[$this->regime->cdata] ?? 'unknown',
        ];
    }

    /**
     * The churn features of a tenant as of $asOf, by name (null = unknown), the
     * same the model sees: recency, activity and volume over 7/30/90 days,
     * trend, usage vs plan, seats, price, failed payments, tickets, tenure.
     *
     * @param array<string, mixed> $tenant
     * @return array<string, float|null>
     */
    public static function features(array $tenant, int|string|\DateTimeInterface $asOf): array
    {
        $ffi = Native::ffi();
        $names = self::featureNames();
        $n = count($names);
        $out = $ffi->new("double[{$n}]");
        $status = $ffi->tml_churn_features(
            self::json(self::tenant($tenant, 'tenant')),
            self::time($asOf, 'asOf'),
            $out,
            $n
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        $values = unpack('d*', FFI::string($out, 8 * $n));
        $features = [];
        foreach ($names as $i => $name) {
            $v = $values[$i + 1];
            $features[$name] = is_nan($v) ? null : $v;
        }
        return $features;
    }

    /** @return list<string> feature names in row order */
    public static function featureNames(): array
    {
        if (self::$names === null) {
            $ffi = Native::ffi();
            $json = $ffi->new('char*');
            $status = $ffi->tml_churn_feature_names_json(FFI::addr($json));
            if ($status !== 0) {
                throw Native::exception($status, $ffi);
            }
            self::$names = Native::decodeJson(Native::takeString($ffi, $json));
        }
        return self::$names;
    }

    /**
     * Retention triggers: which actions to take for these scores now, given
     * when each action last fired for each tenant ($state, null for none).
     * Store the returned 'state' (plain arrays; json_encode/serialize it) and
     * pass it to the next call: an action is not repeated for a tenant within
     * its rule's cool-down ('suppressed' lists those held back).
     *
     * @param list<array> $scores as predict()/predictMany() return them (one score also accepted)
     * @param array{last_fired?: array<string, array<string, int>>}|null $state
     * @param array{bands?: list<array{name: string, min: float}>, rules: list<array<string, mixed>>}|null $policy
     *        null = the default policy (csm_call, discount_offer, payment_recovery_email, onboarding_email)
     * @return array{decisions: list<array{tenant_id: string, action: string, reason: string, band: string,
     *         probability: float, reason_codes: list<string>, fired_at: int}>,
     *         suppressed: list<array{tenant_id: string, action: string, last_fired_at: int, next_allowed_at: int}>,
     *         state: array{last_fired: array<string, array<string, int>>}}
     */
    public static function triggers(
        array $scores,
        ?array $state,
        int|string|\DateTimeInterface $now,
        ?array $policy = null,
    ): array {
        if (isset($scores['tenant_id'])) {
            $scores = [$scores];
        }
        $ffi = Native::ffi();
        $json = $ffi->new('char*');
        $status = $ffi->tml_churn_triggers_json(
            $policy === null ? null : self::json($policy),
            self::json(array_values($scores)),
            $state === null || $state === [] ? null : self::stateJson($state),
            self::time($now, 'now'),
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        $outcome = Native::decodeJson(Native::takeString($ffi, $json));
        $outcome['state']['last_fired'] ??= [];
        return $outcome;
    }

    /** Kind, name, version, regime, horizon_days, features, fit summary, rule threshold, training metrics. */
    public function info(): array
    {
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_churn_info_json($this->live(), FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * Change metadata saved with the predictor (name, version, created_at,
     * training_metrics, extra); model scores carry the new name and version.
     *
     * @param array<string, mixed> $meta
     */
    public function setMetadata(array $meta): void
    {
        $status = $this->ffi->tml_churn_set_metadata_json($this->live(), self::json(self::objects($meta)));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
    }

    /** @param array<array-key, float|int|null> $features */
    private function packRow(array $features): string
    {
        if (count($features) !== $this->nFeatures) {
            throw self::invalid(sprintf(
                'a churn feature row has %d values, got %d',
                $this->nFeatures,
                count($features)
            ));
        }
        $values = array_is_list($features) ? $features : [];
        if (!array_is_list($features)) {
            foreach (self::featureNames() as $name) {
                if (!array_key_exists($name, $features)) {
                    throw self::invalid("the feature row lacks '{$name}'");
                }
                $values[] = $features[$name];
            }
        }
        $row = [];
        foreach ($values as $i => $v) {
            if ($v === null) {
                $row[] = NAN;
            } elseif (is_int($v) || is_float($v)) {
                $row[] = (float) $v;
            } else {
                throw self::invalid(sprintf('feature %d must be a number or null, got %s', $i, get_debug_type($v)));
            }
        }
        return pack('d*', ...$row);
    }

    /** @param array<array-key, mixed> $tenants */
    private static function tenantsJson(array $tenants): string
    {
        $list = [];
        foreach (array_values($tenants) as $i => $tenant) {
            if (!is_array($tenant)) {
                throw self::invalid(sprintf('tenants[%d] must be an array, got %s', $i, get_debug_type($tenant)));
            }
            $list[] = self::tenant($tenant, "tenants[{$i}]");
        }
        return self::json($list);
    }

    /**
     * A tenant array as the library reads it: objects stay objects when empty,
     * NAN daily values become null (unknown day).
     *
     * @param array<string, mixed> $tenant
     */
    private static function tenant(array $tenant, string $what): object|array
    {
        if ($tenant === []) {
            return new \stdClass();
        }
        if (array_is_list($tenant)) {
            throw self::invalid("{$what} must be an array with keys such as 'id' and 'events', got a list");
        }
        if (isset($tenant['daily']['values']) && is_array($tenant['daily']['values'])) {
            $tenant['daily']['values'] = array_map(
                static fn (mixed $v): mixed => is_float($v) && is_nan($v) ? null : $v,
                array_values($tenant['daily']['values'])
            );
        }
        return self::objects($tenant);
    }

    /**
     * @param array<string, mixed> $value
     * @return array<string, mixed>
     */
    private static function objects(array $value): array
    {
        foreach (self::OBJECT_KEYS as $key) {
            if (($value[$key] ?? null) === []) {
                $value[$key] = new \stdClass();
            }
        }
        return $value;
    }

    private static function params(array $params): ?string
    {
        return $params === [] ? null : self::json(self::objects($params));
    }

    /** The cool-down state as JSON: maps all the way down (tenant ids like "42" stay keys). */
    private static function stateJson(array $state): string
    {
        try {
            return json_encode($state, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_FORCE_OBJECT);
        } catch (\JsonException $e) {
            throw new ParseException(
                'parse error: cannot encode the state as JSON: ' . $e->getMessage(),
                Native::STATUS_PARSE_ERROR,
                $e
            );
        }
    }

    private static function json(mixed $value): string
    {
        try {
            return json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
        } catch (\JsonException $e) {
            throw new ParseException(
                'parse error: cannot encode as JSON: ' . $e->getMessage(),
                Native::STATUS_PARSE_ERROR,
                $e
            );
        }
    }

    /** Unix seconds from an int, a DateTimeInterface, ISO 8601 with an offset or a date (midnight UTC). */
    private static function time(mixed $t, string $what): int
    {
        if (is_int($t)) {
            return $t;
        }
        if ($t instanceof \DateTimeInterface) {
            return $t->getTimestamp();
        }
        if (!is_string($t)) {
            throw self::invalid(sprintf(
                '%s must be unix seconds, a DateTimeInterface or an ISO 8601 string, got %s',
                $what,
                get_debug_type($t)
            ));
        }
        if (preg_match('/^\d{4}-\d{2}-\d{2}$/', $t)) {
            $t .= 'T00:00:00Z';
        } elseif (!preg_match('/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i', $t)) {
            throw self::invalid(sprintf(
                "%s '%s' is not a date (YYYY-MM-DD, UTC) or ISO 8601 with an offset (e.g. 2025-03-31T02:00:00+02:00)",
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

    private static function invalid(string $message): InvalidArgumentException
    {
        return new InvalidArgumentException("invalid argument: {$message}", Native::STATUS_INVALID_ARGUMENT);
    }

    /** @return array{0: string, 1: string} the C handle type and the function prefix (NativeFile) */
    private static function native(): array
    {
        return ['TmlChurnPredictor', 'tml_churn'];
    }
}
