<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;

/**
 * Host-wide metrics in Prometheus text format 0.0.4.
 *
 * Every prediction made through this package (UsagePredictor, FraudScorer,
 * ChurnPredictor) is counted by the library itself, with its latency, per
 * model name and outcome (the regime that answered). Until openShared() is
 * called the counts are private to this PHP process; after it they live in a
 * memory-mapped file every worker on the host shares, so the /metrics page is
 * the host's whichever php-fpm worker serves it:
 *
 *     Telemetry::openShared();                      // once per worker (cheap to repeat)
 *     Route::get('/metrics', fn () => response(Telemetry::metrics($breakers))
 *         ->header('Content-Type', Telemetry::CONTENT_TYPE));
 *
 * recordPrediction() counts predictions made elsewhere (e.g. the platform's
 * remaining HTTP calls), setModelVersion() the model version a worker loaded.
 */
final class Telemetry
{
    public const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

    /** Default file of the shared table (memory-backed). */
    public const DEFAULT_PATH = '/dev/shm/tenantml-metrics.shm';

    private function __construct()
    {
    }

    /**
     * Open (creating if needed) the host-wide metrics file and make it this
     * process's recorder. Calling it again with the same path does nothing, so
     * it may run on every request; another path replaces the recorder.
     *
     * @param string|null $path the file (null: /dev/shm/tenantml-metrics.shm)
     * @param int $capacity series the file holds when created (0: 1024)
     */
    public static function openShared(?string $path = null, int $capacity = 0): void
    {
        if ($capacity < 0 || $capacity > 0xFFFFFFFF) {
            throw new Exception\InvalidArgumentException("capacity must be 0..4294967295, got {$capacity}");
        }
        $ffi = Native::ffi();
        Native::check($ffi->tml_telemetry_open_shared($path, $capacity));
    }

    /**
     * Count one prediction of $model answered by $outcome (e.g. 'model',
     * 'fallback') that took $seconds. Labels are 1..64 bytes of UTF-8.
     */
    public static function recordPrediction(string $model, string $outcome, float $seconds): void
    {
        if (!is_finite($seconds) || $seconds < 0.0) {
            throw new Exception\InvalidArgumentException("seconds must be finite and >= 0, got {$seconds}");
        }
        $ns = $seconds * 1e9;
        // PHP_INT_MAX ns is 292 years: longer latencies are clamped, not wrapped.
        $ns = $ns >= (float) PHP_INT_MAX ? PHP_INT_MAX : (int) round($ns);
        $ffi = Native::ffi();
        Native::check($ffi->tml_telemetry_record_prediction($model, $outcome, $ns));
    }

    /** Set tenantml_model_version_in_use{model} (e.g. after loading a model from the registry). */
    public static function setModelVersion(string $model, int $version): void
    {
        if ($version < 0) {
            throw new Exception\InvalidArgumentException("version must be >= 0, got {$version}");
        }
        $ffi = Native::ffi();
        Native::check($ffi->tml_telemetry_set_model_version($model, $version));
    }

    /**
     * Set tenantml_drift_score{model,feature} and tenantml_drift_detected{model}
     * from a drift report (as DriftDetector, UsagePredictor::featureDrift()
     * return it, or its JSON).
     *
     * @param array<string, mixed>|string $report
     */
    public static function recordDrift(string $model, array|string $report): void
    {
        $json = is_string($report) ? $report : Native::encodeJson($report);
        $ffi = Native::ffi();
        Native::check($ffi->tml_telemetry_record_drift($model, $json));
    }

    /**
     * The Prometheus page: this process's recorder (the host's after
     * openShared()), then every breaker of $breakers when given.
     */
    public static function metrics(?BreakerStore $breakers = null): string
    {
        $ffi = Native::ffi();
        $out = $ffi->new('char*');
        $status = $ffi->tml_telemetry_metrics($breakers?->handle(), FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return Native::takeString($ffi, $out);
    }
}
