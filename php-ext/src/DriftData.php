<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;

/**
 * What the drift classes share: PHP columns packed into the row-major double
 * matrices the C ABI reads, JSON in and out, and the string-returning call
 * pattern.
 *
 * @internal
 */
final class DriftData
{
    private function __construct()
    {
    }

    /**
     * Validate columns keyed by feature name and return their common length.
     *
     * @param array<array-key, mixed> $columns
     */
    public static function rows(array $columns, string $what): int
    {
        if ($columns === []) {
            throw self::invalid("the {$what} data has no feature columns");
        }
        if (array_is_list($columns)) {
            throw self::invalid(
                "the {$what} data must be columns keyed by feature name (['amount' => [...], ...]), got a list"
            );
        }
        $rows = null;
        foreach ($columns as $name => $values) {
            if (!is_array($values)) {
                throw self::invalid(sprintf(
                    "{$what} column '%s' must be an array of numbers, got %s",
                    $name,
                    get_debug_type($values)
                ));
            }
            $n = count($values);
            if ($rows !== null && $n !== $rows) {
                throw self::invalid(sprintf(
                    "{$what} column '%s' has %d values, the others %d; every column needs one value per row",
                    $name,
                    $n,
                    $rows
                ));
            }
            $rows = $n;
        }
        if ($rows === 0) {
            throw self::invalid("the {$what} data has no rows");
        }
        return (int) $rows;
    }

    /** TmlMatrixLayout: feature after feature, which PHP packs a column at a time. */
    public const COLUMN_MAJOR = 1;

    /**
     * Pack `$columns` in the order of `$names` as a column-major `double[rows * features]`
     * (null = NaN, a missing value the library drops and counts). Column by column,
     * `pack('d*', ...$column)` is about five times faster than interleaving rows in PHP.
     *
     * @param array<string, array<array-key, mixed>> $columns
     * @param list<string> $names
     */
    public static function matrix(FFI $ffi, array $columns, array $names, int $rows, string $what): CData
    {
        $extra = array_diff(array_map('strval', array_keys($columns)), $names);
        if ($extra !== []) {
            throw self::invalid(sprintf(
                "the {$what} data has columns that are not features of the reference: %s",
                implode(', ', $extra)
            ));
        }
        $packed = '';
        foreach ($names as $name) {
            if (!array_key_exists($name, $columns)) {
                throw self::invalid("the {$what} data lacks feature '{$name}'");
            }
            $column = array_values($columns[$name]);
            foreach ($column as $i => $v) {
                if (is_float($v)) {
                    continue;
                }
                if (is_int($v)) {
                    $column[$i] = (float) $v;
                } elseif ($v === null) {
                    $column[$i] = NAN;
                } else {
                    throw self::invalid(sprintf(
                        "{$what} feature '%s' row %d must be a number or null, got %s",
                        $name,
                        $i,
                        get_debug_type($v)
                    ));
                }
            }
            $packed .= pack('d*', ...$column);
        }
        $n = $rows * count($names);
        $buffer = $ffi->new('double[' . max($n, 1) . ']');
        FFI::memcpy($buffer, $packed, $n * 8);
        return $buffer;
    }

    /**
     * A `double[n]` holding `$values` (a list of numbers; null = NaN when allowed).
     *
     * @param array<array-key, mixed> $values
     */
    public static function vector(FFI $ffi, array $values, string $what, bool $nullIsNan): CData
    {
        $flat = [];
        foreach (array_values($values) as $i => $v) {
            if (is_float($v) || is_int($v)) {
                $flat[] = (float) $v;
            } elseif ($v === null && $nullIsNan) {
                $flat[] = NAN;
            } else {
                throw self::invalid(sprintf('%s[%d] must be a number, got %s', $what, $i, get_debug_type($v)));
            }
        }
        return self::doubles($ffi, $flat);
    }

    /** @param list<float> $flat */
    private static function doubles(FFI $ffi, array $flat): CData
    {
        $n = count($flat);
        $buffer = $ffi->new('double[' . max($n, 1) . ']');
        if ($n > 0) {
            FFI::memcpy($buffer, pack('d*', ...$flat), $n * 8);
        }
        return $buffer;
    }

    /** A `uint8_t[]` copy of `$bytes` (null when empty). */
    public static function bytes(FFI $ffi, string $bytes): ?CData
    {
        $len = strlen($bytes);
        if ($len === 0) {
            return null;
        }
        $data = $ffi->new("uint8_t[{$len}]");
        FFI::memcpy($data, $bytes, $len);
        return $data;
    }

    /**
     * Run a call whose last argument is a `char **` out-parameter and return the
     * string it wrote (freed with tml_string_free).
     *
     * @param callable(CData): int $call receives FFI::addr of the out slot
     */
    public static function callString(FFI $ffi, callable $call): string
    {
        $out = $ffi->new('char*');
        $status = $call(FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return Native::takeString($ffi, $out);
    }

    /**
     * JSON for a config or params array: null for [] (library defaults), and empty
     * arrays under `$objectKeys` sent as {}.
     *
     * @param array<string, mixed> $value
     * @param list<string> $objectKeys
     */
    public static function json(array $value, array $objectKeys = []): ?string
    {
        if ($value === []) {
            return null;
        }
        if (array_is_list($value)) {
            throw self::invalid('options must be an array keyed by name, got a list');
        }
        foreach ($objectKeys as $key) {
            if (($value[$key] ?? null) === []) {
                $value[$key] = new \stdClass();
            }
        }
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

    public static function invalid(string $message): InvalidArgumentException
    {
        return new InvalidArgumentException("invalid argument: {$message}", Native::STATUS_INVALID_ARGUMENT);
    }
}
