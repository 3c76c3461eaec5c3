<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\TenantMlException;

/**
 * A streaming change detector over a stream of values (typically a model's
 * errors): Page-Hinkley (shifts of the mean) or ADWIN (adaptive window), the
 * algorithms of river with the same detections. php-fpm keeps nothing between
 * requests, so the detector's state is JSON the application stores:
 *
 *     $json = Cache::get('errors-detector');
 *     $detector = $json === null ? StreamingDetector::pageHinkley() : StreamingDetector::fromJson($json);
 *     if ($detector->update(abs($actual - $predicted))) {
 *         // the error stream shifted: feed RetrainPolicy with error_drift_detected
 *     }
 *     Cache::put('errors-detector', $detector->toJson());
 *
 * After a detection the detector starts afresh on its next value. Values must
 * be finite: NAN or INF is an InvalidArgumentException and changes nothing.
 */
final class StreamingDetector
{
    private ?CData $handle;
    private CData $detected;
    private CData $first;
    private CData $count;

    private function __construct(private FFI $ffi, CData $handle)
    {
        $this->handle = $handle;
        $this->detected = $ffi->new('bool');
        $this->first = $ffi->new('int64_t');
        $this->count = $ffi->new('size_t');
    }

    /**
     * @param array<string, mixed> $params min_instances (30), delta (0.005), threshold
     *        (lambda, 50), alpha (1 - 1e-4), mode ('both' | 'up' | 'down')
     */
    public static function pageHinkley(array $params = []): self
    {
        return self::create('page_hinkley', $params);
    }

    /**
     * @param array<string, mixed> $params delta (0.002), clock (32), max_buckets (5),
     *        min_window_length (5), grace_period (10)
     */
    public static function adwin(array $params = []): self
    {
        return self::create('adwin', $params);
    }

    /**
     * A detector from toJson() output.
     *
     * @throws Exception\ParseException for malformed or tampered state
     */
    public static function fromJson(string $json): self
    {
        if (str_contains($json, "\0")) {
            throw DriftData::invalid('the detector state contains a NUL byte');
        }
        $ffi = Native::ffi();
        $out = $ffi->new('TmlDriftDetector*');
        $status = $ffi->tml_drift_detector_from_json($json, FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    /** Add one value; true when drift is detected at it. */
    public function update(float $x): bool
    {
        $status = $this->ffi->tml_drift_detector_update($this->live(), $x, FFI::addr($this->detected));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return $this->detected->cdata;
    }

    /**
     * Add values in order.
     *
     * @param list<int|float> $xs
     * @return array{first_detection: int|null, detections: int} index of the first value at
     *         which drift was detected, and how many detections there were
     */
    public function updateMany(array $xs): array
    {
        $values = DriftData::vector($this->ffi, $xs, 'xs', false);
        $status = $this->ffi->tml_drift_detector_update_many(
            $this->live(),
            $values,
            count($xs),
            FFI::addr($this->first),
            FFI::addr($this->count)
        );
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        $first = $this->first->cdata;
        return ['first_detection' => $first < 0 ? null : $first, 'detections' => $this->count->cdata];
    }

    /** The state (kind, settings, running sums) as JSON, for fromJson(). */
    public function toJson(): string
    {
        return DriftData::callString(
            $this->ffi,
            fn ($out) => $this->ffi->tml_drift_detector_state_json($this->live(), $out)
        );
    }

    /** 'page_hinkley' or 'adwin'. */
    public function kind(): string
    {
        return (string) Native::decodeJson($this->toJson())['kind'];
    }

    /** Release the native detector now (also done on destruction); later use throws. */
    public function free(): void
    {
        if ($this->handle !== null) {
            $this->ffi->tml_drift_detector_free($this->handle);
            $this->handle = null;
        }
    }

    public function __destruct()
    {
        $this->free();
    }

    /** serialize() stores the JSON state (e.g. for a Laravel cache store). */
    public function __serialize(): array
    {
        return ['state' => $this->toJson()];
    }

    /** @param array{state: string} $data */
    public function __unserialize(array $data): void
    {
        if (!is_string($data['state'] ?? null)) {
            throw new TenantMlException('serialized StreamingDetector has no state');
        }
        $other = self::fromJson($data['state']);
        foreach (get_object_vars($other) as $name => $value) {
            $this->{$name} = $value;
        }
        $other->handle = null;
    }

    /** A detector owns its native handle: copy it with fromJson($d->toJson()). */
    private function __clone()
    {
    }

    /** @param array<string, mixed> $params */
    private static function create(string $kind, array $params): self
    {
        $ffi = Native::ffi();
        $out = $ffi->new('TmlDriftDetector*');
        $status = $ffi->tml_drift_detector_new($kind, DriftData::json($params), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return new self($ffi, $out);
    }

    private function live(): CData
    {
        return $this->handle ?? throw new TenantMlException('this StreamingDetector has been released');
    }
}
