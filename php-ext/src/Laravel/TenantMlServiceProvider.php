<?php

declare(strict_types=1);

namespace TenantMl\Laravel;

use Illuminate\Contracts\Container\Container;
use Illuminate\Support\ServiceProvider;
use TenantMl\BreakerStore;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Native;

/**
 * Laravel integration (auto-discovered through composer.json extra.laravel):
 * merges config/tenantml.php under "tenantml", binds BreakerStore and
 * BreakerManager (alias "tenantml") as singletons, and publishes the config
 * with `php artisan vendor:publish --tag=tenantml-config`.
 *
 * Uses only provider APIs present in Laravel 8 through 12.
 */
class TenantMlServiceProvider extends ServiceProvider
{
    public const CONFIG_FILE = __DIR__ . '/../../config/tenantml.php';

    public function register(): void
    {
        $this->mergeConfigFrom(self::CONFIG_FILE, 'tenantml');

        $this->app->singleton(BreakerStore::class, static function (Container $app): BreakerStore {
            return self::makeStore((array) $app->make('config')->get('tenantml', []));
        });
        $this->app->singleton(BreakerManager::class, static function (Container $app): BreakerManager {
            return new BreakerManager($app->make(BreakerStore::class), $app->make('config'));
        });
        $this->app->alias(BreakerManager::class, 'tenantml');
    }

    public function boot(): void
    {
        $this->publishes([
            self::CONFIG_FILE => $this->configTarget(),
        ], 'tenantml-config');
    }

    /** Build the store described by the "tenantml" config array. */
    public static function makeStore(array $config): BreakerStore
    {
        $lib = $config['lib'] ?? null;
        Native::ffi($lib === null || $lib === '' ? null : (string) $lib);

        $store = (array) ($config['breaker_store'] ?? []);
        $driver = $store['driver'] ?? 'shared';
        if ($driver === 'in_process') {
            return BreakerStore::inProcess();
        }
        if ($driver !== 'shared') {
            throw new InvalidArgumentException(
                "unknown tenantml breaker store driver '{$driver}'; expected 'shared' or 'in_process'",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        $options = [];
        foreach (['file_name' => 'string', 'capacity' => 'int', 'mode' => 'int'] as $key => $type) {
            $value = $store[$key] ?? null;
            if ($value !== null && $value !== '') {
                $options[$key] = $type === 'int' ? (int) $value : (string) $value;
            }
        }
        $dir = $store['dir'] ?? null;
        return BreakerStore::shared($dir === null || $dir === '' ? null : (string) $dir, $options);
    }

    private function configTarget(): string
    {
        return method_exists($this->app, 'configPath')
            ? $this->app->configPath('tenantml.php')
            : $this->app->basePath() . '/config/tenantml.php';
    }
}
