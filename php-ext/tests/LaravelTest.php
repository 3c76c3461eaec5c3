<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use Illuminate\Config\Repository;
use Illuminate\Foundation\Application;
use Illuminate\Support\Facades\Facade;
use Illuminate\Support\ServiceProvider;
use TenantMl\BreakerStore;
use TenantMl\CircuitBreaker;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Laravel\BreakerManager;
use TenantMl\Laravel\Facades\TenantMl;
use TenantMl\Laravel\TenantMlServiceProvider;

/**
 * The service provider in a real Illuminate\Foundation\Application (Debian's
 * php-laravel-framework), as package auto-discovery would register it.
 */
final class LaravelTest extends TestCase
{
    /** @var array<string, string|false> */
    private array $savedEnv = [];

    protected function setUp(): void
    {
        parent::setUp();
        if (!class_exists(Application::class)) {
            $this->markTestSkipped('Laravel (php-laravel-framework) is not installed');
        }
    }

    protected function tearDown(): void
    {
        foreach ($this->savedEnv as $key => $value) {
            putenv($value === false ? $key : "{$key}={$value}");
        }
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication(null);
        parent::tearDown();
    }

    public function testPackageDefaultsAreMergedUnderTenantml(): void
    {
        $app = $this->boot();

        $this->assertSame('shared', $app['config']->get('tenantml.breaker_store.driver'));
        $this->assertSame([], $app['config']->get('tenantml.breakers'));
        $this->assertArrayHasKey('lib', $app['config']->get('tenantml'));
    }

    public function testApplicationConfigWinsOverPackageDefaults(): void
    {
        $app = $this->boot(['breakers' => ['payments-api' => ['open_wait_ms' => 50]]]);

        $this->assertSame(['payments-api' => ['open_wait_ms' => 50]], $app['config']->get('tenantml.breakers'));
        $this->assertSame([], $app['config']->get('tenantml.breaker_defaults'));
    }

    public function testEnvironmentSelectsTheStoreDriverAndDir(): void
    {
        $dir = $this->tempDir();
        $this->setEnv('TENANTML_BREAKER_STORE', 'in_process');
        $this->setEnv('TENANTML_BREAKER_DIR', $dir);

        $app = $this->boot();

        $this->assertSame('in_process', $app['config']->get('tenantml.breaker_store.driver'));
        $this->assertSame($dir, $app['config']->get('tenantml.breaker_store.dir'));
    }

    public function testSharedDriverOpensTheStoreInTheConfiguredDir(): void
    {
        $dir = $this->tempDir();
        $app = $this->boot(['breaker_store' => ['driver' => 'shared', 'dir' => $dir]]);

        $store = $app->make(BreakerStore::class);

        $this->assertTrue($store->isShared());
        $this->assertFileExists("{$dir}/tenantml-breakers.shm");
    }

    public function testInProcessDriverBuildsAPrivateStore(): void
    {
        $app = $this->boot(['breaker_store' => ['driver' => 'in_process']]);

        $this->assertFalse($app->make(BreakerStore::class)->isShared());
    }

    public function testUnknownDriverIsRefused(): void
    {
        $app = $this->boot(['breaker_store' => ['driver' => 'redis']]);

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage(
            "unknown tenantml breaker store driver 'redis'; expected 'shared' or 'in_process'"
        );
        $app->make(BreakerStore::class);
    }

    public function testManagerIsASingletonAlsoBoundAsTenantml(): void
    {
        $app = $this->boot(['breaker_store' => ['driver' => 'in_process']]);

        $manager = $app->make(BreakerManager::class);

        $this->assertSame($manager, $app->make(BreakerManager::class));
        $this->assertSame($manager, $app->make('tenantml'));
        $this->assertSame($app->make(BreakerStore::class), $manager->store());
    }

    public function testManagerMergesBreakerConfigOverDefaults(): void
    {
        $app = $this->boot([
            'breaker_store' => ['driver' => 'in_process'],
            'breaker_defaults' => ['open_wait_ms' => 1000, 'consecutive_failure_threshold' => 3],
            'breakers' => ['payments-api' => ['open_wait_ms' => 50]],
        ]);

        $config = $app->make(BreakerManager::class)->breaker('payments-api')->config();

        $this->assertSame(50, $config['open_wait_ms']);
        $this->assertSame(3, $config['consecutive_failure_threshold']);
    }

    public function testBreakerWithoutOwnConfigGetsTheDefaults(): void
    {
        $app = $this->boot([
            'breaker_store' => ['driver' => 'in_process'],
            'breaker_defaults' => ['open_wait_ms' => 1000],
        ]);

        $this->assertSame(1000, $app->make(BreakerManager::class)->breaker('search-api')->config()['open_wait_ms']);
    }

    public function testBreakerNamesWithDotsFindTheirConfig(): void
    {
        $app = $this->boot([
            'breaker_store' => ['driver' => 'in_process'],
            'breakers' => ['api.stripe.com' => ['open_wait_ms' => 70]],
        ]);

        $this->assertSame(70, $app->make(BreakerManager::class)->breaker('api.stripe.com')->config()['open_wait_ms']);
    }

    public function testManagerCachesBreakerInstances(): void
    {
        $manager = $this->boot(['breaker_store' => ['driver' => 'in_process']])->make(BreakerManager::class);

        $this->assertSame($manager->breaker('payments-api'), $manager->breaker('payments-api'));
    }

    public function testFacadeResolvesTheManager(): void
    {
        $this->boot(['breaker_store' => ['driver' => 'in_process']]);

        $this->assertInstanceOf(CircuitBreaker::class, TenantMl::breaker('payments-api'));
        $this->assertSame('ok', TenantMl::call('payments-api', static fn (): string => 'ok'));
        $this->assertSame(1, TenantMl::breaker('payments-api')->snapshot()['totals']['successes']);
    }

    public function testFacadeServesTheFallbackOnceTheBreakerTrips(): void
    {
        $this->boot([
            'breaker_store' => ['driver' => 'in_process'],
            'breakers' => ['payments-api' => ['consecutive_failure_threshold' => 2]],
        ]);
        $down = static fn () => throw new \RuntimeException('gateway down');
        TenantMl::call('payments-api', $down, static fn () => null);
        TenantMl::call('payments-api', $down, static fn () => null);

        $result = TenantMl::call('payments-api', static fn () => 'live', static fn (\Throwable $e) => get_class($e));

        $this->assertSame(CircuitOpenException::class, $result);
        $this->assertStringContainsString(
            'tenantml_breaker_state{breaker="payments-api",state="open"} 1',
            TenantMl::metrics()
        );
    }

    public function testConfigIsPublishedUnderTheTenantmlConfigTag(): void
    {
        $app = $this->boot();

        $paths = ServiceProvider::pathsToPublish(TenantMlServiceProvider::class, 'tenantml-config');

        $this->assertSame([TenantMlServiceProvider::CONFIG_FILE => $app->configPath('tenantml.php')], $paths);
        $this->assertFileExists(TenantMlServiceProvider::CONFIG_FILE);
        $this->assertContains('tenantml-config', ServiceProvider::publishableGroups());
    }

    public function testComposerJsonDeclaresProviderAndFacadeForAutoDiscovery(): void
    {
        $json = (string) file_get_contents(dirname(__DIR__) . '/composer.json');
        $composer = json_decode($json, true, 16, JSON_THROW_ON_ERROR);

        $this->assertSame([TenantMlServiceProvider::class], $composer['extra']['laravel']['providers']);
        $this->assertSame(['TenantMl' => TenantMl::class], $composer['extra']['laravel']['aliases']);
        $this->assertSame(['TenantMl\\' => 'src/'], $composer['autoload']['psr-4']);
        $this->assertSame('tenantml/tenantml', $composer['name']);
    }

    /** A booted application with the provider registered and $config as the app's config/tenantml.php. */
    private function boot(?array $config = null): Application
    {
        $app = new Application($this->tempDir());
        $app->instance('config', new Repository($config === null ? [] : ['tenantml' => $config]));
        $app->register(TenantMlServiceProvider::class);
        $app->boot();
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication($app);
        return $app;
    }

    private function setEnv(string $key, string $value): void
    {
        if (!array_key_exists($key, $this->savedEnv)) {
            $this->savedEnv[$key] = getenv($key);
        }
        putenv("{$key}={$value}");
    }
}
