<?php

declare(strict_types=1);

/*
 * tenantml configuration. Publish with:
 *     php artisan vendor:publish --tag=tenantml-config
 */

return [
    // Absolute path of libtenantml.so. Null: env TENANTML_LIB, then the
    // package repository's target/release build. Ignored when php-fpm
    // preloads the FFI scope (see bin/tenantml-preload.php).
    'lib' => env('TENANTML_LIB'),

    'breaker_store' => [
        // "shared": one memory-mapped file per host, every PHP worker sees the
        // same breaker state. "in_process": state private to each worker.
        'driver' => env('TENANTML_BREAKER_STORE', 'shared'),

        // Directory of the shared store file; null = /dev/shm.
        'dir' => env('TENANTML_BREAKER_DIR'),

        // Null = library defaults: "tenantml-breakers.shm", 128 slots, mode 0660.
        'file_name' => null,
        'capacity' => null,
        'mode' => null,

        // When a breaker already exists in the shared store with another
        // configuration (e.g. during a rolling deploy): true = use the stored
        // configuration, false = throw ConfigMismatchException.
        'adopt_stored_config' => (bool) env('TENANTML_ADOPT_STORED_CONFIG', false),
    ],

    // Applied to every breaker; per-breaker entries below replace keys here.
    // Keys (all optional, library defaults in brackets):
    //   consecutive_failure_threshold [5, 0 = off], failure_rate_threshold [null, 0<x<=1],
    //   slow_call_duration_ms [null], slow_call_rate_threshold [null, 0<x<=1],
    //   sliding_window [['kind' => 'count', 'size' => 100]] or ['kind' => 'time', 'seconds' => 60],
    //   minimum_calls [10], half_open_permits [1, max 16], probe_lease_ms [30000],
    //   open_wait_ms [60000], backoff_multiplier [1.0], max_open_wait_ms [600000]
    'breaker_defaults' => [
    ],

    // Per-breaker configuration, by breaker name, e.g.
    //   'payments-api' => ['failure_rate_threshold' => 0.5, 'open_wait_ms' => 30000],
    'breakers' => [
    ],
];
