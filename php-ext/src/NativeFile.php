<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\TenantMlException;

/**
 * What every class owning a native model handle shares: reading it from bytes or a file,
 * writing it back, freeing it, serialize()/unserialize() through the bytes, and refusing
 * use after release. The class names its C type and function prefix (e.g. TmlChurnPredictor
 * and tml_churn: tml_churn_from_bytes, _load, _to_bytes, _save, _free) and has a private
 * constructor taking (FFI, CData handle).
 *
 * @internal
 */
trait NativeFile
{
    /** @return array{0: string, 1: string} the C handle type and the function prefix */
    abstract private static function native(): array;

    /**
     * Read from toBytes() output (the model file format).
     *
     * @throws \TenantMl\Exception\BadModelFileException for empty, truncated, corrupted,
     *         foreign or newer-version bytes
     */
    public static function fromBytes(string $bytes): self
    {
        [$type, $prefix] = self::native();
        $ffi = Native::ffi();
        $len = strlen($bytes);
        $data = null;
        if ($len > 0) {
            $data = $ffi->new("uint8_t[{$len}]");
            FFI::memcpy($data, $bytes, $len);
        }
        $out = $ffi->new("{$type}*");
        self::check($ffi, $ffi->{"{$prefix}_from_bytes"}($data, $len, FFI::addr($out)));
        return new self($ffi, $out);
    }

    /**
     * Read a file written by save().
     *
     * @throws \TenantMl\Exception\IoException when the file cannot be read
     * @throws \TenantMl\Exception\BadModelFileException when it is not a valid file of this kind
     */
    public static function load(string $path): self
    {
        [$type, $prefix] = self::native();
        $ffi = Native::ffi();
        $out = $ffi->new("{$type}*");
        self::check($ffi, $ffi->{"{$prefix}_load"}(self::path($path), FFI::addr($out)));
        return new self($ffi, $out);
    }

    /** The model file format (versioned, checksummed), e.g. for a Laravel filesystem disk. */
    public function toBytes(): string
    {
        $bytes = $this->ffi->new('TmlBytes');
        self::check($this->ffi, $this->ffi->{self::native()[1] . '_to_bytes'}($this->live(), FFI::addr($bytes)));
        try {
            return $bytes->len === 0 ? '' : FFI::string($bytes->data, $bytes->len);
        } finally {
            $this->ffi->tml_bytes_free($bytes->data, $bytes->len);
        }
    }

    /**
     * Write the file atomically (temporary file, fsync, rename).
     *
     * @throws \TenantMl\Exception\IoException when it cannot be written
     */
    public function save(string $path): void
    {
        self::check($this->ffi, $this->ffi->{self::native()[1] . '_save'}($this->live(), self::path($path)));
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->ffi->{self::native()[1] . '_free'}($this->handle);
            $this->handle = null;
        }
    }

    /** serialize() stores the bytes (e.g. for a Laravel cache store). */
    public function __serialize(): array
    {
        return ['bytes' => $this->toBytes()];
    }

    /** @param array{bytes: string} $data */
    public function __unserialize(array $data): void
    {
        if (!is_string($data['bytes'] ?? null)) {
            throw new TenantMlException(sprintf('serialized %s has no model bytes', self::class));
        }
        // Take over a fresh instance's state (handle and buffers) and leave it nothing to free.
        $other = self::fromBytes($data['bytes']);
        foreach (get_object_vars($other) as $name => $value) {
            $this->{$name} = $value;
        }
        $other->handle = null;
    }

    /** An instance owns its native handle: copy it with fromBytes($x->toBytes()). */
    private function __clone()
    {
    }

    private function live(): CData
    {
        return $this->handle ?? throw new TenantMlException(sprintf(
            'this %s has been released',
            substr(self::class, strrpos(self::class, '\\') + 1)
        ));
    }

    private static function check(FFI $ffi, int $status): void
    {
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
    }

    private static function path(string $path): string
    {
        if (str_contains($path, "\0")) {
            throw new InvalidArgumentException(
                'invalid argument: path contains a NUL byte',
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        return $path;
    }
}
