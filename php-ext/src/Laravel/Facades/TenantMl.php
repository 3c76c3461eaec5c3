<?php

declare(strict_types=1);

namespace TenantMl\Laravel\Facades;

use Illuminate\Support\Facades\Facade;
use TenantMl\Laravel\BreakerManager;

/**
 * Facade over TenantMl\Laravel\BreakerManager.
 *
 * @method static \TenantMl\CircuitBreaker breaker(string $name)
 * @method static mixed call(string $name, callable $fn, ?callable $fallback = null)
 * @method static array configFor(string $name)
 * @method static \TenantMl\BreakerStore store()
 * @method static array snapshots()
 * @method static string metrics()
 *
 * @see BreakerManager
 */
final class TenantMl extends Facade
{
    protected static function getFacadeAccessor(): string
    {
        return BreakerManager::class;
    }
}
