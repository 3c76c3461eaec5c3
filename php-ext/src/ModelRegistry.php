<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\TenantMlException;

/**
 * A versioned model store in a local directory, safe with several PHP workers
 * (and hosts sharing the directory's file system) writing at once.
 *
 *     $registry = ModelRegistry::open(storage_path('models'));
 *     $v = $registry->save('fraud', $scorer, ['training_metrics' => ['auc' => 0.93]]);
 *     $registry->promote('fraud', $v);                  // saving alone does not go live
 *     $live = $registry->load('fraud', FraudScorer::class);
 *     $registry->rollback('fraud');                     // back to the previous promotion
 *     $registry->retain('fraud', 5);                    // keep the newest 5 (and the live one)
 *
 * Each version is the model file (any class with toBytes()/fromBytes():
 * Model, UsagePredictor, FraudScorer, ChurnPredictor) plus a sidecar: model
 * type, feature schema hash, training metrics, config, drift reference
 * summary, library version, size and checksum. Versions are never
 * overwritten; loading verifies the checksums, and a damaged version fails
 * alone (BadModelFileException, RegistryCorruptException) while the others
 * still load. loadBytes()/saveBytes() move the same bytes to and from any
 * Laravel filesystem disk (S3 and the like).
 *
 * A version argument of null means the promoted version, or the newest when
 * none was promoted.
 */
final class ModelRegistry
{
    private ?CData $handle;

    private function __construct(private FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
    }

    /**
     * Open (creating if needed) the registry rooted at $dir.
     *
     * @throws \TenantMl\Exception\IoException when the directory cannot be created
     */
    public static function open(string $dir): self
    {
        $ffi = Native::ffi();
        $out = $ffi->new('TmlRegistry*');
        self::check($ffi, $ffi->tml_registry_open(self::text($dir, 'directory'), FFI::addr($out)));
        return new self($ffi, $out);
    }

    /**
     * Store a model (any object with toBytes(): string) as a new version; returns its number.
     *
     * @param array{config?: mixed, training_metrics?: array<string, float>} $metadata
     */
    public function save(string $name, object $model, array $metadata = []): int
    {
        if (!method_exists($model, 'toBytes')) {
            throw new InvalidArgumentException(
                sprintf('invalid argument: %s has no toBytes() method', get_class($model)),
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        return $this->saveBytes($name, $model->toBytes(), $metadata);
    }

    /**
     * Store model file bytes (toBytes() output) as a new version; returns its number.
     *
     * @param array{config?: mixed, training_metrics?: array<string, float>} $metadata
     * @throws \TenantMl\Exception\BadModelFileException when the bytes are not a model file
     */
    public function saveBytes(string $name, string $bytes, array $metadata = []): int
    {
        $len = strlen($bytes);
        $data = null;
        if ($len > 0) {
            $data = $this->ffi->new("uint8_t[{$len}]");
            FFI::memcpy($data, $bytes, $len);
        }
        $version = $this->ffi->new('uint64_t');
        self::check($this->ffi, $this->ffi->tml_registry_save_bytes(
            $this->live(),
            self::text($name, 'name'),
            $data,
            $len,
            self::metadataJson($metadata),
            FFI::addr($version)
        ));
        return (int) $version->cdata;
    }

    /**
     * Load a version as an instance of $class (via $class::fromBytes()).
     *
     * @template T of object
     * @param class-string<T> $class
     * @return T
     * @throws \TenantMl\Exception\SchemaMismatchException when $expectedSchemaHash differs
     */
    public function load(string $name, string $class, ?int $version = null, ?string $expectedSchemaHash = null): object
    {
        if (!method_exists($class, 'fromBytes')) {
            throw new InvalidArgumentException(
                "invalid argument: {$class} has no fromBytes() method",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        return $class::fromBytes($this->loadBytes($name, $version, $expectedSchemaHash)['bytes']);
    }

    /**
     * A version's verified model file bytes and its sidecar.
     *
     * @return array{bytes: string, info: array<string, mixed>}
     */
    public function loadBytes(string $name, ?int $version = null, ?string $expectedSchemaHash = null): array
    {
        $bytes = $this->ffi->new('TmlBytes');
        $info = $this->ffi->new('char*');
        self::check($this->ffi, $this->ffi->tml_registry_load_bytes(
            $this->live(),
            self::text($name, 'name'),
            self::version($version),
            $expectedSchemaHash === null ? null : self::text($expectedSchemaHash, 'schema hash'),
            FFI::addr($bytes),
            FFI::addr($info)
        ));
        try {
            $data = $bytes->len === 0 ? '' : FFI::string($bytes->data, $bytes->len);
        } finally {
            $this->ffi->tml_bytes_free($bytes->data, $bytes->len);
        }
        return ['bytes' => $data, 'info' => Native::decodeJson(Native::takeString($this->ffi, $info))];
    }

    /**
     * Every version of $name, ascending: ['version', 'current', 'info' (sidecar or
     * null), 'error' (why it does not load, or null)]. Damaged versions are listed.
     *
     * @return list<array{version: int, current: bool, info: array<string, mixed>|null, error: string|null}>
     */
    public function versions(string $name): array
    {
        $out = $this->ffi->new('char*');
        self::check($this->ffi, $this->ffi->tml_registry_list_json(
            $this->live(),
            self::text($name, 'name'),
            FFI::addr($out)
        ));
        return Native::decodeJson(Native::takeString($this->ffi, $out));
    }

    /** @return list<string> the model names, sorted */
    public function names(): array
    {
        $out = $this->ffi->new('char*');
        self::check($this->ffi, $this->ffi->tml_registry_names_json($this->live(), FFI::addr($out)));
        return Native::decodeJson(Native::takeString($this->ffi, $out));
    }

    /** The promoted version, or null when none was promoted. */
    public function current(string $name): ?int
    {
        $out = $this->ffi->new('uint64_t');
        self::check($this->ffi, $this->ffi->tml_registry_current(
            $this->live(),
            self::text($name, 'name'),
            FFI::addr($out)
        ));
        $version = (int) $out->cdata;
        return $version === 0 ? null : $version;
    }

    /** Make $version the live one (it must load). */
    public function promote(string $name, int $version): void
    {
        self::check($this->ffi, $this->ffi->tml_registry_promote(
            $this->live(),
            self::text($name, 'name'),
            self::version($version)
        ));
    }

    /**
     * Return to the previously promoted version; returns it.
     *
     * @throws \TenantMl\Exception\InvalidArgumentException when there is none
     */
    public function rollback(string $name): int
    {
        $out = $this->ffi->new('uint64_t');
        self::check($this->ffi, $this->ffi->tml_registry_rollback(
            $this->live(),
            self::text($name, 'name'),
            FFI::addr($out)
        ));
        return (int) $out->cdata;
    }

    /** Delete all but the newest $keep (>= 1) versions, never the promoted one; returns how many went. */
    public function retain(string $name, int $keep): int
    {
        if ($keep < 1) {
            throw new InvalidArgumentException(
                "invalid argument: retain keeps at least 1 version, got {$keep}",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        $out = $this->ffi->new('size_t');
        self::check($this->ffi, $this->ffi->tml_registry_retain(
            $this->live(),
            self::text($name, 'name'),
            $keep,
            FFI::addr($out)
        ));
        return (int) $out->cdata;
    }

    /** Release the native handle now (also done on destruction). */
    public function free(): void
    {
        if ($this->handle !== null) {
            $this->ffi->tml_registry_free($this->handle);
            $this->handle = null;
        }
    }

    public function __destruct()
    {
        $this->free();
    }

    /** An instance owns its native handle: open the directory again instead. */
    private function __clone()
    {
    }

    private function live(): CData
    {
        return $this->handle ?? throw new TenantMlException('this ModelRegistry has been released');
    }

    private static function check(FFI $ffi, int $status): void
    {
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
    }

    private static function text(string $value, string $what): string
    {
        if (str_contains($value, "\0")) {
            throw new InvalidArgumentException(
                "invalid argument: {$what} contains a NUL byte",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        return $value;
    }

    /** null (promoted or newest) becomes the C ABI's 0; versions start at 1. */
    private static function version(?int $version): int
    {
        if ($version !== null && $version < 1) {
            throw new InvalidArgumentException(
                "invalid argument: versions start at 1, got {$version}",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        return $version ?? 0;
    }

    /** @param array<string, mixed> $metadata */
    private static function metadataJson(array $metadata): ?string
    {
        // Empty PHP arrays stand for empty JSON objects here (training_metrics is a map).
        foreach (['config', 'training_metrics'] as $key) {
            if (($metadata[$key] ?? null) === []) {
                $metadata[$key] = new \stdClass();
            }
        }
        return Native::encodeJson($metadata);
    }
}
