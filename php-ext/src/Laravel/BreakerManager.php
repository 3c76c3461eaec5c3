<?php

declare(strict_types=1);

namespace TenantMl\Laravel;

use Illuminate\Contracts\Config\Repository;
use TenantMl\BreakerStore;
use TenantMl\CircuitBreaker;

/**
 * Named circuit breakers for a Laravel application, configured from
 * config('tenantml.breakers.<name>') over config('tenantml.breaker_defaults')
 * and cached for the life of the worker. Bound as a singleton by
 * TenantMlServiceProvider; the TenantMl facade points here.
 *
 *     TenantMl::call('payments-api', fn () => $gateway->charge($order), fn () => null);
 */
final class BreakerManager
{
    /** @var array<string, CircuitBreaker> */
    private array $breakers = [];

    public function __construct(
        private readonly BreakerStore $store,
        private readonly Repository $config,
    ) {
    }

    /** The breaker called $name, created on first use. */
    public function breaker(string $name): CircuitBreaker
    {
        return $this->breakers[$name] ??= $this->store->breaker(
            $name,
            $this->configFor($name),
            (bool) $this->config->get('tenantml.breaker_store.adopt_stored_config', false)
        );
    }

    /**
     * Run $fn under the breaker called $name (see CircuitBreaker::call()).
     *
     * @param (callable(\Throwable): mixed)|null $fallback
     */
    public function call(string $name, callable $fn, ?callable $fallback = null): mixed
    {
        return $this->breaker($name)->call($fn, $fallback);
    }

    /**
     * The configuration the breaker called $name is created with.
     *
     * @return array<string, mixed>
     */
    public function configFor(string $name): array
    {
        $defaults = (array) $this->config->get('tenantml.breaker_defaults', []);
        // Not $config->get("tenantml.breakers.$name"): breaker names may contain dots.
        $own = ((array) $this->config->get('tenantml.breakers', []))[$name] ?? [];
        // Shallow on purpose: a breaker's sliding_window replaces the default one whole.
        return array_replace($defaults, (array) $own);
    }

    public function store(): BreakerStore
    {
        return $this->store;
    }

    /** @return list<array<string, mixed>> snapshots of every breaker in the store */
    public function snapshots(): array
    {
        return $this->store->snapshots();
    }

    /** Prometheus text exposition of every breaker in the store. */
    public function metrics(): string
    {
        return $this->store->metrics();
    }
}
