<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\AbiMismatchException;
use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Exception\ConfigMismatchException;
use TenantMl\Exception\InternalPanicException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\IoException;
use TenantMl\Exception\LibraryNotFoundException;
use TenantMl\Exception\NotFittedException;
use TenantMl\Exception\NullPointerException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\RegistryCorruptException;
use TenantMl\Exception\SchemaMismatchException;
use TenantMl\Exception\StoreCorruptException;
use TenantMl\Exception\StoreFullException;
use TenantMl\Exception\TenantMlException;

/**
 * Loads libtenantml through PHP's FFI extension, once per process.
 *
 * Resolution order:
 *  1. the FFI scope "TENANTML" when php was started with
 *     `ffi.preload=<header from bin/tenantml-preload.php>` (php-fpm: the
 *     library is then loaded once by the master process; the scope names its
 *     own absolute library path, so a path given here is not used). Outside
 *     the CLI, ffi.enable=preload also requires opcache.preload=php-ext/preload.php
 *     so that these classes may use the FFI API;
 *  2. otherwise FFI::cdef(<header>, <library>) where the library is the
 *     explicit path argument, else env TENANTML_LIB, else this repository's
 *     target/release/libtenantml.so; the header is env TENANTML_HEADER, else
 *     include/tenantml.h of the repository the library was built in, else
 *     tenantml.h next to the library.
 *
 * The ABI version reported by the library must equal self::ABI_VERSION.
 * Every non-zero TmlStatus becomes an exception from TenantMl\Exception\*.
 */
final class Native
{
    /** C ABI version this package speaks (TML_ABI_VERSION in tenantml.h). */
    public const ABI_VERSION = 2;

    /** FFI scope name written by bin/tenantml-preload.php. */
    public const SCOPE = 'TENANTML';

    public const LIBRARY_FILE = 'libtenantml.so';

    public const STATUS_OK = 0;
    public const STATUS_INVALID_ARGUMENT = 1;
    public const STATUS_NULL_POINTER = 2;
    public const STATUS_PARSE_ERROR = 3;
    public const STATUS_IO = 4;
    public const STATUS_BAD_MODEL_FILE = 100;
    public const STATUS_NOT_FITTED = 101;
    public const STATUS_REGISTRY_CORRUPT = 102;
    public const STATUS_SCHEMA_MISMATCH = 103;
    public const STATUS_CIRCUIT_OPEN = 200;
    public const STATUS_CONFIG_MISMATCH = 201;
    public const STATUS_STORE_FULL = 202;
    public const STATUS_STORE_CORRUPT = 203;
    public const STATUS_INTERNAL_PANIC = 900;

    /** @var array<int, class-string<TenantMlException>> */
    private const EXCEPTIONS = [
        self::STATUS_INVALID_ARGUMENT => InvalidArgumentException::class,
        self::STATUS_NULL_POINTER => NullPointerException::class,
        self::STATUS_PARSE_ERROR => ParseException::class,
        self::STATUS_IO => IoException::class,
        self::STATUS_BAD_MODEL_FILE => BadModelFileException::class,
        self::STATUS_NOT_FITTED => NotFittedException::class,
        self::STATUS_REGISTRY_CORRUPT => RegistryCorruptException::class,
        self::STATUS_SCHEMA_MISMATCH => SchemaMismatchException::class,
        self::STATUS_CIRCUIT_OPEN => CircuitOpenException::class,
        self::STATUS_CONFIG_MISMATCH => ConfigMismatchException::class,
        self::STATUS_STORE_FULL => StoreFullException::class,
        self::STATUS_STORE_CORRUPT => StoreCorruptException::class,
        self::STATUS_INTERNAL_PANIC => InternalPanicException::class,
    ];

    private static ?FFI $ffi = null;

    /** "scope" or the absolute path of the library given to FFI::cdef. */
    private static ?string $source = null;

    private function __construct()
    {
    }

    /**
     * The process-wide FFI instance, loading the library on first use.
     *
     * @param string|null $libraryPath explicit path to libtenantml.so (ignored when the preloaded scope exists)
     */
    public static function ffi(?string $libraryPath = null): FFI
    {
        if (self::$ffi !== null) {
            if ($libraryPath !== null && self::$source !== 'scope' && self::$source !== self::realpath($libraryPath)) {
                throw new TenantMlException(sprintf(
                    'libtenantml is already loaded from %s in this process; cannot also load %s',
                    self::$source,
                    $libraryPath
                ));
            }
            return self::$ffi;
        }

        $scope = self::preloadedScope();
        if ($scope !== null) {
            self::checkAbi($scope, 'preloaded FFI scope ' . self::SCOPE);
            self::$source = 'scope';
            return self::$ffi = $scope;
        }

        $library = self::findLibrary($libraryPath);
        $ffi = self::load($library, self::findHeader($library));
        self::$source = $library;
        return self::$ffi = $ffi;
    }

    /**
     * Where the process-wide instance came from: "scope" (ffi.preload) or the
     * library path given to FFI::cdef; null before the first load.
     */
    public static function source(): ?string
    {
        return self::$source;
    }

    /** Whether the preloaded scope (not FFI::cdef) is in use. */
    public static function usesPreloadedScope(): bool
    {
        return self::$source === 'scope';
    }

    /**
     * FFI::cdef the given header against the given library and check its ABI
     * version. Not cached: use ffi() for the shared process-wide instance.
     */
    public static function load(string $libraryPath, string $headerPath): FFI
    {
        $header = self::headerDeclarations($headerPath);
        try {
            $ffi = FFI::cdef($header, $libraryPath);
        } catch (FFI\Exception $e) {
            if (str_contains($e->getMessage(), 'restricted')) {
                throw self::restricted($e);
            }
            throw new LibraryNotFoundException(
                "cannot load {$libraryPath} with header {$headerPath}: " . $e->getMessage(),
                0,
                $e
            );
        }
        self::checkAbi($ffi, $libraryPath);
        return $ffi;
    }

    /**
     * The C declarations of a tenantml.h, ready for FFI::cdef / ffi.preload.
     *
     * The header is meant to be plain C already; as a safety net, lines FFI's
     * parser rejects but that declare nothing (#include, #pragma once, a
     * single-line #define) are dropped. Other directives are left in and will
     * make FFI report the line.
     */
    public static function headerDeclarations(string $headerPath): string
    {
        $header = @file_get_contents($headerPath);
        if ($header === false) {
            throw new LibraryNotFoundException("cannot read the tenantml C header {$headerPath}");
        }
        return (string) preg_replace('/^[ \t]*#[ \t]*(include|pragma|define)\b[^\n]*$/m', '', $header);
    }

    /** Version string of the loaded library, e.g. "0.1.0". */
    public static function version(): string
    {
        // FFI returns `const char *` results as PHP strings (static string: do not free).
        $version = self::ffi()->tml_version();
        return $version instanceof CData ? FFI::string($version) : (string) $version;
    }

    /**
     * Throw the exception for a non-zero status; does nothing for 0.
     *
     * Hot paths inline `if ($status !== 0) { throw Native::exception(...); }`
     * so that a successful call pays one integer comparison and no call.
     */
    public static function check(int $status): void
    {
        if ($status !== 0) {
            throw self::exception($status);
        }
    }

    /** Build (not throw) the exception for a non-zero status, with tml_last_error()'s message. */
    public static function exception(int $status, ?FFI $ffi = null): TenantMlException
    {
        $class = self::EXCEPTIONS[$status] ?? TenantMlException::class;
        $message = self::lastError($ffi ?? self::$ffi) ?? "tenantml call failed with status {$status}";
        if (!isset(self::EXCEPTIONS[$status])) {
            $message = "unknown tenantml status {$status}: {$message}";
        }
        return new $class($message, $status);
    }

    /** Message of the last failed call on this thread, or null. */
    public static function lastError(?FFI $ffi = null): ?string
    {
        $ffi ??= self::$ffi;
        if ($ffi === null) {
            return null;
        }
        // FFI turns a `const char *` result into a PHP string (NULL into null);
        // the buffer is thread-local and owned by the library: do not free.
        $message = $ffi->tml_last_error();
        if ($message instanceof CData) {
            return FFI::isNull($message) ? null : FFI::string($message);
        }
        return $message;
    }

    /**
     * Copy a library-owned string from a `char*` out-parameter and free it
     * with tml_string_free.
     */
    public static function takeString(FFI $ffi, CData $charPtr): string
    {
        if (FFI::isNull($charPtr)) {
            return '';
        }
        try {
            return FFI::string($charPtr);
        } finally {
            $ffi->tml_string_free($charPtr);
        }
    }

    /** Decode a JSON document the library returned. */
    public static function decodeJson(string $json): array
    {
        return json_decode($json, true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * Encode a PHP array as the JSON object the library expects, or null for
     * an empty array (library defaults).
     */
    public static function encodeJson(array $value): ?string
    {
        if ($value === []) {
            return null;
        }
        try {
            return json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
        } catch (\JsonException $e) {
            throw new ParseException(
                'parse error: cannot encode as JSON: ' . $e->getMessage(),
                self::STATUS_PARSE_ERROR,
                $e
            );
        }
    }

    /** The library path ffi() would load, or a LibraryNotFoundException naming the paths tried. */
    public static function findLibrary(?string $libraryPath = null): string
    {
        if ($libraryPath !== null && $libraryPath !== '') {
            $tried = [[$libraryPath, 'argument']];
        } elseif (($env = getenv('TENANTML_LIB')) !== false && $env !== '') {
            $tried = [[$env, 'TENANTML_LIB']];
        } else {
            $tried = [[self::repositoryRoot() . '/target/release/' . self::LIBRARY_FILE, 'repository build']];
        }
        foreach ($tried as [$path]) {
            if (is_file($path)) {
                return self::realpath($path);
            }
        }
        throw new LibraryNotFoundException(
            'libtenantml not found; tried: ' . self::describe($tried)
            . '. Build it with `cargo build --release` or set TENANTML_LIB'
        );
    }

    /** The header path for a library, or a LibraryNotFoundException naming the paths tried. */
    public static function findHeader(string $libraryPath): string
    {
        $env = getenv('TENANTML_HEADER');
        if ($env !== false && $env !== '') {
            $tried = [[$env, 'TENANTML_HEADER']];
        } else {
            $tried = [
                [dirname($libraryPath, 3) . '/include/tenantml.h', 'repository of the library'],
                [dirname($libraryPath) . '/tenantml.h', 'next to the library'],
                [self::repositoryRoot() . '/include/tenantml.h', 'repository of this package'],
            ];
        }
        foreach ($tried as [$path]) {
            if (is_file($path)) {
                return self::realpath($path);
            }
        }
        throw new LibraryNotFoundException(
            'tenantml.h not found; tried: ' . self::describe($tried) . '. Set TENANTML_HEADER'
        );
    }

    /** Root of the repository this package lives in (php-ext/..). */
    public static function repositoryRoot(): string
    {
        return dirname(__DIR__, 2);
    }

    /** The preloaded scope, or null when php was not started with a tenantml ffi.preload. */
    private static function preloadedScope(): ?FFI
    {
        try {
            return FFI::scope(self::SCOPE);
        } catch (FFI\Exception $e) {
            if (str_contains($e->getMessage(), 'restricted')) {
                throw self::restricted($e);
            }
            return null;
        }
    }

    private static function restricted(FFI\Exception $e): TenantMlException
    {
        return new TenantMlException(
            $e->getMessage() . ' (ffi.enable=' . ini_get('ffi.enable') . '): with ffi.enable=preload outside the CLI, '
            . 'set ffi.preload to the header from php-ext/bin/tenantml-preload.php and opcache.preload to '
            . 'php-ext/preload.php, or set ffi.enable=true',
            0,
            $e
        );
    }

    private static function checkAbi(FFI $ffi, string $what): void
    {
        $abi = $ffi->tml_abi_version();
        if ($abi !== self::ABI_VERSION) {
            throw new AbiMismatchException(sprintf(
                'tenantml ABI mismatch: %s reports ABI version %d, this PHP package requires ABI version %d; '
                . 'rebuild the library or install the matching tenantml/tenantml version',
                $what,
                $abi,
                self::ABI_VERSION
            ));
        }
    }

    /** @param list<array{string, string}> $tried [path, where it came from] */
    private static function describe(array $tried): string
    {
        $seen = [];
        foreach ($tried as [$path, $origin]) {
            $seen[$path] ??= "{$path} ({$origin})";
        }
        return implode(', ', $seen);
    }

    private static function realpath(string $path): string
    {
        $real = realpath($path);
        return $real === false ? $path : $real;
    }
}
