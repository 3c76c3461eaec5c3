<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;

/**
 * Where circuit-breaker state lives.
 *
 *  - BreakerStore::inProcess(): state private to this PHP process.
 *  - BreakerStore::shared($dir): state in a memory-mapped file
 *    ($dir/tenantml-breakers.shm by default, /dev/shm when $dir is null),
 *    shared by every PHP process on the host, so one php-fpm worker's
 *    failures open the breaker for all of them.
 *
 * Breakers are obtained with breaker(). The native store handle is released
 * in __destruct; breakers made from it stay usable (each native breaker keeps
 * its store alive).
 */
final class BreakerStore
{
    private ?CData $handle;

    private function __construct(
        private readonly FFI $ffi,
        CData $handle,
        private readonly ?array $sharedOptions,
    ) {
        $this->handle = $handle;
    }

    /** A store private to this process. */
    public static function inProcess(): self
    {
        $ffi = Native::ffi();
        $out = $ffi->new('TmlBreakerStore*');
        $status = $ffi->tml_breaker_store_new(FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out, null);
    }

    /**
     * Open (or create) the host-wide store file.
     *
     * @param string|null $dir directory of the store file (library default: /dev/shm)
     * @param array{file_name?: string, capacity?: int, mode?: int} $options
     *        file_name (default "tenantml-breakers.shm"), capacity in breaker
     *        slots (default 128), mode of a created file (default 0660)
     */
    public static function shared(?string $dir = null, array $options = []): self
    {
        if ($dir !== null) {
            $options['dir'] = $dir;
        }
        $ffi = Native::ffi();
        $out = $ffi->new('TmlBreakerStore*');
        $status = $ffi->tml_breaker_store_open_shared(Native::encodeJson($options), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out, $options);
    }

    /**
     * Get (creating if needed) the breaker called $name.
     *
     * @param string $name 1..64 bytes of UTF-8
     * @param array<string, mixed> $config breaker config keys (consecutive_failure_threshold,
     *        failure_rate_threshold, slow_call_duration_ms, slow_call_rate_threshold,
     *        sliding_window, minimum_calls, half_open_permits, probe_lease_ms,
     *        open_wait_ms, backoff_multiplier, max_open_wait_ms); [] = defaults
     * @param bool $adoptStoredConfig in a shared store, use the configuration stored by
     *        whoever created the breaker instead of failing with ConfigMismatchException
     */
    public function breaker(string $name, array $config = [], bool $adoptStoredConfig = false): CircuitBreaker
    {
        if (str_contains($name, "\0")) {
            throw new InvalidArgumentException(
                'invalid argument: breaker name must be 1..=64 bytes without NUL, got ' . strlen($name) . ' bytes',
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        $out = $this->ffi->new('TmlBreaker*');
        $status = $this->ffi->tml_breaker_new(
            $this->handle(),
            $name,
            Native::encodeJson($config),
            $adoptStoredConfig,
            FFI::addr($out)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return new CircuitBreaker($this, $this->ffi, $out, $name);
    }

    /**
     * Snapshots of every breaker in the store (see CircuitBreaker::snapshot()).
     *
     * @return list<array<string, mixed>>
     */
    public function snapshots(): array
    {
        $out = $this->ffi->new('char*');
        $status = $this->ffi->tml_breaker_store_snapshot_json($this->handle(), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::decodeJson(Native::takeString($this->ffi, $out));
    }

    /** Prometheus text exposition (format 0.0.4) of every breaker in the store. */
    public function metrics(): string
    {
        $out = $this->ffi->new('char*');
        $status = $this->ffi->tml_breaker_store_metrics($this->handle(), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::takeString($this->ffi, $out);
    }

    /** Whether this store is the host-wide memory-mapped one. */
    public function isShared(): bool
    {
        return $this->sharedOptions !== null;
    }

    /** @internal the native TmlBreakerStore* */
    public function handle(): CData
    {
        if ($this->handle === null) {
            throw new Exception\TenantMlException('the breaker store has been freed');
        }
        return $this->handle;
    }

    public function __destruct()
    {
        $this->free();
    }

    private function free(): void
    {
        if ($this->handle !== null) {
            $this->ffi->tml_breaker_store_free($this->handle);
            $this->handle = null;
        }
    }
}
