<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\TenantMlException;

/**
 * Real-time fraud scoring of single transactions: a calibrated boosting model
 * (fitted on the tenant's labelled transactions, or a cold-start model fitted
 * on synthetic data for a tenant without labels), or the rules alone.
 *
 *     $scorer = FraudScorer::coldStart();                       // day 1, no labels yet
 *     $answer = $scorer->score([
 *         'amount' => 49.90, 'timestamp' => time(), 'customer' => 1234,
 *         'payment_method' => 'card_fp_9f2c', 'currency' => 'EUR',
 *         'country' => 'DE', 'ip_country' => 'DE', 'category' => 'electronics',
 *     ], $recentTransactionsOfThisCustomer);                   // up to 100, any order
 *     // ['score' => 0.03, 'decision' => 'approve', 'regime' => 'cold_start',
 *     //  'model_name' => 'fraud-cold-start', 'model_version' => 1, 'rule_hits' => [], ...]
 *     $why = $scorer->explain($txn, $history, 3)['reasons'];
 *     Storage::put('models/fraud.tml', $scorer->toBytes());
 *
 * A transaction is an array with `amount` (int|float >= 0), `timestamp` (unix
 * seconds, an ISO 8601 string with offset, or a DateTimeInterface), and
 * optionally `customer` and `payment_method` (int ids, or strings hashed to
 * 64 bits), `currency`, `country`, `ip_country`, `category` (strings mapped
 * through the scorer's schema, unknown strings = 0; or int codes), and
 * `outcome` ('failed'|'succeeded'|1|0, or `failed` => bool; read for history
 * rows and training rows only).
 *
 * A history is a list of such arrays, or columns: ['amount' => [...],
 * 'timestamp' => [...], 'payment_method' => [...], 'country' => [...],
 * 'outcome' => [...]] (the faster shape; missing optional columns are 0).
 * score() is the hot path: it writes into a transaction struct and history
 * buffers allocated once per scorer (grown when a longer history comes) and
 * makes one FFI call that allocates nothing.
 */
final class FraudScorer
{
    use NativeFile;

    private const DECISIONS = [0 => 'approve', 1 => 'review', 2 => 'decline'];
    private const REGIMES = [0 => 'model', 1 => 'cold_start', 2 => 'fallback'];
    /** Dictionary of each code field ('ip_country' shares the countries). */
    private const DICTIONARIES = [
        'currency' => 'currency',
        'country' => 'country',
        'ip_country' => 'country',
        'category' => 'category',
    ];
    /** Cached string codes per dictionary before the cache is cleared. */
    private const CODE_CACHE_LIMIT = 10_000;
    /** Parameter keys that hold JSON objects (an empty PHP array must be sent as {}). */
    private const OBJECT_KEYS = ['model', 'gbdt', 'forest', 'patterns'];
    private const TRANSACTION_SIZE = 56;
    /** Outcome strings accepted in history rows. */
    private const OUTCOME_CODES = [
        'succeeded' => 0, 'success' => 0, 'ok' => 0, '0' => 0,
        'failed' => 1, 'declined' => 1, 'failure' => 1, '1' => 1,
    ];

    private ?CData $handle;
    /** TmlTransaction and TmlFraudSummary, with pointers to them, allocated once. */
    private CData $txn;
    private CData $txnPtr;
    private CData $summary;
    private CData $summaryPtr;
    /** History columns (double, int64, uint64, uint32, uint32), capacity rows each. */
    private int $capacity = 0;
    private CData $amounts;
    private CData $timestamps;
    private CData $methods;
    private CData $countries;
    private CData $outcomes;
    /** @var array<string, array<string, int>> dictionary => name => code */
    private array $codes = ['currency' => [], 'country' => [], 'category' => []];
    /** @var array{name: string, version: int, rule_codes: list<string>}|null */
    private ?array $identity = null;
    /** @var array<string, int> string id => its 64-bit hash */
    private array $ids = [];
    /** @var array<int, list<string>> rule-hit mask => codes */
    private array $hitCodes = [0 => []];

    private function __construct(private FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
        $this->txn = $ffi->new('TmlTransaction');
        $this->txnPtr = FFI::addr($this->txn);
        $this->summary = $ffi->new('TmlFraudSummary');
        $this->summaryPtr = FFI::addr($this->summary);
        $this->reserve(128);
    }

    /**
     * Fit on the tenant's labelled transactions (any order). Each transaction's
     * history is its customer's earlier transactions in the list.
     *
     * @param list<array<string, mixed>> $transactions
     * @param list<bool|int> $labels true/1 = fraud, one per transaction; both classes must occur
     * @param array{currencies?: list<string>, countries?: list<string>, categories?: list<string>,
     *        time_zone?: string} $schema the dictionaries strings are encoded with (stored in the model)
     * @param array<string, mixed> $params the library's FraudParams: name, version, review_at,
     *        decline_at, history_cap, rules (a rules config), model {gbdt {rounds, ...}, calibration, ...}
     * @throws InvalidArgumentException for malformed transactions or data the library refuses
     * @throws Exception\ParseException for unknown parameters, bad schema or rules
     */
    public static function fit(array $transactions, array $labels, array $schema, array $params = []): self
    {
        $n = count($transactions);
        if (count($labels) !== $n) {
            throw self::invalid(sprintf('%d transactions but %d labels', $n, count($labels)));
        }
        $dictionaries = [];
        foreach (['currency' => 'currencies', 'country' => 'countries', 'category' => 'categories'] as $d => $key) {
            $names = $schema[$key] ?? [];
            if (!is_array($names)) {
                throw self::invalid("schema '{$key}' must be a list of strings");
            }
            $dictionaries[$d] = [];
            foreach (array_values($names) as $i => $name) {
                if (is_string($name)) {
                    $dictionaries[$d][$name] ??= $i + 1;
                }
            }
        }
        $ffi = Native::ffi();
        $packed = '';
        $flags = '';
        $i = 0;
        foreach ($transactions as $t) {
            if (!is_array($t)) {
                throw self::invalid(sprintf('transactions[%d] must be an array', $i));
            }
            $row = self::normalize(
                $t,
                "transactions[{$i}]",
                static fn (string $dict, string $name): int => $dictionaries[$dict][$name] ?? 0
            );
            $packed .= pack('dqqqLLLLLx4', ...$row);
            $i++;
        }
        foreach (array_values($labels) as $j => $label) {
            if ($label !== true && $label !== false && $label !== 0 && $label !== 1) {
                throw self::invalid(
                    sprintf('labels[%d] must be true/false or 1/0, got %s', $j, var_export($label, true))
                );
            }
            $flags .= $label ? "\1" : "\0";
        }
        $txns = null;
        $labelBuffer = null;
        if ($n > 0) {
            self::checkLayout($ffi);
            $txns = $ffi->new("TmlTransaction[{$n}]");
            FFI::memcpy($txns, $packed, strlen($packed));
            $labelBuffer = $ffi->new("uint8_t[{$n}]");
            FFI::memcpy($labelBuffer, $flags, $n);
        }
        $out = $ffi->new('TmlFraudScorer*');
        $status = $ffi->tml_fraud_fit(
            $txns,
            $labelBuffer,
            $n,
            Native::encodeJson($schema),
            self::encode($params),
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * A day-1 scorer for a tenant without labelled fraud: a model fitted on
     * synthetic transactions with planted fraud patterns (card testing,
     * account takeover, amount spikes). Answers carry regime 'cold_start'.
     * Encode strings with its schema (the generator's: EUR/USD/GBP/CHF, 16
     * countries such as DE, FR, US, 8 categories; time zone Europe/Berlin).
     *
     * @param string|array<string, mixed> $settings 'training', 'held_out', 'amount_shift',
     *        'rate_shift', 'slow_drip', or generator settings (customers, days,
     *        transactions_per_day, amount_scale, fraud_rate, patterns {...}) over 'training'
     */
    public static function coldStart(string|array $settings = 'training', int $seed = 42): self
    {
        if ($seed < 0) {
            throw self::invalid("seed must be >= 0, got {$seed}");
        }
        $ffi = Native::ffi();
        $out = $ffi->new('TmlFraudScorer*');
        $status = $ffi->tml_fraud_cold_start(
            is_array($settings) ? self::encode($settings) : $settings,
            $seed,
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * A scorer that runs only the rules (regime 'fallback'): the score is the
     * combined rule score, the decision follows the rules' own thresholds.
     *
     * @param array<string, mixed>|null $rules a rules config (name, version, review_at, decline_at,
     *        rules [{type, weight, code?, ...}]); null = the default rules (defaultRules())
     * @param array<string, mixed> $schema as fit()
     */
    public static function rulesOnly(?array $rules = null, array $schema = []): self
    {
        $ffi = Native::ffi();
        $out = $ffi->new('TmlFraudScorer*');
        $status = $ffi->tml_fraud_rules_only(
            $rules === null ? null : self::encodeRules($rules),
            Native::encodeJson($schema),
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /**
     * Validate a rules config; returns it normalised (defaults filled in).
     * Malformed JSON, unknown rule types or fields, negative thresholds and
     * weights outside (0, 1] are a ParseException naming the rule and field.
     *
     * @param array<string, mixed>|string $rules
     */
    public static function checkRules(array|string $rules): array
    {
        $ffi = Native::ffi();
        $json = $ffi->new('char*');
        $status = $ffi->tml_fraud_rules_check(is_string($rules) ? $rules : self::encodeRules($rules), FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return Native::decodeJson(Native::takeString($ffi, $json));
    }

    /** The default rules config (what rulesOnly(null) runs and models use as features). */
    public static function defaultRules(): array
    {
        $ffi = Native::ffi();
        $json = $ffi->new('char*');
        $status = $ffi->tml_fraud_rules_default_json(FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return Native::decodeJson(Native::takeString($ffi, $json));
    }

    /**
     * Score one transaction against the customer's recent history (without
     * the transaction itself; up to 100 rows, any order; later rows are ignored).
     *
     * @param array<string, mixed> $transaction
     * @param list<array<string, mixed>>|array<string, list<mixed>> $history rows or columns
     * @return array{score: float, decision: string, regime: string, model_name: string,
     *         model_version: int, rule_hits: list<string>, rule_score: float}
     */
    public function score(array $transaction, array $history = []): array
    {
        $handle = $this->handle ?? throw new TenantMlException('this FraudScorer has been released');
        $this->fillTransaction($transaction);
        $n = $this->packHistory($history);
        $status = $this->ffi->tml_fraud_score(
            $handle,
            $this->txnPtr,
            $this->amounts,
            $this->timestamps,
            $this->methods,
            $this->countries,
            $this->outcomes,
            $n,
            $this->summaryPtr
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        $s = $this->summary;
        $identity = $this->identity ?? $this->identity();
        $hits = $s->rule_hits;
        return [
            'score' => $s->score,
            'decision' => self::DECISIONS[$s->decision],
            'regime' => self::REGIMES[$s->regime],
            'model_name' => $identity['name'],
            'model_version' => $identity['version'],
            'rule_hits' => $this->hitCodes[$hits] ?? $this->hitCodes($hits),
            'rule_score' => $s->rule_score,
        ];
    }

    /**
     * score() with the top reasons: the $k features pushing the score up most
     * (TreeSHAP, readable text such as "7 transactions in the last hour"),
     * then every rule that fired; rules-only scorers give their $k heaviest hits.
     *
     * @return array{score: float, decision: string, regime: string, model_name: string,
     *         model_version: int, rule_hits: list<string>,
     *         reasons: list<array{code: string, description: string, weight: float, source: string}>}
     */
    public function explain(array $transaction, array $history = [], int $k = 3): array
    {
        if ($k < 0) {
            throw self::invalid("k must be >= 0, got {$k}");
        }
        $this->fillTransaction($transaction);
        $n = $this->packHistory($history);
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_fraud_explain_json(
            $this->live(),
            $this->txnPtr,
            $this->amounts,
            $this->timestamps,
            $this->methods,
            $this->countries,
            $this->outcomes,
            $n,
            $k,
            FFI::addr($json)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /**
     * The feature row the model sees, by feature name (NAN = missing).
     *
     * @return array<string, float>
     */
    public function features(array $transaction, array $history = []): array
    {
        $names = $this->info()['feature_names'];
        $count = count($names);
        $this->fillTransaction($transaction);
        $n = $this->packHistory($history);
        $out = $this->ffi->new("double[{$count}]");
        $status = $this->ffi->tml_fraud_features(
            $this->live(),
            $this->txnPtr,
            $this->amounts,
            $this->timestamps,
            $this->methods,
            $this->countries,
            $this->outcomes,
            $n,
            $out,
            $count
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return array_combine($names, array_values(unpack('d*', FFI::string($out, 8 * $count))));
    }

    /**
     * The code of a string in the scorer's schema ('currency', 'country',
     * 'ip_country', 'category'); 0 for a string it does not know. Cached.
     */
    public function code(string $field, string $name): int
    {
        $dict = self::DICTIONARIES[$field] ?? throw self::invalid(
            "unknown schema field '{$field}' (currency, country, ip_country, category)"
        );
        return $this->codes[$dict][$name] ?? $this->lookup($dict, $name);
    }

    /**
     * Name, version, regime, thresholds (review_at, decline_at), feature_names,
     * rule_codes, rules (the config), schema and metadata (training metrics).
     */
    public function info(): array
    {
        $json = $this->ffi->new('char*');
        $status = $this->ffi->tml_fraud_info_json($this->live(), FFI::addr($json));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $json));
    }

    /** Rename the scorer; answers and saved files carry the new name and version. */
    public function setName(string $name, int $version): void
    {
        if ($version < 0) {
            throw self::invalid("version must be >= 0, got {$version}");
        }
        $status = $this->ffi->tml_fraud_set_name($this->live(), self::path($name), $version);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        $this->identity = null;
    }

    /** Change the decision thresholds (0 <= review_at <= decline_at <= 1). */
    public function setThresholds(float $reviewAt, float $declineAt): void
    {
        $status = $this->ffi->tml_fraud_set_thresholds($this->live(), $reviewAt, $declineAt);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
    }

    /** @return array{name: string, version: int, rule_codes: list<string>} */
    private function identity(): array
    {
        $info = $this->info();
        return $this->identity = [
            'name' => (string) $info['name'],
            'version' => (int) $info['version'],
            'rule_codes' => $info['rule_codes'],
        ];
    }

    /** @return list<string> */
    private function hitCodes(int $mask): array
    {
        $rules = ($this->identity ?? $this->identity())['rule_codes'];
        $codes = [];
        foreach ($rules as $i => $code) {
            if (($mask >> $i) & 1) {
                $codes[] = $code;
            }
        }
        if (count($this->hitCodes) > 256) {
            $this->hitCodes = [0 => []];
        }
        return $this->hitCodes[$mask] = $codes;
    }

    private function lookup(string $dict, string $name): int
    {
        if (count($this->codes[$dict]) >= self::CODE_CACHE_LIMIT) {
            $this->codes[$dict] = [];
        }
        $code = $this->ffi->new('uint32_t');
        $status = $this->ffi->tml_fraud_code($this->live(), $dict, self::path($name), FFI::addr($code));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return $this->codes[$dict][$name] = $code->cdata;
    }

    /** Writes a transaction into the reused TmlTransaction. */
    private function fillTransaction(array $t): void
    {
        $row = self::normalize($t, 'transaction', fn (string $dict, string $name): int =>
            $this->codes[$dict][$name] ?? $this->lookup($dict, $name));
        $x = $this->txn;
        [$x->amount, $x->timestamp, $x->customer, $x->payment_method, $x->currency, $x->country,
            $x->ip_country, $x->category, $x->outcome] = $row;
    }

    /**
     * The fields of a transaction as TmlTransaction values, in struct order.
     *
     * @param callable(string, string): int $code dictionary, name => code
     * @return array{0: float, 1: int, 2: int, 3: int, 4: int, 5: int, 6: int, 7: int, 8: int}
     */
    private static function normalize(array $t, string $what, callable $code): array
    {
        $amount = $t['amount'] ?? throw self::invalid("{$what} has no amount");
        if (!is_int($amount) && !is_float($amount)) {
            throw self::invalid(sprintf('%s amount must be a number, got %s', $what, get_debug_type($amount)));
        }
        $codes = [];
        foreach (self::DICTIONARIES as $field => $dict) {
            $v = $t[$field] ?? null;
            $codes[] = match (true) {
                $v === null => 0,
                is_int($v) => self::intCode($v, "{$what} {$field}"),
                is_string($v) => $code($dict, $v),
                default => throw self::invalid(sprintf(
                    '%s %s must be a string or an int code, got %s',
                    $what,
                    $field,
                    get_debug_type($v)
                )),
            };
        }
        return [
            (float) $amount,
            self::timestamp($t['timestamp'] ?? throw self::invalid("{$what} has no timestamp"), "{$what} timestamp"),
            self::id($t['customer'] ?? 0, "{$what} customer"),
            self::id($t['payment_method'] ?? 0, "{$what} payment_method"),
            ...$codes,
            self::outcome($t, $what),
        ];
    }

    /** Grows the history buffers to hold $rows rows. */
    private function reserve(int $rows): void
    {
        if ($rows <= $this->capacity) {
            return;
        }
        $cap = max($rows, 2 * $this->capacity, 128);
        $this->amounts = $this->ffi->new("double[{$cap}]");
        $this->timestamps = $this->ffi->new("int64_t[{$cap}]");
        $this->methods = $this->ffi->new("uint64_t[{$cap}]");
        $this->countries = $this->ffi->new("uint32_t[{$cap}]");
        $this->outcomes = $this->ffi->new("uint32_t[{$cap}]");
        $this->capacity = $cap;
    }

    /** Packs a history (rows or columns) into the reused buffers; returns its length. */
    private function packHistory(array $history): int
    {
        if ($history === []) {
            return 0;
        }
        if (isset($history['amount']) && is_array($history['amount'])) {
            $n = count($history['amount']);
            $columns = [];
            foreach (['amount', 'timestamp', 'payment_method', 'country', 'outcome'] as $key) {
                $column = $history[$key] ?? null;
                if ($column !== null && (!is_array($column) || count($column) !== $n)) {
                    throw self::invalid(sprintf(
                        "history columns differ in length: %d amounts but %s '%s'",
                        $n,
                        is_array($column) ? (string) count($column) : 'a non-array',
                        $key
                    ));
                }
                $columns[$key] = $column === null || array_is_list($column) ? $column : array_values($column);
            }
            if ($columns['timestamp'] === null) {
                throw self::invalid('history has no timestamp column');
            }
            if ($columns['outcome'] === null && isset($history['failed']) && is_array($history['failed'])) {
                $failed = array_values($history['failed']);
                $columns['outcome'] = array_map(static fn (mixed $f): int => $f ? 1 : 0, $failed);
            }
        } else {
            $n = count($history);
            if (!array_is_list($history)) {
                $history = array_values($history);
            }
            $columns = [];
            foreach (['amount', 'timestamp', 'payment_method', 'country', 'outcome'] as $key) {
                $column = array_column($history, $key);
                if (count($column) === $n) {
                    $columns[$key] = $column;
                } elseif ($column === [] && $key === 'outcome' && array_column($history, 'failed') === []) {
                    $columns[$key] = null;
                } elseif ($column === [] && ($key === 'payment_method' || $key === 'country')) {
                    $columns[$key] = null;
                } else {
                    $columns[$key] = $this->rowsColumn($history, $key);
                }
            }
        }
        $this->reserve($n);
        FFI::memcpy($this->amounts, $this->packAmounts($columns['amount']), 8 * $n);
        FFI::memcpy($this->timestamps, $this->packTimestamps($columns['timestamp']), 8 * $n);
        FFI::memcpy($this->methods, $columns['payment_method'] === null ? str_repeat("\0", 8 * $n)
            : $this->packIds($columns['payment_method']), 8 * $n);
        FFI::memcpy($this->countries, $columns['country'] === null ? str_repeat("\0", 4 * $n)
            : $this->packCountries($columns['country']), 4 * $n);
        FFI::memcpy($this->outcomes, $columns['outcome'] === null ? str_repeat("\0", 4 * $n)
            : $this->packOutcomes($columns['outcome']), 4 * $n);
        return $n;
    }

    /** One field of every history row, row by row (rows missing it, or failed => bool). */
    private function rowsColumn(array $rows, string $key): array
    {
        $column = [];
        foreach ($rows as $i => $row) {
            if (!is_array($row)) {
                throw self::invalid(sprintf('history[%d] must be an array, got %s', $i, get_debug_type($row)));
            }
            if ($key === 'outcome') {
                $column[] = self::outcome($row, "history[{$i}]");
            } elseif ($key === 'amount' || $key === 'timestamp') {
                $column[] = $row[$key] ?? throw self::invalid("history[{$i}] has no {$key}");
            } else {
                $column[] = $row[$key] ?? 0;
            }
        }
        return $column;
    }

    private function packAmounts(array $values): string
    {
        try {
            return self::packFloats(...$values);
        } catch (\TypeError) {
            foreach ($values as $i => $v) {
                if (!is_int($v) && !is_float($v)) {
                    throw self::invalid(sprintf('history[%d] amount must be a number, got %s', $i, get_debug_type($v)));
                }
            }
            throw self::invalid('history amounts must be numbers');
        }
    }

    private function packTimestamps(array $values): string
    {
        try {
            return self::packInts(...$values);
        } catch (\TypeError) {
            $ts = [];
            foreach ($values as $i => $v) {
                $ts[] = self::timestamp($v, "history[{$i}] timestamp");
            }
            return pack('q*', ...$ts);
        }
    }

    private function packIds(array $values): string
    {
        try {
            return self::packInts(...$values);
        } catch (\TypeError) {
            if (count($this->ids) >= self::CODE_CACHE_LIMIT) {
                $this->ids = [];
            }
            $packed = self::translate(
                $values,
                8,
                fn (string $v): string => pack('q', $this->ids[$v] ??= self::id($v, ''))
            );
            if ($packed !== null) {
                return $packed;
            }
            $cache = &$this->ids;
            $ids = [];
            foreach ($values as $i => $v) {
                $ids[] = is_string($v)
                    ? $cache[$v] ??= self::id($v, '')
                    : self::id($v, "history[{$i}] payment_method");
            }
            return pack('q*', ...$ids);
        }
    }

    private function packCountries(array $values): string
    {
        try {
            return self::packCodes(...$values);
        } catch (\TypeError) {
            $cache = &$this->codes['country'];
            $packed = self::translate(
                $values,
                4,
                fn (string $v): string => pack('L', $cache[$v] ?? $this->lookup('country', $v))
            );
            if ($packed !== null) {
                return $packed;
            }
            $codes = [];
            foreach ($values as $i => $v) {
                $codes[] = match (true) {
                    is_string($v) => $cache[$v] ?? $this->lookup('country', $v),
                    is_int($v) => self::intCode($v, "history[{$i}] country"),
                    $v === null => 0,
                    default => throw self::invalid(sprintf(
                        'history[%d] country must be a string or an int code, got %s',
                        $i,
                        get_debug_type($v)
                    )),
                };
            }
            return pack('L*', ...$codes);
        }
    }

    private function packOutcomes(array $values): string
    {
        try {
            return self::packCodes(...$values);
        } catch (\TypeError) {
            $packed = self::translate($values, 4, static fn (string $v): ?string => isset(self::OUTCOME_CODES[$v])
                ? pack('L', self::OUTCOME_CODES[$v]) : null);
            if ($packed !== null) {
                return $packed;
            }
            $codes = [];
            foreach ($values as $i => $v) {
                $codes[] = self::outcome(['outcome' => $v], "history[{$i}]");
            }
            return pack('L*', ...$codes);
        }
    }

    /**
     * Packs a column of strings in one strtr() over the joined column: each distinct value
     * (few per history: one customer's cards and countries) is translated to its packed
     * bytes by $pack. Null when a value is not a string, contains NUL, or $pack refuses it
     * (the caller then goes element by element and reports the bad row).
     *
     * @param callable(string): ?string $pack
     */
    private static function translate(array $values, int $width, callable $pack): ?string
    {
        $table = [];
        foreach (array_unique($values) as $v) {
            if (!is_string($v) || str_contains($v, "\0")) {
                return null;
            }
            $bytes = $pack($v);
            if ($bytes === null) {
                return null;
            }
            $table[$v . "\0"] = $bytes;
        }
        $packed = strtr(implode("\0", $values) . "\0", $table);
        return strlen($packed) === $width * count($values) ? $packed : null;
    }

    /** The engine checks the types (strict_types), so these are the fast paths. */
    private static function packFloats(float ...$values): string
    {
        return pack('d*', ...$values);
    }

    private static function packInts(int ...$values): string
    {
        return pack('q*', ...$values);
    }

    /** uint32 codes; an out-of-range int wraps and the library refuses it as outside the schema. */
    private static function packCodes(int ...$values): string
    {
        return pack('L*', ...$values);
    }

    private static function intCode(int $v, string $what): int
    {
        if ($v < 0 || $v > 0xFFFFFFFF) {
            throw self::invalid("{$what} code must be in 0..4294967295, got {$v}");
        }
        return $v;
    }

    /** 0 succeeded, 1 failed, from 'outcome' (int, 'failed'/'succeeded') or 'failed' (bool). */
    private static function outcome(array $t, string $what): int
    {
        $o = $t['outcome'] ?? null;
        if ($o === null) {
            $failed = $t['failed'] ?? false;
            return $failed ? 1 : 0;
        }
        return match ($o) {
            0, 'succeeded', 'success', 'ok', false => 0,
            1, 'failed', 'declined', 'failure', true => 1,
            default => is_int($o) ? $o : throw self::invalid(sprintf(
                "%s outcome must be 'failed', 'succeeded', 1 or 0, got %s",
                $what,
                var_export($o, true)
            )),
        };
    }

    /** An id: ints as they are, strings hashed to 64 bits (xxh3). */
    private static function id(mixed $id, string $what): int
    {
        if (is_int($id)) {
            return $id;
        }
        if (is_string($id)) {
            return unpack('q', hash('xxh3', $id, true))[1];
        }
        throw self::invalid(sprintf('%s must be an int or a string id, got %s', $what, get_debug_type($id)));
    }

    private static function timestamp(mixed $t, string $what): int
    {
        if (is_int($t)) {
            return $t;
        }
        if ($t instanceof \DateTimeInterface) {
            return $t->getTimestamp();
        }
        if (!is_string($t)) {
            throw self::invalid(
                sprintf('%s must be unix seconds or an ISO 8601 string, got %s', $what, get_debug_type($t))
            );
        }
        if (!preg_match('/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i', $t)) {
            throw self::invalid(sprintf(
                "%s '%s' is not ISO 8601 with an offset (e.g. 2026-01-08T19:20:00+01:00 or ...Z)",
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

    private static function checkLayout(FFI $ffi): void
    {
        $size = FFI::sizeof($ffi->type('TmlTransaction'));
        if ($size !== self::TRANSACTION_SIZE) {
            throw new TenantMlException(
                "TmlTransaction is {$size} bytes, this package packs " . self::TRANSACTION_SIZE
            );
        }
    }

    /** A rules config as JSON (an empty rule list stays a list). */
    private static function encodeRules(array $rules): string
    {
        return Native::encodeJson($rules) ?? '{}';
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
        return ['TmlFraudScorer', 'tml_fraud'];
    }
}
